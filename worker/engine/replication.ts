/**
 * The copy of a committed backup to S3, in steps. Copying a whole backup in one invocation can
 * exceed Cloudflare's per-invocation limits (1,000 operations, memory, time), so replication
 * continues the backup's job on the queue: each step copies artifacts until its byte or
 * operation budget is spent, and the manifest goes last, so the S3 copy commits exactly like
 * the R2 one. A backup whose dependencies (the day's full KV backup, earlier R2 packs) are not
 * on S3 yet copies them first, so the S3 copy is restorable on its own.
 */
import { objectExists, readManifest } from "../../lib/backup/catalog";
import type { BackupPlan } from "../../lib/backup/plan";
import { tierDaysOf } from "../../lib/backup/plan";
import { copyArtifact, manifestTags, lockFor, presentOn, type ReplicaTarget } from "../../lib/backup/replicate";
import type { MasterKey } from "../../lib/format/keys";
import { verifyManifest, type Manifest } from "../../lib/format/manifest";
import { UPLOAD_PART_BYTES, type BackupStorage } from "../../lib/storage/types";

export interface ReplicationCursor {
  /** Manifest keys still to copy, dependencies first, the backup itself last. */
  readonly pending: readonly string[];
  /** Artifacts of pending[0] already handled. */
  readonly next: number;
}

export class ReplicationError extends Error {
  override readonly name = "ReplicationError";
}

async function verified(source: BackupStorage, master: MasterKey, key: string): Promise<Manifest> {
  const m = await readManifest(source, key);
  if (!m) throw new ReplicationError(`${source.label}: ${key} is missing; cannot copy it`);
  await verifyManifest(master, m, `${source.label}/${key}`, key);
  return m;
}

/** What a copy of `key` to S3 must include: its dependencies missing there, then itself. */
export async function planReplication(source: BackupStorage, target: ReplicaTarget, master: MasterKey, key: string): Promise<ReplicationCursor> {
  const m = await verified(source, master, key);
  const missing: string[] = [];
  for (const dep of [...m.dependsOn].sort((a, b) => (a.backupId < b.backupId ? -1 : 1))) {
    if (!target.read || !(await objectExists(target.read, dep.key))) missing.push(dep.key);
  }
  return { pending: [...missing, key], next: 0 };
}

/** S3 requests one artifact copy costs: a single PUT, or create + parts + complete. */
const s3Requests = (bytes: number) => (bytes <= UPLOAD_PART_BYTES ? 1 : 2 + Math.ceil(bytes / UPLOAD_PART_BYTES));

/** Copies within the step's budget; returns the cursor to continue from, or null when done. */
export async function replicationStep(plan: BackupPlan, source: BackupStorage, target: ReplicaTarget, master: MasterKey, cursor: ReplicationCursor): Promise<ReplicationCursor | null> {
  const { opsPerStep, bytesPerStep } = plan.limits;
  let ops = 0;
  let bytes = 0;
  let { pending, next } = cursor;
  while (pending.length) {
    const key = pending[0] as string;
    const m = await verified(source, master, key);
    const present = await presentOn(target, key);
    const lock = lockFor(m, tierDaysOf(plan, m.tier), target);
    ops += 2;
    for (; next < m.artifacts.length; next++) {
      const a = m.artifacts[next]!;
      if (present.has(a.key)) continue;
      const cost = 1 + s3Requests(a.ciphertextBytes);
      // Budget check before each artifact; the first artifact of a step always goes.
      if ((ops > 2 || bytes > 0) && (ops + cost > opsPerStep || bytes + a.ciphertextBytes > bytesPerStep)) return { pending, next };
      try {
        await copyArtifact(source, target, a, lock, m.backupId);
      } catch (err) {
        throw new ReplicationError(`copy of ${a.key} to ${target.write.label} failed: ${(err as Error).message}`);
      }
      ops += cost;
      bytes += a.ciphertextBytes;
    }
    if (!present.has(key)) {
      // The S3 copy's commit point: its manifest, last.
      await target.write.put(key, JSON.stringify(m, null, 2), { contentType: "application/json", tags: manifestTags(m), ...lock }).catch((err: Error) => {
        throw new ReplicationError(`copy of ${key} to ${target.write.label} failed: ${err.message}`);
      });
      ops++;
    }
    pending = pending.slice(1);
    next = 0;
  }
  return null;
}
