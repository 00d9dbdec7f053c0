/**
 * A child process the command owns (pg_dump, pg_restore): registered with the cleanup registry
 * while it runs, so that SIGINT/SIGTERM stop it. Stopping is two registrations: sending SIGTERM
 * (synchronous, at the child's priority: a child reading decrypted data is "sensitive" and is
 * signalled before that data is deleted) and waiting for it to exit (normal priority, SIGKILL
 * after a grace period), so a second Ctrl-C never stands between the signal and the deletion.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { onCleanup, throwIfInterrupted, type CleanupPriority } from "./cleanup";

export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface OwnedChildOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly priority?: CleanupPriority;
  /** Receives stdout instead of it being collected. */
  readonly onStdout?: (chunk: Buffer) => void;
  /** Leave stdout to the caller (child.stdout, e.g. piped into an artifact). */
  readonly streamStdout?: boolean;
  readonly graceMs?: number;
}

export function spawnOwned(cmd: string, args: readonly string[], o: OwnedChildOptions = {}): { child: ChildProcess; done: Promise<ChildResult> } {
  throwIfInterrupted();
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...(o.env ? { env: o.env } : {}) });
  let stdout = "";
  let stderr = "";
  if (!o.streamStdout) child.stdout.on("data", (d: Buffer) => (o.onStdout ? o.onStdout(d) : (stdout += d.toString())));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<ChildResult>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  const name = `${cmd.split("/").pop()} (pid ${child.pid})`;
  const running = () => child.exitCode === null && child.signalCode === null;
  const unregisterKill = onCleanup(`stop ${name}`, () => running() && child.kill("SIGTERM"), o.priority ?? "normal");
  const unregisterWait = onCleanup(`wait for ${name}`, async () => {
    const timer = setTimeout(() => running() && child.kill("SIGKILL"), o.graceMs ?? 3000);
    await done.catch(() => undefined);
    clearTimeout(timer);
  });
  void done
    .catch(() => undefined)
    .finally(() => {
      unregisterKill();
      unregisterWait();
    });
  return { child, done };
}

/** Runs a child to its end and returns its output (non-zero exits are the caller's to judge). */
export function runOwned(cmd: string, args: readonly string[], o: OwnedChildOptions = {}): Promise<ChildResult> {
  return spawnOwned(cmd, args, o).done;
}
