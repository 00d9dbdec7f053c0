/**
 * "Back up this asset now, and tell me when it is committed": a backup that starts after the
 * request. If the asset already has a job running (a cron run, another operator), that job
 * started before the request and may have read the source before the change the operator is
 * about to make; so we wait for it to end, then trigger again. Status is polled every 2 s,
 * backing off to 10 s; the backup itself runs on Cloudflare's queue whatever happens here.
 */
import type { StatusResponse } from "./protocol";
import type { TriggerClient } from "./client";

export const FIRST_POLL_MS = 2000;
export const MAX_POLL_MS = 10_000;

export type BackupNowProgress =
  | { readonly kind: "waiting-for-running"; readonly backupId?: string }
  | { readonly kind: "started"; readonly backupId: string }
  | { readonly kind: "status"; readonly status: StatusResponse };

export interface BackupNowOptions {
  /** Give up waiting (the backup goes on) after this long, ms. */
  readonly timeoutMs: number;
  /** Do not wait: return once the backup has started. */
  readonly noWait?: boolean;
  readonly onProgress?: (p: BackupNowProgress) => void;
  /** Called between polls; throws to stop waiting (Ctrl-C). */
  readonly checkInterrupted?: () => void;
  readonly firstPollMs?: number;
}

export type BackupNowOutcome =
  | { readonly outcome: "committed"; readonly asset: string; readonly backupId: string; readonly tier: string; readonly manifest: string; readonly seconds: number }
  | { readonly outcome: "started"; readonly asset: string; readonly backupId: string; readonly seconds: number }
  | { readonly outcome: "failed"; readonly asset: string; readonly backupId: string; readonly error: string; readonly seconds: number }
  | { readonly outcome: "timeout"; readonly asset: string; readonly backupId?: string; readonly seconds: number };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Poller {
  private delay: number;
  constructor(private readonly o: BackupNowOptions, private readonly deadline: number) {
    this.delay = o.firstPollMs ?? FIRST_POLL_MS;
  }
  expired(): boolean {
    return Date.now() >= this.deadline;
  }
  /** Sleeps the next interval (never past the deadline), checking for an interrupt each 100 ms. */
  async wait(): Promise<void> {
    const until = Math.min(Date.now() + this.delay, this.deadline);
    while (Date.now() < until) {
      this.o.checkInterrupted?.();
      await sleep(Math.min(100, until - Date.now()));
    }
    this.o.checkInterrupted?.();
    this.delay = Math.min(Math.round(this.delay * 1.5), MAX_POLL_MS);
  }
}

/** Polls `backupId` until it is no longer running (or the deadline). */
async function untilSettled(client: TriggerClient, asset: string, backupId: string, poll: Poller, o: BackupNowOptions): Promise<StatusResponse | null> {
  for (;;) {
    const s = await client.status(asset, backupId);
    o.onProgress?.({ kind: "status", status: s });
    if (s.state !== "running") return s;
    if (poll.expired()) return null;
    await poll.wait();
  }
}

export async function backupNow(client: TriggerClient, asset: string, o: BackupNowOptions): Promise<BackupNowOutcome> {
  const began = Date.now();
  const seconds = () => Math.round((Date.now() - began) / 100) / 10;
  const poll = new Poller(o, began + o.timeoutMs);
  let backupId: string | undefined;
  while (!backupId) {
    const a = await client.start(asset);
    if (a.kind === "started") {
      backupId = a.backupId;
      break;
    }
    o.onProgress?.({ kind: "waiting-for-running", ...(a.backupId ? { backupId: a.backupId } : {}) });
    if (poll.expired()) return { outcome: "timeout", asset, seconds: seconds() };
    // The running job started before this request: let it end, then ask again.
    if (a.backupId && !(await untilSettled(client, asset, a.backupId, poll, o))) return { outcome: "timeout", asset, seconds: seconds() };
    if (!a.backupId) await poll.wait();
  }
  o.onProgress?.({ kind: "started", backupId });
  if (o.noWait) return { outcome: "started", asset, backupId, seconds: seconds() };
  await poll.wait();
  const s = await untilSettled(client, asset, backupId, poll, o);
  if (!s) return { outcome: "timeout", asset, backupId, seconds: seconds() };
  if (s.state === "failed") return { outcome: "failed", asset, backupId, error: s.error ?? "the backup failed", seconds: seconds() };
  return { outcome: "committed", asset, backupId, tier: s.tier ?? "?", manifest: s.manifestKey ?? "?", seconds: seconds() };
}
