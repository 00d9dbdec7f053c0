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
import type { Env } from "../env";
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
}

export interface JobFinish {
  readonly details: Record<string, unknown>;
  readonly sourcePointInTime?: string;
}

export interface BackupJob<C = unknown, D = unknown> {
  start(ctx: JobContext): Promise<JobStart<C, D>>;
  step(ctx: JobContext, cursor: C, details: D): Promise<JobStep<C, D>>;
  finish(ctx: JobContext, details: D): Promise<JobFinish>;
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
