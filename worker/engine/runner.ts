/**
 * Runs backup jobs: start (tier and mode), steps (each in its own queue invocation), commit
 * (manifest last, then the latest pointer), then the copy to S3 in further steps (manifest
 * last there too). The job cursor lives, sealed, in _state/jobs/ (jobStateStore.ts); a crash
 * between steps resumes from it, and a cursor that was tampered with is refused, never followed.
 */
import { addDays, chooseTier, findLatest, readLatest, readManifest, writeLatest } from "../../lib/backup/catalog";
import { healthFor } from "../../lib/backup/health";
import { tierDaysOf, type BackupPlan, type PlanAsset } from "../../lib/backup/plan";
import { manifestTags } from "../../lib/backup/replicate";
import { DEFAULT_CHUNK_SIZE } from "../../lib/format/artifactCipher";
import { importMasterKey, type MasterKey } from "../../lib/format/keys";
import { manifestKey, newBackupId, type AssetRef } from "../../lib/format/layout";
import { MANIFEST_FORMAT, ManifestError, signManifest, verifyManifest, type Manifest } from "../../lib/format/manifest";
import type { BackupStorage } from "../../lib/storage/types";
import type { Env, StepMessage, TaskRef } from "../env";
import { jobFor } from "../jobs";
import { destinations } from "./destinations";
import { addCounts, mergeRefs, NO_STEPS_YET, type BackupJob, type JobContext, type JobState } from "./job";
import { jobContext, tracked } from "./jobContext";
import { dropJobState, readJobState, saveJobState, stateAsset, TamperedStateError } from "./jobStateStore";
import { planReplication, replicationStep } from "./replication";
import { adoptTasks, saveTask, taskDone, tasksPending, taskStart } from "./tasks";

export { ReplicationError } from "./replication";
export { TamperedStateError } from "./jobStateStore";

export const WORKER_NAME = "drposture-worker";

export type StepOutcome = "committed" | "replicated" | "continued" | "task" | "skipped" | "stale";

export interface RunnerOptions {
  /** Overrides the R2 destination (tests inject faults here). */
  readonly storage?: BackupStorage;
  readonly now?: () => Date;
  /** Where the next step (or task) is sent, after `delaySeconds`; the Worker's queue by default. */
  readonly enqueue?: (msg: StepMessage, delaySeconds?: number) => Promise<void>;
}

export function findAsset(plan: BackupPlan, id: string): PlanAsset {
  const a = plan.assets.find((x) => `${x.kind}/${x.name}` === id);
  if (!a) throw new Error(`asset ${id} is not in the backup plan`);
  return a;
}

export class BackupRunner {
  private readonly plan: BackupPlan;
  private readonly storage: BackupStorage;
  private readonly now: () => Date;
  private readonly enqueue: (msg: StepMessage, delaySeconds?: number) => Promise<void>;
  private readonly enqueueMany: (msgs: readonly StepMessage[]) => Promise<void>;
  private masterKey?: Promise<MasterKey>;

  constructor(private readonly env: Env, options: RunnerOptions = {}) {
    this.plan = env.BACKUP_PLAN;
    this.storage = options.storage ?? destinations(env).r2;
    this.now = options.now ?? (() => new Date());
    this.enqueue = options.enqueue ?? (async (msg, delaySeconds) => void (await env.BACKUP_QUEUE.send(msg, delaySeconds ? { delaySeconds } : undefined)));
    const one = options.enqueue;
    this.enqueueMany = one
      ? async (msgs) => {
          for (const m of msgs) await one(m);
        }
      : async (msgs) => {
          // sendBatch takes at most 100 messages (and 256 KB) per call.
          for (let i = 0; i < msgs.length; i += 100) await env.BACKUP_QUEUE.sendBatch(msgs.slice(i, i + 100).map((body) => ({ body })));
        };
  }

  private master(): Promise<MasterKey> {
    this.masterKey ??= importMasterKey(this.env.ENCRYPTION_KEY);
    return this.masterKey;
  }

  private async readState(a: AssetRef): Promise<JobState | null> {
    return readJobState(this.storage, await this.master(), a);
  }

  private async saveState(state: JobState): Promise<void> {
    await saveJobState(this.storage, await this.master(), state);
  }

  /** Starts a backup of `asset`: decides tier and mode, saves the job, queues step 1. Every
   * step runs in its own queue invocation, so each stays inside one invocation's limits. */
  async start(asset: PlanAsset): Promise<StepOutcome> {
    const now = this.now();
    let existing: JobState | null;
    try {
      existing = await this.readState(asset);
    } catch (err) {
      if (!(err instanceof TamperedStateError)) throw err;
      await dropJobState(this.storage, asset);
      throw err;
    }
    if (existing) {
      const idle = now.getTime() - new Date(existing.updatedAt).getTime();
      if (idle < this.plan.abandonAfterMinutes * 60_000) return "skipped";
      await dropJobState(this.storage, asset);
      throw new AbandonedJobError(`${existing.phase === "replicate" ? "the S3 copy of " : ""}backup ${existing.backupId} stopped at step ${existing.step} and was abandoned after ${Math.round(idle / 60_000)} min idle`);
    }
    const master = await this.master();
    const previous = await readLatest(this.storage, master, asset);
    const tier = chooseTier(now, previous);
    const createdAt = now.toISOString();
    const backupId = newBackupId(now);
    const expiresAt = addDays(createdAt, tierDaysOf(this.plan, tier));
    const seed: JobState = {
      version: 1,
      phase: "backup",
      asset: `${asset.kind}/${asset.name}`,
      backupId,
      tier,
      mode: "logical",
      createdAt,
      expiresAt,
      sourcePointInTime: createdAt,
      previous,
      ...NO_STEPS_YET,
      updatedAt: createdAt,
    };
    const job = jobFor(asset.kind);
    const begun = await job.start(jobContext(this.env, this.storage, master, asset, seed));
    const state: JobState = {
      ...seed,
      mode: begun.mode,
      cursor: begun.cursor,
      details: begun.details,
      sourcePointInTime: begun.sourcePointInTime ?? createdAt,
      dependsOn: mergeRefs([], begun.dependsOn),
    };
    await this.saveState(state);
    await this.enqueue({ asset: state.asset, backupId, step: 1 });
    return "continued";
  }

  /** Runs the step a queue message names; stale or duplicate messages are ignored. */
  async continue(msg: StepMessage): Promise<StepOutcome> {
    const asset = findAsset(this.plan, msg.asset);
    const state = await this.readState(asset);
    if (!state || state.backupId !== msg.backupId) return "stale";
    if (msg.task) return this.runTask(asset, state, msg);
    if (state.step === msg.step + 1) {
      // This step ran and saved its cursor, but the invocation died before queueing the next
      // one (or its tasks): queue them now (a duplicate is harmless, it finds the work done).
      await this.enqueueTasks(state, state.queuedTasks ?? []);
      await this.enqueue({ asset: state.asset, backupId: state.backupId, step: state.step });
      return "continued";
    }
    if (state.step !== msg.step) return "stale";
    if (state.phase === "replicate") return this.replicateStep(state);
    // A crash right after the manifest was written leaves the job state behind: the backup is
    // committed, so finish the bookkeeping instead of writing (and failing to overwrite) again.
    const key = manifestKey(state.tier, asset, state.backupId);
    const committed = await this.committedManifest(asset, state, key);
    if (committed) {
      await this.afterCommit(asset, state, committed, key);
      return "committed";
    }
    return this.runStep(asset, state);
  }

  /**
   * The manifest already at this backup's key, verified. Anything there that does not verify
   * was planted by someone with write access to the bucket: the job is abandoned (its state
   * deleted) and the failure alerts, rather than adopting it as this backup's commit.
   */
  private async committedManifest(asset: PlanAsset, state: JobState, key: string): Promise<Manifest | null> {
    try {
      const m = await readManifest(this.storage, key);
      if (m) await verifyManifest(await this.master(), m, `${this.storage.label}/${key}`, key);
      return m;
    } catch (err) {
      if (!(err instanceof ManifestError)) throw err;
      await dropJobState(this.storage, asset);
      throw new TamperedStateError(`backup ${state.backupId} of ${asset.kind}/${asset.name} abandoned: the object at its manifest key is not its manifest (${err.message})`);
    }
  }

  private async runStep(asset: PlanAsset, state: JobState): Promise<StepOutcome> {
    if (state.cursor === null && tasksPending(state.tasks)) return this.adoptStep(asset, state);
    const master = await this.master();
    const ctx = jobContext(this.env, this.storage, master, asset, state);
    const job = jobFor(asset.kind);
    const artifacts = [...state.artifacts];
    const tracking = tracked(ctx, artifacts);
    const r = await job.step(tracking, state.cursor, state.details);
    const queued = r.tasks ?? [];
    const total = (state.tasks?.total ?? 0) + queued.length;
    const next: JobState = {
      ...state,
      step: state.step + 1,
      cursor: r.cursor,
      details: r.details,
      artifacts,
      counts: addCounts(state.counts, r.counts),
      dependsOn: mergeRefs(state.dependsOn, r.dependsOn),
      updatedAt: this.now().toISOString(),
      ...(total ? { tasks: { ...(state.tasks ?? { adopted: 0, cleaned: 0 }), total }, queuedTasks: queued } : {}),
    };
    if (r.cursor !== null || tasksPending(next.tasks)) {
      // State first: a task must never run for a step whose cursor was not saved.
      await this.saveState(next);
      await this.enqueueTasks(next, queued);
      await this.enqueue({ asset: state.asset, backupId: state.backupId, step: next.step }, r.delaySeconds);
      return "continued";
    }
    await this.commit(tracking, job, next);
    return "committed";
  }

  /** Queues tasks a step fanned out (each names the step that queued it). */
  private async enqueueTasks(state: JobState, tasks: readonly TaskRef[]): Promise<void> {
    await this.enqueueMany(tasks.map((task) => ({ asset: state.asset, backupId: state.backupId, step: state.step - 1, task })));
  }

  /** After the job's own steps: takes finished tasks into the job in order, then commits. */
  private async adoptStep(asset: PlanAsset, state: JobState): Promise<StepOutcome> {
    const master = await this.master();
    const a = await adoptTasks(this.storage, master, asset, state, this.plan.limits.opsPerStep, this.now());
    const next: JobState = {
      ...state,
      step: state.step + 1,
      artifacts: [...state.artifacts, ...a.artifacts],
      counts: addCounts(state.counts, a.counts),
      tasks: a.progress,
      queuedTasks: [],
      // Polling is progress: a straggling task is bounded by TASK_WAIT_LIMIT_MINUTES instead.
      updatedAt: this.now().toISOString(),
    };
    if (tasksPending(next.tasks)) {
      await this.saveState(next);
      await this.enqueue({ asset: state.asset, backupId: state.backupId, step: next.step }, a.delaySeconds);
      return "continued";
    }
    const ctx = jobContext(this.env, this.storage, master, asset, next);
    await this.commit(ctx, jobFor(asset.kind), next);
    return "committed";
  }

  /** One part of a task: runs it, keeps its results under _state/tasks/, queues the next part. */
  private async runTask(asset: PlanAsset, state: JobState, msg: StepMessage): Promise<StepOutcome> {
    const task = msg.task as TaskRef;
    const job = jobFor(asset.kind);
    if (state.phase !== "backup" || !job.task) return "stale";
    // Adopted (and its objects maybe removed already): a late duplicate or a retry.
    if (task.n < (state.tasks?.adopted ?? 0)) return "stale";
    const master = await this.master();
    if (await taskDone(this.storage, master, asset, state.backupId, task.n)) return "stale";
    const saved = await taskStart(this.storage, master, asset, state.backupId, task);
    if (saved && saved.part === task.part + 1 && saved.resume !== null) {
      // This part ran and saved its record, but its invocation died before queueing the next.
      await this.enqueue({ ...msg, task: { ...task, part: saved.part } });
      return "task";
    }
    const start = saved && saved.part === task.part ? saved : null;
    if (task.part > 0 && !start) return "stale";
    const ctx = jobContext(this.env, this.storage, master, asset, state);
    const artifacts = [...(start?.artifacts ?? [])];
    const tracking = tracked(ctx, artifacts);
    const r = await job.task(tracking, { ...task, resume: start?.resume ?? null }, state.details);
    const counts = addCounts(start?.counts ?? {}, r.counts);
    const part = r.resume === null ? task.part : task.part + 1;
    await saveTask(this.storage, master, asset, state.backupId, task.n, { part, resume: r.resume, artifacts, counts, ...(r.span ? { span: r.span } : {}) });
    if (r.resume !== null) await this.enqueue({ ...msg, task: { ...task, part } });
    return "task";
  }

  private async commit(ctx: JobContext, job: BackupJob, state: JobState): Promise<void> {
    const done = await job.finish(ctx, state.details);
    const master = await this.master();
    const asset = ctx.asset;
    const unsigned: Omit<Manifest, "mac" | "health"> = {
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
    };
    // The baseline comes from the newest committed backup that verifies (the listing decides
    // past the pointer), so deleting or replaying the pointer cannot reset it. A failure to
    // read it fails the step (the queue retries it) rather than committing without a baseline.
    const previous = (await findLatest(this.storage, master, asset))?.manifest ?? null;
    const manifest = await signManifest(master, { ...unsigned, health: healthFor(unsigned, previous) });
    const key = manifestKey(state.tier, asset, state.backupId);
    // The commit point: until this put succeeds, nothing of this backup is a backup.
    await this.storage.put(key, JSON.stringify(manifest, null, 2), { contentType: "application/json", tags: manifestTags(manifest) });
    await this.afterCommit(asset, state, manifest, key);
  }

  /** After the R2 commit: the latest pointer, then the S3 copy as further steps of this job. */
  private async afterCommit(asset: PlanAsset, state: JobState, manifest: Manifest, key: string): Promise<void> {
    const master = await this.master();
    await writeLatest(this.storage, master, asset, state.previous, manifest, key);
    const s3 = destinations(this.env).s3;
    if (!s3) {
      await dropJobState(this.storage, asset);
      return;
    }
    const replication = await planReplication(this.storage, s3, master, key);
    await this.saveState({ ...state, phase: "replicate", replication, step: state.step + 1, cursor: null, updatedAt: this.now().toISOString() });
    await this.enqueue({ asset: state.asset, backupId: state.backupId, step: state.step + 1 });
  }

  private async replicateStep(state: JobState): Promise<StepOutcome> {
    const s3 = destinations(this.env).s3;
    if (!s3 || !state.replication) {
      await dropJobState(this.storage, stateAsset(state));
      return "replicated";
    }
    const cursor = await replicationStep(this.plan, this.storage, s3, await this.master(), state.replication);
    if (!cursor) {
      await dropJobState(this.storage, stateAsset(state));
      return "replicated";
    }
    await this.saveState({ ...state, replication: cursor, step: state.step + 1, updatedAt: this.now().toISOString() });
    await this.enqueue({ asset: state.asset, backupId: state.backupId, step: state.step + 1 });
    return "continued";
  }

  /**
   * Queues the copy of a committed backup that is not on S3 (the watchdog found it lagging):
   * a replicate-phase job, unless the asset already has a job running (it copies in turn).
   */
  async scheduleReplication(manifest: Manifest, key: string): Promise<boolean> {
    const s3 = destinations(this.env).s3;
    const asset = findAsset(this.plan, `${manifest.asset.kind}/${manifest.asset.name}`);
    if (!s3 || (await this.readState(asset).catch(() => null))) return false;
    const now = this.now().toISOString();
    const replication = await planReplication(this.storage, s3, await this.master(), key);
    await this.saveState({
      version: 1,
      phase: "replicate",
      replication,
      asset: `${asset.kind}/${asset.name}`,
      backupId: manifest.backupId,
      tier: manifest.tier,
      mode: manifest.mode,
      createdAt: manifest.createdAt,
      expiresAt: manifest.expiresAt,
      sourcePointInTime: manifest.sourcePointInTime,
      previous: null,
      ...NO_STEPS_YET,
      updatedAt: now,
    });
    await this.enqueue({ asset: `${asset.kind}/${asset.name}`, backupId: manifest.backupId, step: 1 });
    return true;
  }

  /** Whether the job of `asset` is copying to S3 (its failures are replication failures). */
  async replicating(asset: AssetRef): Promise<boolean> {
    return (await this.readState(asset).catch(() => null))?.phase === "replicate";
  }

  /** The job of `asset` that is running, if any (the trigger routes report it by its id). */
  async activeJob(asset: AssetRef): Promise<Pick<JobState, "backupId" | "tier" | "phase" | "step" | "updatedAt"> | null> {
    const s = await this.readState(asset);
    return s ? { backupId: s.backupId, tier: s.tier, phase: s.phase, step: s.step, updatedAt: s.updatedAt } : null;
  }

  /** Drops the job state of a failed backup so the next run starts clean; with `backupId`, only
   * when the asset's job is still that backup (false: nothing dropped). */
  async discard(asset: AssetRef, backupId?: string): Promise<boolean> {
    if (backupId !== undefined) {
      // A late message of a backup already dropped (a task still in flight when a sibling
      // failed, say) must not take down the job that runs now.
      // A state that cannot be read (R2 failing) is dropped and alerted as before: an outage
      // must not silence the failure.
      const s = await this.readState(asset).catch(() => undefined);
      if (s === null || (s && s.backupId !== backupId)) return false;
    }
    await dropJobState(this.storage, asset).catch(() => undefined);
    return true;
  }
}

export class AbandonedJobError extends Error {}
