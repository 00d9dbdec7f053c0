/**
 * A queue stand-in for the KV fan-out attack tests: delivers the backup's messages in an order
 * the test picks, lets the test act between deliveries (duplicate a message, tamper with the
 * bucket, change the namespace), moves a clock as the queue's delays pass, and treats a step
 * that throws as handlers.runQueue does: retried with a delay, then an alert and the job
 * dropped. It stops at the R2 commit, or when nothing is left to deliver; a backup that does
 * neither within a bound of deliveries is a hang.
 */
import { env } from "cloudflare:test";
import { expect } from "vitest";
import { readManifest } from "../../lib/backup/catalog";
import { compareUtf8, type KvEntryRecord, type KvIndexLine } from "../../lib/backup/kvRecords";
import { fromBase64 } from "../../lib/format/bytes";
import type { Manifest } from "../../lib/format/manifest";
import type { InvocationStats } from "../../lib/local/limits/invocationBudget";
import { BackupRunner, findAsset, type StepOutcome } from "../../worker/engine/runner";
import type { Env, StepMessage } from "../../worker/env";
import { MAX_STEP_ATTEMPTS } from "../../worker/handlers";
import { invocation, latest, linesOf, manifestKeys, r2 } from "./helpers";

export const ASSET = "kv/sessions";
export const STATE_KEY = "_state/jobs/kv/sessions.json";
export const taskObject = (backupId: string, name: string) => `_state/tasks/kv/sessions/${backupId}/${name}`;

export interface Delivery {
  msg: StepMessage;
  delaySeconds: number;
  /** As Queues counts them: 1 on the first delivery. */
  attempts: number;
}

export interface Run {
  /** Per delivery: what the Worker returned, or "failed" (it threw). */
  outcomes: Array<StepOutcome | "failed">;
  /** Errors that ran out of retries: each one an alert, and the job dropped. */
  alerts: string[];
  delivered: Delivery[];
  queue: Delivery[];
  invocations: InvocationStats[];
  now: () => Date;
}

export interface DriveOptions {
  /** Which queued delivery comes next (default: the oldest). */
  pick?: (q: Delivery[]) => number;
  /** What is delivered in place of `d` (several: duplicates); may act on the bucket first. */
  deliver?: (d: Delivery, run: Run) => Promise<Delivery[]>;
  /** Called for each message the Worker queues; throwing fails that send. */
  onSend?: (msg: StepMessage) => void;
  /** When the backup starts (default 2026-11-20T08:00:00Z). */
  at?: Date;
  /** Keep delivering after the R2 commit (the copy to S3 and late messages). */
  pastCommit?: boolean;
}

/** A delayed message comes no sooner than its delay: the clock moves a minute for it. */
const ADVANCE_DELAYED_MS = 60_000;
const MAX_DELIVERIES = 3000;

export async function drive(e: Env, o: DriveOptions = {}): Promise<Run> {
  let clock = o.at ?? new Date("2026-11-20T08:00:00Z");
  const queue: Delivery[] = [];
  const run: Run = { outcomes: [], alerts: [], delivered: [], queue, invocations: [], now: () => clock };
  const runnerIn = (limited: Env) =>
    new BackupRunner(limited, {
      now: run.now,
      enqueue: async (msg, delaySeconds = 0) => {
        o.onSend?.(msg);
        queue.push({ msg, delaySeconds, attempts: 1 });
      },
    });
  await invocation(e, "scheduled", (l) => runnerIn(l).start(findAsset(e.BACKUP_PLAN, ASSET)), run.invocations);
  let count = 0;
  while (queue.length && (o.pastCommit || !run.outcomes.includes("committed"))) {
    if (++count > MAX_DELIVERIES) throw new Error(`hang: ${MAX_DELIVERIES} deliveries and the backup neither committed nor failed`);
    const [d] = queue.splice((o.pick ?? (() => 0))(queue), 1) as [Delivery];
    clock = new Date(clock.getTime() + (d.delaySeconds ? ADVANCE_DELAYED_MS : 1000));
    for (const x of o.deliver ? await o.deliver(d, run) : [d]) {
      run.delivered.push(x);
      try {
        run.outcomes.push(await invocation(e, "queue", (l) => runnerIn(l).continue(x.msg), run.invocations));
      } catch (err) {
        run.outcomes.push("failed");
        if (x.attempts < MAX_STEP_ATTEMPTS) queue.push({ ...x, delaySeconds: 10 * x.attempts, attempts: x.attempts + 1 });
        else {
          run.alerts.push((err as Error).message);
          await runnerIn(e).discard(findAsset(e.BACKUP_PLAN, ASSET));
        }
      }
    }
  }
  return run;
}

/** The job's own steps first (undelayed), then the newest task, then whatever is left. */
export const stepsFirst = (q: Delivery[]) => {
  const step = q.findIndex((d) => !d.msg.task && d.delaySeconds === 0);
  if (step >= 0) return step;
  for (let i = q.length - 1; i >= 0; i--) if (q[i]?.msg.task) return i;
  return 0;
};
/** Retries as soon as they are due, before the rest (a backup's last steps can take minutes). */
export const retriesFirst = (q: Delivery[]) => Math.max(0, q.findIndex((d) => d.attempts > 1));
/** Tasks as soon as they are queued. */
export const tasksFirst = (q: Delivery[]) => Math.max(0, q.findIndex((d) => d.msg.task));

export type KvSnapshot = Map<string, { value: Uint8Array; metadata?: unknown }>;

/** The namespace as it is now, read key by key. */
export async function snapshot(kv: KVNamespace = env.KV_SESSIONS): Promise<KvSnapshot> {
  const out: KvSnapshot = new Map();
  let cursor: string | undefined;
  do {
    const page = await kv.list({ ...(cursor ? { cursor } : {}) });
    for (const k of page.keys) {
      const r = await kv.getWithMetadata(k.name, "arrayBuffer");
      if (r.value) out.set(k.name, { value: new Uint8Array(r.value), ...(r.metadata !== null ? { metadata: r.metadata } : {}) });
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return out;
}

const sorted = (names: string[]) => [...names].sort(compareUtf8);

/** Entries and index of one backup, each checked strictly sorted (no key twice). */
async function recordsOf(e: Env, m: Manifest): Promise<{ entries: KvEntryRecord[]; index: KvIndexLine[] }> {
  const entries = (await linesOf(r2(e), m, "kv-entries")) as KvEntryRecord[];
  const index = (await linesOf(r2(e), m, "kv-index")) as KvIndexLine[];
  for (const names of [entries.map((x) => x.k), index.map((l) => l[0])]) {
    expect(names, `${m.backupId}: records in key order, each key once`).toEqual([...new Set(sorted(names))]);
  }
  return { entries, index };
}

/**
 * What a restore of the newest backup yields (a differential applied to its full), after
 * checking each backup's records are sorted, unique, and the index names exactly the keys.
 */
export async function restoredState(e: Env): Promise<{ manifest: Manifest; state: KvSnapshot }> {
  const { manifest } = await latest(e, ASSET);
  const state: KvSnapshot = new Map();
  const chain: Manifest[] = [manifest];
  if (manifest.mode === "incremental") chain.unshift((await readManifest(r2(e), manifest.dependsOn[0]?.key as string)) as Manifest);
  let index: KvIndexLine[] = [];
  for (const m of chain) {
    const r = await recordsOf(e, m);
    for (const x of r.entries) {
      if (x.deleted) state.delete(x.k);
      else state.set(x.k, { value: fromBase64(x.v as string), ...(x.m !== undefined ? { metadata: x.m } : {}) });
    }
    index = r.index;
  }
  expect(index.map((l) => l[0]), "the newest index names the restored keys").toEqual(sorted([...state.keys()]));
  return { manifest, state };
}

/** The newest backup restores to exactly `expected`. */
export async function expectBackupOf(e: Env, expected: KvSnapshot): Promise<Manifest> {
  const { manifest, state } = await restoredState(e);
  expect(sorted([...state.keys()])).toEqual(sorted([...expected.keys()]));
  for (const [k, v] of expected) {
    const got = state.get(k);
    expect(Buffer.from(got?.value ?? []).equals(Buffer.from(v.value)), `value of ${k}`).toBe(true);
    expect(got?.metadata, `metadata of ${k}`).toEqual(v.metadata);
  }
  return manifest;
}

/** A loud failure: alerted, no manifest of this backup committed. */
export async function expectLoudFailure(e: Env, run: Run, message: RegExp): Promise<void> {
  const backupId = run.delivered[0]?.msg.backupId as string;
  expect(run.outcomes).not.toContain("committed");
  expect((await manifestKeys(r2(e))).filter((k) => k.includes(backupId))).toEqual([]);
  expect(run.alerts.length).toBeGreaterThan(0);
  expect(run.alerts.join("\n")).toMatch(message);
}

export async function keysUnder(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of r2().list(prefix)) out.push(o.key);
  return out;
}
