/**
 * The context a job's start, steps and tasks run in: where its artifacts go (this backup's
 * prefix, under a fresh suffix per attempt) and where a task's input goes (_state/tasks/).
 */
import { writeArtifact } from "../../lib/backup/artifacts";
import type { PlanAsset } from "../../lib/backup/plan";
import { DEFAULT_CHUNK_SIZE } from "../../lib/format/artifactCipher";
import { randomBytes, toHex } from "../../lib/format/bytes";
import type { MasterKey } from "../../lib/format/keys";
import { ARTIFACT_SUFFIX, backupPrefix } from "../../lib/format/layout";
import type { ArtifactEntry } from "../../lib/format/manifest";
import type { BackupStorage } from "../../lib/storage/types";
import type { Env } from "../env";
import type { JobContext, JobState } from "./job";
import { taskInputKey } from "./tasks";

export function jobContext(env: Env, storage: BackupStorage, master: MasterKey, asset: PlanAsset, state: JobState): JobContext {
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
    writeTaskInput: (n, produce) => writeArtifact(storage, master, { key: taskInputKey(asset, state.backupId, n), name: `task-input-${n}`, role: "task-input" }, produce, DEFAULT_CHUNK_SIZE),
  };
}

/** The context with every artifact it writes appended to `artifacts`. */
export function tracked(ctx: JobContext, artifacts: ArtifactEntry[]): JobContext {
  return {
    ...ctx,
    writeArtifact: async (name, role, produce) => {
      const entry = await ctx.writeArtifact(name, role, produce);
      artifacts.push(entry);
      return entry;
    },
  };
}
