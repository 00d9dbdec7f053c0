/**
 * LOCAL WORLD. The real backup Worker bundle (the bytes `pulumi up` deploys) running in workerd
 * through Miniflare, with local D1/KV/R2 and the step queue. Used by the drill, the benchmarks
 * and the bundle tests: cron triggers are fired like Cloudflare fires them, steps run on the
 * queue; with `http`, its signed backup-now routes answer on a loopback port. Every invocation runs under Cloudflare's per-invocation limits (limits/workerShim.ts),
 * the backup bucket's R2 lock rules apply to its binding, and the Worker reaches the local
 * HTTPS endpoints through a network service that trusts the local world's CA.
 */
import { planBindings } from "../backup/planBindings";
import { Miniflare, type MiniflareOptions } from "miniflare";
import { bundleModule, bundleWorker } from "../worker/bundle";
import type { InvocationLimits, InvocationStats } from "./limits/invocationBudget";
import type { R2LockRuleLike } from "./limits/r2Locks";
import { throwIfInterrupted } from "../process/cleanup";
import { ownedMiniflare } from "./ownedMiniflare";
import { ConcurrentQueue, type QueueResult } from "./concurrentQueue";
import { workerdOutbound } from "./tls";
import { latestPointerKey, readLatest, type LatestPointer } from "../backup/catalog";
import { RESTORE_TEST_BINDINGS, RESTORE_TEST_CHECKS_BINDING, type BackupPlan } from "../backup/plan";
import { importMasterKey } from "../format/keys";
import { STATE_PREFIX, type AssetRef } from "../format/layout";
import type { BackupStorage, ObjectInfo, PutOptions, Body, ByteRange } from "../storage/types";

export const LOCAL_QUEUE = "drposture-local-steps";
const LOCAL_MAX_RETRIES = 2;
export const WORKER_COMPATIBILITY_DATE = "2026-04-01";

export interface AccessKeys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** Cloudflare's per-invocation limits on the Workers Paid plan, and the byte budget of a step.
 * Sources: https://developers.cloudflare.com/workers/platform/limits/,
 * https://developers.cloudflare.com/kv/platform/limits/, https://developers.cloudflare.com/d1/platform/limits/ */
export function workersPaidLimits(plan: BackupPlan): InvocationLimits {
  return {
    subrequests: 1000,
    kvOperations: 1000,
    d1Queries: 1000,
    r2Operations: 1000,
    storageOperations: 1000,
    // A step reads at most its byte budget, plus one KV value (25 MiB) past it.
    sourceBytes: plan.limits.bytesPerStep + 32 * 1024 * 1024,
  };
}

export interface LocalWorkerOptions {
  readonly plan: BackupPlan;
  readonly keyHex: string;
  /** The S3 writer (put only) and verifier (read only) identities the program declares. */
  readonly s3Writer?: AccessKeys;
  readonly s3Verifier?: AccessKeys;
  /** PEM of the local world's CA, when the Worker must reach its HTTPS endpoints. */
  readonly caPem?: string;
  /** Per-invocation limits; default workersPaidLimits(plan). */
  readonly limits?: Partial<InvocationLimits>;
  /** Lock rules of the backup bucket (the program's R2BucketLock), enforced on BACKUP_R2. */
  readonly r2Locks?: readonly R2LockRuleLike[];
  readonly alertWebhookUrl?: string;
  readonly neonApiKey?: string;
  /** Directory for D1/KV/R2 data; in memory when absent. */
  readonly persistDir?: string;
  /** Extra empty bindings (restore targets), e.g. { d1: ["D1_RESTORED"] }. */
  readonly extra?: { d1?: string[]; kv?: string[]; r2?: string[] };
  /** The declared post-restore checks, bound as RESTORE_TEST_CHECKS (with restore testing). */
  readonly restoreTestChecks?: unknown;
  /** The Neon stand-in's SQL endpoint (NEON_SQL_ENDPOINT: local world only). */
  readonly neonSqlEndpoint?: string;
  /** The trigger key (64 hex), bound as TRIGGER_KEY: the signed backup-now routes are on. */
  readonly triggerKeyHex?: string;
  /** Serve the Worker's fetch handler on http://127.0.0.1:<free port> (LocalWorker.url). */
  readonly http?: boolean;
  /** Run up to this many queue deliveries at once (Queues' max_concurrency) on the concurrent
   * local queue instead of Miniflare's one-at-a-time queue. */
  readonly queueConcurrency?: number;
}

type MfR2 = Awaited<ReturnType<Miniflare["getR2Bucket"]>>;

/** BackupStorage over a Miniflare R2 bucket, as seen from Node. */
export class MiniflareR2Storage implements BackupStorage {
  readonly label: string;
  constructor(private readonly bucket: MfR2, name: string) {
    this.label = `r2(local):${name}`;
  }
  async put(key: string, body: Body, options: PutOptions = {}): Promise<ObjectInfo> {
    const data = body instanceof ReadableStream ? new Uint8Array(await new Response(body as ReadableStream).arrayBuffer()) : body;
    const o = await this.bucket.put(key, data, options.contentType ? { httpMetadata: { contentType: options.contentType } } : {});
    return { key, size: o?.size ?? 0 };
  }
  async get(key: string, range?: ByteRange): Promise<ReadableStream<Uint8Array> | null> {
    const o = await this.bucket.get(key, range ? { range: { offset: range.offset, ...(range.length !== undefined ? { length: range.length } : {}) } } : undefined);
    return o ? (o.body as unknown as ReadableStream<Uint8Array>) : null;
  }
  async head(key: string): Promise<ObjectInfo | null> {
    const o = await this.bucket.head(key);
    return o ? { key, size: o.size, etag: o.etag, uploaded: o.uploaded } : null;
  }
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let cursor: string | undefined;
    do {
      const page = await this.bucket.list({ prefix, ...(cursor ? { cursor } : {}) });
      for (const o of page.objects) yield { key: o.key, size: o.size, etag: o.etag, uploaded: o.uploaded };
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  }
  async delete(key: string): Promise<void> {
    await this.bucket.delete(key);
  }
}

export class LocalWorker {
  private constructor(
    readonly mf: Miniflare,
    readonly plan: BackupPlan,
    private readonly keyHex: string,
    /** Every invocation's binding operations, subrequests and bytes, in order. */
    readonly invocations: InvocationStats[],
    /** The per-invocation limits enforced. */
    readonly limits: InvocationLimits,
    /** Where the Worker's fetch handler answers (with `http`), e.g. http://127.0.0.1:41234. */
    readonly url?: string,
    /** The concurrent local queue (with `queueConcurrency`). */
    readonly queue?: ConcurrentQueue,
  ) {}

  static async start(o: LocalWorkerOptions): Promise<LocalWorker> {
    const invocations: InvocationStats[] = [];
    const queue = o.queueConcurrency ? new ConcurrentQueue(o.queueConcurrency, LOCAL_MAX_RETRIES) : undefined;
    const mf = ownedMiniflare(localWorkerOptions(o, invocations, queue), "backup Worker");
    const ready = await mf.ready;
    if (queue) {
      const worker = await mf.getWorker();
      queue.dispatch = (d) => worker.queue(LOCAL_QUEUE, [d]) as Promise<QueueResult>;
    }
    const url = o.http ? ready.origin : undefined;
    return new LocalWorker(mf, o.plan, o.keyHex, invocations, { ...workersPaidLimits(o.plan), ...(o.limits ?? {}) }, url, queue);
  }

  /** Invocations that went over a limit (each failed on Cloudflare as it failed here). */
  violations(): string[] {
    return this.invocations.flatMap((i) => (i.violation ? [i.violation] : []));
  }

  /** The most of each count any one invocation used. */
  peaks(): InvocationStats["counts"] {
    const peak = { subrequests: 0, kvOperations: 0, d1Queries: 0, r2Operations: 0, storageOperations: 0, sourceBytes: 0 };
    for (const i of this.invocations) for (const k of Object.keys(peak) as Array<keyof typeof peak>) peak[k] = Math.max(peak[k], i.counts[k]);
    return peak;
  }

  /** Fires a cron trigger, as Cloudflare does, and returns what the scheduled handler said. */
  async runCron(cron: string, scheduledTime = new Date()): Promise<{ outcome: string }> {
    const worker = await this.mf.getWorker();
    const r = await worker.scheduled({ cron, scheduledTime });
    return { outcome: r.outcome };
  }

  backupStorage(): Promise<BackupStorage> {
    return this.mf.getR2Bucket("BACKUP_R2").then((b) => new MiniflareR2Storage(b, this.plan.destinations.r2.bucketName));
  }

  /** Waits until the asset's newest committed backup is not `previous` and its job (the copy
   * to S3 included) has ended. */
  async waitForBackup(asset: AssetRef, previous: string | null, timeoutMs = 120_000): Promise<LatestPointer> {
    const storage = await this.backupStorage();
    const master = await importMasterKey(this.keyHex);
    const end = Date.now() + timeoutMs;
    for (;;) {
      throwIfInterrupted();
      const pointer = await readLatest(storage, master, asset);
      const running = await storage.head(`${STATE_PREFIX}jobs/${asset.kind}/${asset.name}.json`);
      if (pointer && pointer.latest.backupId !== previous && !running) return pointer;
      if (Date.now() > end) throw new Error(`no new backup of ${asset.kind}/${asset.name} within ${timeoutMs / 1000}s (pointer ${latestPointerKey(asset)})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  dispose(): Promise<void> {
    this.queue?.dispose();
    return this.mf.dispose();
  }
}

/** Miniflare options for the backup Worker with a plan's bindings, under the local limits. */
export function localWorkerOptions(o: LocalWorkerOptions, invocations: InvocationStats[] = [], queue?: ConcurrentQueue): MiniflareOptions {
  const bundle = bundleWorker();
  const shim = bundleModule("lib/local/limits/workerShim.ts", ["./index.js"]);
  const plan = o.plan;
  const d1: Record<string, string> = {};
  const kv: Record<string, string> = {};
  const r2: Record<string, string> = { BACKUP_R2: plan.destinations.r2.bucketName };
  for (const a of plan.assets) {
    if (!a.binding) continue;
    if (a.kind === "d1") d1[a.binding] = a.sourceId;
    if (a.kind === "kv") kv[a.binding] = a.sourceId;
    if (a.kind === "r2") r2[a.binding] = a.sourceId;
  }
  // Restore testing: the scratch resources the RestoreTesting component declares, one per kind.
  if (plan.restoreTesting) {
    const kinds = new Set(plan.assets.map((a) => a.kind));
    if (kinds.has("d1")) d1[RESTORE_TEST_BINDINGS.d1] = "restore-scratch-d1-local";
    if (kinds.has("kv")) kv[RESTORE_TEST_BINDINGS.kv] = "restore-scratch-kv-local";
    if (kinds.has("r2")) r2[RESTORE_TEST_BINDINGS.r2] = "restore-scratch-r2-local";
  }
  for (const b of o.extra?.d1 ?? []) d1[b] = `${b.toLowerCase()}-local`;
  for (const b of o.extra?.kv ?? []) kv[b] = `${b.toLowerCase()}-local`;
  for (const b of o.extra?.r2 ?? []) r2[b] = `${b.toLowerCase().replace(/_/g, "-")}-local`;
  const writer = o.s3Writer;
  const verifier = o.s3Verifier;
  return {
    name: "drposture-backup",
    // Loopback only, on a free port: the local world's stand-in for the workers.dev URL.
    ...(o.http ? { host: "127.0.0.1", port: 0 } : {}),
    modules: [
      { type: "ESModule", path: "shim.js", contents: shim.content },
      { type: "ESModule", path: "index.js", contents: bundle.content },
    ],
    ...(o.caPem ? { outboundService: workerdOutbound(o.caPem) } : {}),
    serviceBindings: {
      LIMITS_REPORT: async (request: Request) => {
        invocations.push((await request.json()) as InvocationStats);
        return new Response(null, { status: 204 });
      },
      ...(queue ? { QUEUE_RELAY: queue.handler } : {}),
    },
    compatibilityDate: WORKER_COMPATIBILITY_DATE,
    compatibilityFlags: ["nodejs_compat"],
    d1Databases: d1,
    kvNamespaces: kv,
    r2Buckets: r2,
    ...(queue
      ? {}
      : { queueProducers: { BACKUP_QUEUE: { queueName: LOCAL_QUEUE } }, queueConsumers: { [LOCAL_QUEUE]: { maxBatchSize: 1, maxBatchTimeout: 0, maxRetries: LOCAL_MAX_RETRIES } } }),
    bindings: {
      // Bound as production binds it: the plan in parts of at most 5 KB (planBindings throws past that).
      ...Object.fromEntries(Object.entries(planBindings(plan)).map(([name, json]) => [name, JSON.parse(json) as unknown])),
      WORKER_VERSION: bundle.version,
      ENCRYPTION_KEY: o.keyHex,
      LOCAL_LIMITS: { limits: { ...workersPaidLimits(plan), ...(o.limits ?? {}) }, r2Locks: { BACKUP_R2: o.r2Locks ?? [] } },
      ...(writer ? { S3_WRITER_ACCESS_KEY_ID: writer.accessKeyId, S3_WRITER_SECRET_ACCESS_KEY: writer.secretAccessKey } : {}),
      ...(verifier ? { S3_VERIFIER_ACCESS_KEY_ID: verifier.accessKeyId, S3_VERIFIER_SECRET_ACCESS_KEY: verifier.secretAccessKey } : {}),
      ...(o.alertWebhookUrl ? { ALERT_WEBHOOK_URL: o.alertWebhookUrl } : {}),
      ...(o.neonApiKey ? { NEON_API_KEY: o.neonApiKey } : {}),
      ...(plan.restoreTesting && o.restoreTestChecks ? { [RESTORE_TEST_CHECKS_BINDING]: o.restoreTestChecks } : {}),
      ...(o.neonSqlEndpoint ? { NEON_SQL_ENDPOINT: o.neonSqlEndpoint } : {}),
      ...(o.triggerKeyHex ? { TRIGGER_KEY: o.triggerKeyHex } : {}),
    },
    ...(o.persistDir
      ? { d1Persist: `${o.persistDir}/d1`, kvPersist: `${o.persistDir}/kv`, r2Persist: `${o.persistDir}/r2` }
      : { d1Persist: false, kvPersist: false, r2Persist: false }),
  };
}
