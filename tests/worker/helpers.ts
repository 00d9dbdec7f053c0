/** Shared pieces of the workerd tests: plans, a step driver, fault injection, decoding. */
import { env } from "cloudflare:test";
import { inject } from "vitest";
import { openArtifact, readLines } from "../../lib/backup/artifacts";
import { findLatest } from "../../lib/backup/catalog";
import type { BackupPlan, StepLimits } from "../../lib/backup/plan";
import { importMasterKey, type MasterKey } from "../../lib/format/keys";
import type { Manifest } from "../../lib/format/manifest";
import { R2Storage } from "../../lib/storage/r2Storage";
import { S3Storage } from "../../lib/storage/s3Storage";
import type { BackupStorage, Body, ObjectInfo, PutOptions } from "../../lib/storage/types";
import { BackupRunner, findAsset, type StepOutcome } from "../../worker/engine/runner";
import type { Env, StepMessage } from "../../worker/env";

export { TEST_S3_BUCKET as S3_BUCKET } from "./testPlan";
import { TEST_S3_BUCKET } from "./testPlan";

/** The test Worker's env (tests/worker/testPlan.ts), with the plan adjusted for one test. */
export function testEnv(opts: { limits?: Partial<StepLimits>; plan?: Partial<BackupPlan>; env?: Partial<Env> } = {}): Env {
  const base = env.BACKUP_PLAN;
  const plan: BackupPlan = { ...base, limits: { ...base.limits, ...(opts.limits ?? {}) }, ...(opts.plan ?? {}) };
  return { ...env, BACKUP_PLAN: plan, ...(opts.env ?? {}) } as unknown as Env;
}

export function s3(): S3Storage {
  return new S3Storage({ endpoint: inject("s3Endpoint"), bucket: TEST_S3_BUCKET, region: "us-east-1", accessKeyId: "S3RVER", secretAccessKey: "S3RVER" });
}

export const r2 = (e: Env = env as unknown as Env): BackupStorage => new R2Storage(e.BACKUP_R2, "test-backups");
export const master = (): Promise<MasterKey> => importMasterKey(env.ENCRYPTION_KEY);

export interface DrivenBackup {
  steps: number;
  outcomes: StepOutcome[];
}

/** Runs one backup to the end, executing each queued step in turn (no consumer involved). */
export async function backupNow(e: Env, assetId: string, options: { storage?: BackupStorage; now?: () => Date } = {}): Promise<DrivenBackup> {
  const queue: StepMessage[] = [];
  const runner = new BackupRunner(e, { ...options, enqueue: async (m) => void queue.push(m) });
  await runner.start(findAsset(e.BACKUP_PLAN, assetId));
  const outcomes: StepOutcome[] = [];
  while (queue.length) outcomes.push(await runner.continue(queue.shift() as StepMessage));
  return { steps: outcomes.length, outcomes };
}

export async function latest(e: Env, assetId: string, storage: BackupStorage = r2(e)): Promise<{ manifest: Manifest; key: string }> {
  const a = findAsset(e.BACKUP_PLAN, assetId);
  const found = await findLatest(storage, a);
  if (!found) throw new Error(`no backup of ${assetId}`);
  return found;
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
  for await (const o of storage.list("")) if (o.key.endsWith("/manifest.json")) keys.push(o.key);
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
