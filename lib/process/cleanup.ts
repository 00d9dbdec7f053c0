/**
 * What must not outlive a command: child processes (PostgreSQL, workerd, pg_dump/pg_restore),
 * temp directories and files (decrypted dumps first). Code that creates such a thing registers
 * its undo here and unregisters it once it has cleaned up itself; on SIGINT/SIGTERM the CLI runs
 * every registered undo (sensitive ones first, then newest first) and exits 130. A second
 * signal forces the exit at once.
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";

export type CleanupPriority = "sensitive" | "normal";

interface Cleanup {
  readonly label: string;
  readonly priority: CleanupPriority;
  readonly run: () => unknown;
}

const registered = new Set<Cleanup>();
let interrupted: NodeJS.Signals | null = null;

/** The exit code of a command stopped by a signal (as shells report SIGINT). */
export const INTERRUPTED_EXIT = 130;

/** Thrown by long loops that check `throwIfInterrupted()`: the command was asked to stop. */
export class InterruptedError extends Error {
  override readonly name = "InterruptedError";
  constructor(signal: string) {
    super(`interrupted (${signal}): stopped child processes and removed temporary data`);
  }
}

/** Registers an undo; call the returned function once the resource is gone by normal means. */
export function onCleanup(label: string, run: () => unknown, priority: CleanupPriority = "normal"): () => void {
  const c: Cleanup = { label, priority, run };
  registered.add(c);
  return () => {
    registered.delete(c);
  };
}

/**
 * Synchronous last words for a forced exit (a second Ctrl-C): no waiting is allowed then, but
 * a server can still be told to quit and a decrypted file deleted. Keep them quick and sync.
 */
const forced = new Set<() => void>();

export function onForcedExit(run: () => void): () => void {
  forced.add(run);
  return () => {
    forced.delete(run);
  };
}

/** A temp path removed on interrupt (on a forced exit too); `sensitive` for decrypted data. */
export function cleanupPath(p: string, priority: CleanupPriority = "normal"): () => void {
  const remove = () => rmSync(p, { recursive: true, force: true });
  const unforce = onForcedExit(remove);
  const unregister = onCleanup(`remove ${p}`, remove, priority);
  return () => {
    unforce();
    unregister();
  };
}

/** Our descendants by /proc (Linux), deepest first: what a forced exit must not orphan. */
function descendants(): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  const parent = new Map<number, number>();
  for (const e of entries) {
    try {
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      /* gone meanwhile */
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const [child, ppid] of parent) if (ppid === pid) (walk(child), out.push(child));
  };
  walk(process.pid);
  return out;
}

/** The forced exit: synchronous last words, then every descendant killed outright. */
function forceExit(): void {
  for (const run of forced) {
    try {
      run();
    } catch {
      /* best effort: we are exiting */
    }
  }
  for (const pid of descendants()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}

export function interruptSignal(): NodeJS.Signals | null {
  return interrupted;
}

export function throwIfInterrupted(): void {
  if (interrupted) throw new InterruptedError(interrupted);
}

/** Runs every registered undo, sensitive first, newest first within a priority; never throws.
 * Undos registered meanwhile (a resource that was being created) are run too. */
async function runAll(log: (line: string) => void): Promise<void> {
  while (registered.size) {
    const all = [...registered].reverse();
    const ordered = [...all.filter((c) => c.priority === "sensitive"), ...all.filter((c) => c.priority !== "sensitive")];
    for (const c of ordered) {
      // Unregistered by its owner meanwhile: already cleaned up.
      if (!registered.has(c)) continue;
      registered.delete(c);
      try {
        await c.run();
      } catch (err) {
        log(`cleanup "${c.label}" failed: ${(err as Error).message}`);
      }
    }
  }
}

/**
 * For the command's own use (main() after a failed command). Once a signal came, the signal
 * handler's run owns the cleanup and the exit (130): a command failing because of the
 * interrupt must not exit first, with its own code, while PostgreSQL is still being stopped.
 */
export function runCleanups(log: (line: string) => void = () => undefined): Promise<void> {
  if (interrupted) return new Promise<void>(() => undefined);
  return runAll(log);
}

/**
 * Installs the CLI's signal handlers. The first signal runs the cleanups and exits 130; a
 * second one while they run exits at once (the operator insisted). With `json`, the exit is
 * preceded by the error document on stdout, as every --json failure is.
 */
export function installInterruptHandlers(o: { json?: boolean; write?: (line: string) => void } = {}): void {
  const write = o.write ?? ((l: string) => process.stderr.write(`${l}\n`));
  const exit = (signal: NodeJS.Signals, message: string) => {
    if (o.json) process.stdout.write(`${JSON.stringify({ error: { code: "interrupted", message: `${signal}: ${message}` } })}\n`);
    process.exit(INTERRUPTED_EXIT);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      write(`drposture: ${signal} again: exiting without finishing cleanup (child processes killed, temporary data removed)`);
      forceExit();
      exit(signal, "exited without finishing cleanup");
    }
    interrupted = signal;
    write(`drposture: ${signal}: stopping; cleaning up (press Ctrl-C again to force)`);
    void runAll((line) => write(`drposture: ${line}`)).finally(() => exit(signal, "stopped child processes and removed temporary data"));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}
