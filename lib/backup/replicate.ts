/**
 * Copies committed backups to another destination: artifacts first, manifest last, so the
 * copy commits exactly like the original. Idempotent: objects already there are skipped (when
 * the target can be listed), so a failed copy is simply run again. The Worker copies in queue
 * steps (worker/engine/replication.ts); the CLI copies a whole backup at once.
 */
import { addDays } from "./catalog";
import type { ArtifactEntry, Manifest } from "../format/manifest";
import { StorageError, type BackupStorage, type PutOptions } from "../storage/types";

/** Tags on every manifest: S3 request metrics count manifest uploads per asset by them. */
export function manifestTags(m: Pick<Manifest, "asset">): Record<string, string> {
  return { "drposture-object": "manifest", "drposture-asset": `${m.asset.kind}/${m.asset.name}` };
}

export interface ReplicaTarget {
  readonly write: BackupStorage;
  readonly read?: BackupStorage;
  /** S3 Object Lock mode for per-object retention of weekly/monthly tiers. */
  readonly lockMode?: "COMPLIANCE" | "GOVERNANCE";
}

/** Per-object lock for tiers longer than the bucket's default (which covers the daily tier). */
export function lockFor(m: Manifest, tierDays: number, target: ReplicaTarget): Pick<PutOptions, "retainUntil" | "lockMode"> {
  if (!target.lockMode || m.tier === "daily") return {};
  return { retainUntil: new Date(addDays(m.createdAt, tierDays)), lockMode: target.lockMode };
}

/** Keys of this backup already on the target: one listing of the backup's prefix (the read
 * identity may list there; a HEAD of a missing key would be answered 403, not 404). */
export async function presentOn(target: ReplicaTarget, manifestKey: string): Promise<Set<string>> {
  const present = new Set<string>();
  if (!target.read) return present;
  for await (const o of target.read.list(manifestKey.slice(0, manifestKey.lastIndexOf("/") + 1))) present.add(o.key);
  return present;
}

export async function copyArtifact(source: BackupStorage, target: ReplicaTarget, a: ArtifactEntry, lock: Pick<PutOptions, "retainUntil" | "lockMode">, backupId: string): Promise<void> {
  const body = await source.get(a.key);
  if (!body) throw new StorageError(`${source.label}: ${a.key} is missing; cannot copy backup ${backupId}`);
  await target.write.put(a.key, body, { contentType: "application/octet-stream", ...lock });
}

export async function replicateBackup(source: BackupStorage, target: ReplicaTarget, m: Manifest, manifestKey: string, tierDays: number): Promise<number> {
  const lock = lockFor(m, tierDays, target);
  const present = await presentOn(target, manifestKey);
  let copied = 0;
  for (const a of m.artifacts) {
    if (present.has(a.key)) continue;
    await copyArtifact(source, target, a, lock, m.backupId);
    copied++;
  }
  if (!present.has(manifestKey)) {
    await target.write.put(manifestKey, JSON.stringify(m, null, 2), { contentType: "application/json", tags: manifestTags(m), ...lock });
    copied++;
  }
  return copied;
}
