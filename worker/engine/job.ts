/**
 * What a backup job is: start (decide mode, first cursor), step (bounded work that writes
 * artifacts and returns the next cursor, or null when done), finish (last facts for the
 * manifest). The runner persists the cursor between steps, so a job can span invocations.
 */
import type { LatestPointer } from "../../lib/backup/catalog";
import type { BackupPlan, PlanAsset } from "../../lib/backup/plan";
import type { Produce } from "../../lib/backup/artifacts";
import type { MasterKey } from "../../lib/format/keys";
import type { Tier } from "../../lib/format/layout";
import type { ArtifactEntry, Manifest, ManifestRef } from "../../lib/format/manifest";
import type { BackupStorage } from "../../lib/storage/types";
import type { Env, TaskRef } from "../env";
import type { ReplicationCursor } from "./replication";

export type Counts = Record<string, number>;

export interface JobContext {
  readonly env: Env;
  readonly plan: BackupPlan;
  readonly asset: PlanAsset;
  readonly master: MasterKey;
  /** Where artifacts are written first (the R2 backup bucket). */
  readonly storage: BackupStorage;
  readonly backupId: string;
  readonly tier: Tier;
  /** 1-based step number. */
  readonly step: number;
  readonly createdAt: string;
  /** When this backup's tier lifecycle deletes it. */
  readonly expiresAt: string;
  /** Newest committed backup of this asset when the job started. */
  readonly previous: LatestPointer | null;
  /** Writes one encrypted artifact of this backup. `name` must be unique within the job. */
  writeArtifact(name: string, role: string, produce: Produce): Promise<ArtifactEntry>;
  /** Writes the encrypted input of task `n` (under _state/: removed once the task is adopted). */
  writeTaskInput(n: number, produce: Produce): Promise<ArtifactEntry>;
}

export interface JobStart<C, D> {
  readonly cursor: C;
  readonly mode: Manifest["mode"];
  readonly details: D;
  /** Defaults to the job's start time. */
  readonly sourcePointInTime?: string;
  readonly dependsOn?: readonly ManifestRef[];
}

export interface JobStep<C, D> {
  /** null when the job is complete. */
  readonly cursor: C | null;
  readonly details: D;
  readonly counts?: Counts;
  readonly dependsOn?: readonly ManifestRef[];
  /** Tasks to run in parallel, each in its own invocation (see BackupJob.task). */
  readonly tasks?: readonly TaskRef[];
  /** Artifacts written by tasks that this step adopts into the backup, in manifest order. */
  readonly adopted?: readonly ArtifactEntry[];
  /** Run the next step no sooner than this (a step waiting for its tasks to finish). */
  readonly delaySeconds?: number;
}

/** Where a task's share of the job lies (KV: after the previous page's last key, up to its
 * own last key). Adoption checks each task starts where the one before it ended, so tasks of
 * two runs of one listing step (a duplicate delivery, a replayed job state) are never mixed. */
export interface TaskSpan {
  readonly after: string | null;
  readonly last: string | null;
}

/** What one invocation of a task did: `resume` is where its next part starts (null: done). */
export interface TaskResult {
  readonly resume: unknown;
  readonly counts?: Counts;
  readonly span?: TaskSpan;
}

/** A running task: its ref and, from the second part on, where the last part stopped. */
export interface TaskRun extends TaskRef {
  readonly resume: unknown;
}

export interface JobFinish {
  readonly details: Record<string, unknown>;
  readonly sourcePointInTime?: string;
}

export interface BackupJob<C = unknown, D = unknown> {
  start(ctx: JobContext): Promise<JobStart<C, D>>;
  step(ctx: JobContext, cursor: C, details: D): Promise<JobStep<C, D>>;
  finish(ctx: JobContext, details: D): Promise<JobFinish>;
  /** One task a step fanned out; runs concurrently with its siblings and the job's own steps,
   * so it reads the job's details as they were when it was queued and keeps its own results. */
  task?(ctx: JobContext, task: TaskRun, details: D): Promise<TaskResult>;
}

/** Persisted (sealed) between steps at _state/jobs/<kind>/<name>.json in the backup bucket.
 * A job backs up ("backup" phase, until the manifest commits it in R2), then copies the backup
 * to S3 ("replicate" phase); the asset's next backup starts once the job is gone. */
export interface JobState {
  readonly version: 1;
  readonly phase: "backup" | "replicate";
  /** What is left to copy to S3 (replicate phase). */
  readonly replication?: ReplicationCursor;
  readonly asset: string;
  readonly backupId: string;
  readonly tier: Tier;
  readonly mode: Manifest["mode"];
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly sourcePointInTime: string;
  readonly previous: LatestPointer | null;
  /** Number of the next step to run. */
  readonly step: number;
  readonly cursor: unknown;
  readonly details: unknown;
  readonly artifacts: readonly ArtifactEntry[];
  readonly counts: Counts;
  readonly dependsOn: readonly ManifestRef[];
  readonly updatedAt: string;
  /** Tasks fanned out so far and how many of them are adopted (in order) into `artifacts`. */
  readonly tasks?: TaskProgress;
  /** The tasks the last step queued (queued again if the invocation died right after it). */
  readonly queuedTasks?: readonly TaskRef[];
}

export interface TaskProgress {
  readonly total: number;
  readonly adopted: number;
  /** Tasks below this number have had their _state/ objects removed. */
  readonly cleaned: number;
  /** When adoption started waiting for task `adopted` to finish. */
  readonly waitingSince?: string;
  /** Where the last adopted task's span ended (absent: unknown, not checked). */
  readonly last?: string | null;
}

/** The fields of a job that has not run a step yet. */
export const NO_STEPS_YET = { step: 1, cursor: null, details: null, artifacts: [], counts: {}, dependsOn: [] } as const satisfies Partial<JobState>;

export function addCounts(a: Counts, b: Counts | undefined): Counts {
  const out = { ...a };
  for (const [k, v] of Object.entries(b ?? {})) out[k] = (out[k] ?? 0) + v;
  return out;
}

export function mergeRefs(a: readonly ManifestRef[], b: readonly ManifestRef[] | undefined): ManifestRef[] {
  const seen = new Map(a.map((r) => [r.backupId, r]));
  for (const r of b ?? []) seen.set(r.backupId, r);
  return [...seen.values()].sort((x, y) => (x.backupId < y.backupId ? -1 : 1));
}
