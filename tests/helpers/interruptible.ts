/**
 * `drposture` as a child process that a test interrupts the way an operator does (SIGINT,
 * SIGTERM, twice), with what it leaves behind made visible: every process of the run (its
 * descendants, and daemons such as the PostgreSQL postmaster that pg_ctl detaches, found by the
 * run's private TMPDIR on their command line) and every file under that TMPDIR.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { ROOT } from "./program";

export interface Proc {
  readonly pid: number;
  /** Start time in clock ticks since boot: a reused pid has another. */
  readonly started: string;
  readonly cmd: string;
}

function stat(pid: number): { ppid: number; started: string } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is parenthesised and may hold spaces; fields after it are plain.
    const rest = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(rest[1]), started: rest[19] as string };
  } catch {
    return null;
  }
}

export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

function allPids(): number[] {
  return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number);
}

function proc(pid: number): Proc | null {
  const s = stat(pid);
  return s ? { pid, started: s.started, cmd: cmdline(pid) } : null;
}

/** The processes below `roots` (not the roots themselves). */
export function descendants(roots: readonly number[]): Proc[] {
  const children = new Map<number, number[]>();
  for (const pid of allPids()) {
    const s = stat(pid);
    if (s) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  }
  const out: Proc[] = [];
  const todo = roots.flatMap((r) => children.get(r) ?? []);
  while (todo.length) {
    const pid = todo.pop() as number;
    const p = proc(pid);
    if (p) out.push(p);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Processes whose command line contains `text` (e.g. a postmaster's data directory). */
export function mentioning(text: string): Proc[] {
  return allPids()
    .filter((pid) => pid !== process.pid && cmdline(pid).includes(text))
    .flatMap((pid) => proc(pid) ?? []);
}

export const isAlive = (p: Proc) => stat(p.pid)?.started === p.started;

export interface Run {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The run's TMPDIR: everything temporary it creates lives below. */
  readonly tmp: string;
  stderr(): string;
  stdout(): string;
  /** Resolves when a line of stderr matches. */
  waitForStderr(re: RegExp, timeoutMs?: number): Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Every process of the run now: its descendants and whatever names its TMPDIR (plus theirs). */
  processes(): Proc[];
  /** Kills whatever of the run is left and removes its TMPDIR (for afterEach). */
  reap(): Promise<void>;
}

/** `ownGroup`: the run leads its own process group, as a shell's foreground job does, so that
 * `process.kill(-run.pid, sig)` signals it with all its children, as a terminal's Ctrl-C does. */
export function startCli(args: string[], env: Record<string, string> = {}, ownGroup = false): Run {
  const tmp = mkdtempSync(path.join(tmpdir(), "drposture-intr-"));
  // PostgreSQL runs as the postgres user when we are root: it must reach its directory.
  chmodSync(tmp, 0o711);
  const child = spawn(process.execPath, [path.join(ROOT, "cli", "bin.cjs"), ...args], { cwd: ROOT, env: { ...process.env, ...env, TMPDIR: tmp }, stdio: ["ignore", "pipe", "pipe"], detached: ownGroup });
  let err = "";
  let out = "";
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
    for (const w of [...waiters]) if (w.re.test(err)) w.resolve();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, at: Date.now() })));
  const processes = () => {
    const named = mentioning(tmp);
    const all = [...descendants([child.pid as number]), ...named, ...descendants(named.map((p) => p.pid))];
    return [...new Map(all.map((p) => [p.pid, p])).values()];
  };
  return {
    child,
    pid: child.pid as number,
    tmp,
    stderr: () => err,
    stdout: () => out,
    exited,
    processes,
    waitForStderr: (re, timeoutMs = 120_000) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(err)) return resolve();
        const timer = setTimeout(() => reject(new Error(`no ${re} on stderr within ${timeoutMs} ms; stderr:\n${err}`)), timeoutMs);
        const w = { re, resolve: () => (clearTimeout(timer), waiters.splice(waiters.indexOf(w), 1), resolve()) };
        waiters.push(w);
        void exited.then(() => setTimeout(() => reject(new Error(`exited before ${re}; stderr:\n${err}`)), 50));
      }),
    reap: async () => {
      for (const p of processes()) {
        try {
          process.kill(p.pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await new Promise((res) => setTimeout(res, 300));
      if (existsSync(tmp)) rmSync(tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}

/** Every file below `dir` (relative paths). */
export function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}
