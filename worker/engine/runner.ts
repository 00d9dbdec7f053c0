/**
 * Runs backup jobs: start (tier and mode), steps (inline, then continued on the queue when an
 * asset needs more than one invocation), commit (manifest last, then the latest pointer, then
 * the copy to S3). The job cursor lives in _state/jobs/; a crash between steps resumes from it.
 */
import { writeArtifact } from "../../lib/backup/artifacts";
import { addDays, chooseTier, readLatest, readManifest, writeLatest } from "../../lib/backup/catalog";
import { tierDaysOf, type BackupPlan, type PlanAsset } from "../../lib/backup/plan";
import { manifestTags, replicateBackup } from "../../lib/backup/replicate";
import { DEFAULT_CHUNK_SIZE } from "../../lib/format/artifactCipher";
import { randomBytes, toHex } from "../../lib/format/bytes";
import { importMasterKey, type MasterKey } from "../../lib/format/keys";
import { ARTIFACT_SUFFIX, backupPrefix, manifestKey, newBackupId, STATE_PREFIX, type AssetRef } from "../../lib/format/layout";
import { MANIFEST_FORMAT, signManifest, type Manifest } from "../../lib/format/manifest";
import { getText, type BackupStorage } from "../../lib/storage/types";
import type { Env, StepMessage } from "../env";
import { jobFor } from "../jobs";
import { destinations } from "./destinations";
import { addCounts, mergeRefs, type BackupJob, type JobContext, type JobState } from "./job";

export const WORKER_NAME = "drposture-worker";

export type StepOutcome = "committed" | "continued" | "skipped" | "stale";

export interface RunnerOptions {
  /** Overrides the R2 destination (tests inject faults here). */
  readonly storage?: BackupStorage;
  readonly now?: () => Date;
  /** Where the next step is sent; the Worker's queue by default. */
  readonly enqueue?: (msg: StepMessage) => Promise<void>;
}

const stateKey = (a: AssetRef) => `${STATE_PREFIX}jobs/${a.kind}/${a.name}.json`;

export function findAsset(plan: BackupPlan, id: string): PlanAsset {
  const a = plan.assets.find((x) => `${x.kind}/${x.name}` === id);
  if (!a) throw new Error(`asset ${id} is not in the backup plan`);
  return a;
}

async function readState(storage: BackupStorage, a: AssetRef): Promise<JobState | null> {
  const text = await getText(storage, stateKey(a));
  return text ? (JSON.parse(text) as JobState) : null;
}

async function saveState(storage: BackupStorage, state: JobState): Promise<void> {
  const [kind, name] = state.asset.split("/") as [AssetRef["kind"], string];
  await storage.put(stateKey({ kind, name }), JSON.stringify(state), { contentType: "application/json" });
}

function context(env: Env, storage: BackupStorage, master: MasterKey, asset: PlanAsset, state: JobState): JobContext {
  const prefix = backupPrefix(state.tier, asset, state.backupId);
  // A fresh suffix per attempt: a retried step never collides with (locked) leftovers of the
  // attempt that crashed; those are never referenced by a manifest and expire by lifecycle.
  const attempt = toHex(randomBytes(3));
  return {
    env,
    plan: env.BACKUP_PLAN,
    asset,
    master,
    storage,
    backupId: state.backupId,
    tier: state.tier,
    step: state.step,
    createdAt: state.createdAt,
    expiresAt: state.expiresAt,
    previous: state.previous,
    writeArtifact: (name, role, produce) =>
      writeArtifact(storage, master, { key: `${prefix}${name}-${attempt}${ARTIFACT_SUFFIX}`, name, role }, produce, DEFAULT_CHUNK_SIZE),
  };
}

export class BackupRunner {
  private readonly plan: BackupPlan;
  private readonly storage: BackupStorage;
  private readonly now: () => Date;
  private readonly enqueue: (msg: StepMessage) => Promise<void>;
  private masterKey?: Promise<MasterKey>;

  constructor(private readonly env: Env, options: RunnerOptions = {}) {
    this.plan = env.BACKUP_PLAN;
    this.storage = options.storage ?? destinations(env).r2;
    this.now = options.now ?? (() => new Date());
    this.enqueue = options.enqueue ?? (async (msg) => void (await env.BACKUP_QUEUE.send(msg)));
  }

  private master(): Promise<MasterKey> {
    this.masterKey ??= importMasterKey(this.env.ENCRYPTION_KEY);
    return this.masterKey;
  }

  /** Starts a backup of `asset`: decides tier and mode, saves the job, queues step 1. Every
   * step runs in its own queue invocation, so each stays inside one invocation's limits. */
  async start(asset: PlanAsset): Promise<StepOutcome> {
    const existing = await readState(this.storage, asset);
    const now = this.now();
    if (existing) {
      const idle = now.getTime() - new Date(existing.updatedAt).getTime();
      if (idle < this.plan.abandonAfterMinutes * 60_000) return "skipped";
      await this.storage.delete(stateKey(asset));
      throw new AbandonedJobError(`backup ${existing.backupId} stopped at step ${existing.step} and was abandoned after ${Math.round(idle / 60_000)} min idle`);
    }
    const previous = await readLatest(this.storage, asset);
    const tier = chooseTier(now, previous);
    const createdAt = now.toISOString();
    const backupId = newBackupId(now);
    const expiresAt = addDays(createdAt, tierDaysOf(this.plan, tier));
    const seed: JobState = {
      version: 1,
      asset: `${asset.kind}/${asset.name}`,
      backupId,
      tier,
      mode: "logical",
      createdAt,
      expiresAt,
      sourcePointInTime: createdAt,
      previous,
      step: 1,
      cursor: null,
      details: null,
      artifacts: [],
      counts: {},
      dependsOn: [],
      updatedAt: createdAt,
    };
    const master = await this.master();
    const job = jobFor(asset.kind);
    const begun = await job.start(context(this.env, this.storage, master, asset, seed));
    const state: JobState = {
      ...seed,
      mode: begun.mode,
      cursor: begun.cursor,
      details: begun.details,
      sourcePointInTime: begun.sourcePointInTime ?? createdAt,
      dependsOn: mergeRefs([], begun.dependsOn),
    };
    await saveState(this.storage, state);
    await this.enqueue({ asset: state.asset, backupId, step: 1 });
    return "continued";
  }

  /** Runs the step a queue message names; stale or duplicate messages are ignored. */
  async continue(msg: StepMessage): Promise<StepOutcome> {
    const asset = findAsset(this.plan, msg.asset);
    const state = await readState(this.storage, asset);
    if (!state || state.backupId !== msg.backupId) return "stale";
    if (state.step === msg.step + 1) {
      // This step ran and saved its cursor, but the invocation died before queueing the next
      // one: queue it now (a duplicate is harmless, it finds the step already done).
      await this.enqueue({ asset: state.asset, backupId: state.backupId, step: state.step });
      return "continued";
    }
    if (state.step !== msg.step) return "stale";
    // A crash right after the manifest was written leaves the job state behind: the backup is
    // committed, so finish the bookkeeping instead of writing (and failing to overwrite) again.
    const key = manifestKey(state.tier, asset, state.backupId);
    const committed = await readManifest(this.storage, key);
    if (committed) {
      await this.afterCommit(asset, state, committed, key);
      return "committed";
    }
    return this.runStep(asset, state);
  }

  private async runStep(asset: PlanAsset, state: JobState): Promise<StepOutcome> {
    const master = await this.master();
    const ctx = context(this.env, this.storage, master, asset, state);
    const job = jobFor(asset.kind);
    const artifacts = [...state.artifacts];
    const tracking: JobContext = {
      ...ctx,
      writeArtifact: async (name, role, produce) => {
        const entry = await ctx.writeArtifact(name, role, produce);
        artifacts.push(entry);
        return entry;
      },
    };
    const r = await job.step(tracking, state.cursor, state.details);
    const next: JobState = {
      ...state,
      step: state.step + 1,
      cursor: r.cursor,
      details: r.details,
      artifacts,
      counts: addCounts(state.counts, r.counts),
      dependsOn: mergeRefs(state.dependsOn, r.dependsOn),
      updatedAt: this.now().toISOString(),
    };
    if (r.cursor !== null) {
      await saveState(this.storage, next);
      await this.enqueue({ asset: state.asset, backupId: state.backupId, step: next.step });
      return "continued";
    }
    await this.commit(tracking, job, next);
    return "committed";
  }

  private async commit(ctx: JobContext, job: BackupJob, state: JobState): Promise<void> {
    const done = await job.finish(ctx, state.details);
    const master = await this.master();
    const asset = ctx.asset;
    const manifest: Manifest = await signManifest(master, {
      format: MANIFEST_FORMAT,
      backupId: state.backupId,
      stack: this.plan.stack,
      asset: { kind: asset.kind, name: asset.name, sourceId: asset.sourceId },
      tier: state.tier,
      mode: state.mode,
      createdAt: state.createdAt,
      sourcePointInTime: done.sourcePointInTime ?? state.sourcePointInTime,
      completedAt: this.now().toISOString(),
      expiresAt: state.expiresAt,
      keyId: master.id,
      encryption: { cipher: "AES-256-GCM", kdf: "HKDF-SHA256", chunkSize: DEFAULT_CHUNK_SIZE },
      artifacts: state.artifacts,
      counts: state.counts,
      dependsOn: state.dependsOn,
      details: done.details,
      producer: { name: WORKER_NAME, version: this.env.WORKER_VERSION ?? "dev" },
    });
    const key = manifestKey(state.tier, asset, state.backupId);
    // The commit point: until this put succeeds, nothing of this backup is a backup.
    await this.storage.put(key, JSON.stringify(manifest, null, 2), { contentType: "application/json", tags: manifestTags(manifest) });
    await this.afterCommit(asset, state, manifest, key);
  }

  private async afterCommit(asset: PlanAsset, state: JobState, manifest: Manifest, key: string): Promise<void> {
    await writeLatest(this.storage, asset, state.previous, manifest, key);
    await this.storage.delete(stateKey(asset));
    await this.replicate(manifest, key);
  }

  /** Copies a committed backup to S3. Failure is reported, not fatal: the R2 copy stands. */
  async replicate(manifest: Manifest, key: string): Promise<void> {
    const s3 = destinations(this.env).s3;
    if (!s3) return;
    try {
      await replicateBackup(this.storage, s3, manifest, key, tierDaysOf(this.plan, manifest.tier));
    } catch (err) {
      throw new ReplicationError(`backup ${manifest.backupId} is committed in R2 but its copy to S3 failed: ${(err as Error).message}`);
    }
  }

  /** Drops the job state of a failed backup so the next run starts clean. */
  async discard(asset: AssetRef): Promise<void> {
    await this.storage.delete(stateKey(asset)).catch(() => undefined);
  }
}

export class AbandonedJobError extends Error {}
export class ReplicationError extends Error {}
