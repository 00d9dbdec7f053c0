/**
 * Shared pieces of the workerd tests: plans, a step driver that runs each step as its own
 * invocation under the local Workers limits, the S3 copy as each declared identity sees it,
 * fault injection, decoding.
 */
import { env } from "cloudflare:test";
import { inject } from "vitest";
import { openArtifact, readLines } from "../../lib/backup/artifacts";
import { findLatest, listTierObjects } from "../../lib/backup/catalog";
import type { InvocationLimits, InvocationStats } from "../../lib/local/limits/invocationBudget";
import { runInvocation } from "../../lib/local/limits/runInvocation";
import type { BackupPlan, StepLimits } from "../../lib/backup/plan";
import { importMasterKey, type MasterKey } from "../../lib/format/keys";
import type { Manifest } from "../../lib/format/manifest";
import { R2Storage } from "../../lib/storage/r2Storage";
import { S3Storage } from "../../lib/storage/s3Storage";
import type { BackupStorage, Body, ObjectInfo, PutOptions } from "../../lib/storage/types";
import { BackupRunner, findAsset, type StepOutcome } from "../../worker/engine/runner";
import type { Env, StepMessage } from "../../worker/env";


/** The test Worker's env (tests/worker/testPlan.ts), with the plan adjusted for one test. */
export function testEnv(opts: { limits?: Partial<StepLimits>; plan?: Partial<BackupPlan>; env?: Partial<Env> } = {}): Env {
  const base = env.BACKUP_PLAN;
  const plan: BackupPlan = { ...base, limits: { ...base.limits, ...(opts.limits ?? {}) }, ...(opts.plan ?? {}) };
  return { ...env, BACKUP_PLAN: plan, ...(opts.env ?? {}) } as unknown as Env;
}

type S3Identity = "s3Restorer" | "s3Verifier" | "s3Writer" | "s3Root";

/** The S3 copy as one of the prod stack's declared identities sees it (default: the restorer);
 * s3Root is the account root, for staging what no identity may do (a delete marker). */
export function s3(identity: S3Identity = "s3Restorer"): S3Storage {
  return new S3Storage({ endpoint: inject("s3Endpoint"), bucket: inject("s3Bucket"), region: inject("s3Region"), addressing: "path", ...inject(identity) });
}

/** Cloudflare's per-invocation limits (Workers Paid) for the test plan's step budget. */
export function testLimits(e: Env = env as unknown as Env): InvocationLimits {
  return { subrequests: 1000, kvOperations: 1000, d1Queries: 1000, r2Operations: 1000, storageOperations: 1000, sourceBytes: e.BACKUP_PLAN.limits.bytesPerStep + 32 * 1024 * 1024 };
}

/** Runs `fn` as one invocation: bindings and fetch charged, the backup bucket's lock rules on. */
export function invocation<T>(e: Env, kind: string, fn: (limited: Env) => Promise<T>, stats?: InvocationStats[], limits: Partial<InvocationLimits> = {}): Promise<T> {
  return runInvocation(kind, e, { limits: { ...testLimits(e), ...limits }, r2Locks: { BACKUP_R2: inject("r2LockRules") }, onDone: (s) => void stats?.push(s) }, fn);
}

export const r2 = (e: Env = env as unknown as Env): BackupStorage => new R2Storage(e.BACKUP_R2, "test-backups");
export const master = (): Promise<MasterKey> => importMasterKey(env.ENCRYPTION_KEY);

export interface DrivenBackup {
  /** Steps until the R2 commit (the copy to S3 follows in further steps). */
  steps: number;
  /** Every step's outcome, the copy to S3 included. */
  outcomes: StepOutcome[];
  /** Each invocation's binding operations, subrequests and bytes. */
  invocations: InvocationStats[];
}

/** Runs one backup to the end, executing each queued step in turn, each as its own invocation
 * under the Workers limits, as the queue consumer would (no consumer involved). */
export async function backupNow(e: Env, assetId: string, options: { storage?: BackupStorage; now?: () => Date; limits?: Partial<InvocationLimits> } = {}): Promise<DrivenBackup> {
  const queue: StepMessage[] = [];
  const invocations: InvocationStats[] = [];
  const { limits, ...runnerOptions } = options;
  const runnerIn = (limited: Env) => new BackupRunner(limited, { ...runnerOptions, enqueue: async (m) => void queue.push(m) });
  await invocation(e, "scheduled", (limited) => runnerIn(limited).start(findAsset(e.BACKUP_PLAN, assetId)), invocations, limits);
  const outcomes = await drain(e, queue, runnerIn, invocations, limits);
  return { steps: outcomes.indexOf("committed") + 1, outcomes, invocations };
}

/** Runs queued steps until none is left, each as its own invocation. */
export async function drain(e: Env, queue: StepMessage[], runnerIn: (limited: Env) => BackupRunner, invocations: InvocationStats[] = [], limits: Partial<InvocationLimits> = {}): Promise<StepOutcome[]> {
  const outcomes: StepOutcome[] = [];
  while (queue.length) {
    const msg = queue.shift() as StepMessage;
    outcomes.push(await invocation(e, "queue", (limited) => runnerIn(limited).continue(msg), invocations, limits));
  }
  return outcomes;
}

export async function latest(e: Env, assetId: string, storage: BackupStorage = r2(e)): Promise<{ manifest: Manifest; key: string }> {
  const a = findAsset(e.BACKUP_PLAN, assetId);
  const found = await findLatest(storage, await master(), a);
  if (!found?.manifest) throw new Error(`no verified backup of ${assetId}${found?.rejected.length ? `: ${found.rejected.join("; ")}` : ""}`);
  return { manifest: found.manifest, key: found.key };
}

/** All NDJSON lines of a backup's artifacts with a role, decrypted and verified. */
export async function linesOf(storage: BackupStorage, m: Manifest, role: string): Promise<unknown[]> {
  const key = await master();
  const out: unknown[] = [];
  for (const a of m.artifacts.filter((x) => x.role === role)) {
    for await (const l of readLines(await openArtifact(storage, key, a))) out.push(l);
  }
  return out;
}

export async function manifestKeys(storage: BackupStorage): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of listTierObjects(storage)) if (o.key.endsWith("/manifest.json")) keys.push(o.key);
  return keys;
}

/**
 * A storage that crashes at a chosen write: `failAt` counts write events, where a put is
 * "before put", each chunk it streams is "after chunk i", and the end is "after put".
 * The crash surfaces as an exception mid-upload, as a dying invocation would.
 */
export class CrashingStorage implements BackupStorage {
  readonly label: string;
  events = 0;
  readonly log: string[] = [];
  constructor(private readonly inner: BackupStorage, private readonly failAt: number) {
    this.label = `crashing(${inner.label})`;
  }
  private tick(what: string): void {
    this.events++;
    this.log.push(what);
    if (this.events === this.failAt) throw new Error(`injected crash at write event ${this.failAt} (${what})`);
  }
  async put(key: string, body: Body, options?: PutOptions): Promise<ObjectInfo> {
    this.tick(`before put ${key}`);
    let wrapped: Body = body;
    if (body instanceof ReadableStream) {
      let i = 0;
      wrapped = body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform: (chunk, c) => {
            this.tick(`chunk ${i++} of ${key}`);
            c.enqueue(chunk);
          },
        }),
      );
    }
    const info = await this.inner.put(key, wrapped, options);
    this.tick(`after put ${key}`);
    return info;
  }
  get = (key: string, range?: { offset: number; length?: number }) => this.inner.get(key, range);
  head = (key: string) => this.inner.head(key);
  list = (prefix: string) => this.inner.list(prefix);
  delete = (key: string) => this.inner.delete(key);
}

export async function clearBucket(bucket: R2Bucket): Promise<void> {
  let cursor: string | undefined;
  do {
    const page = await bucket.list(cursor ? { cursor } : {});
    if (page.objects.length) await bucket.delete(page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
}

/** Polls `probe` every 200 ms until it returns a value (the queue consumer runs on its own). */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
