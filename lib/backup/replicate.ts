/**
 * Copies one committed backup to another destination: artifacts first, manifest last, so the
 * copy commits exactly like the original. Idempotent: objects already there are skipped
 * (when the target can be read), so a failed copy is simply run again.
 */
import { addDays } from "./catalog";
import type { Manifest } from "../format/manifest";
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

export async function replicateBackup(source: BackupStorage, target: ReplicaTarget, m: Manifest, manifestKey: string, tierDays: number): Promise<number> {
  const lock = lockFor(m, tierDays, target);
  let copied = 0;
  for (const a of m.artifacts) {
    if (target.read && (await target.read.head(a.key))) continue;
    const body = await source.get(a.key);
    if (!body) throw new StorageError(`${source.label}: ${a.key} is missing; cannot copy backup ${m.backupId}`);
    await target.write.put(a.key, body, { contentType: "application/octet-stream", ...lock });
    copied++;
  }
  if (!target.read || !(await target.read.head(manifestKey))) {
    await target.write.put(manifestKey, JSON.stringify(m, null, 2), { contentType: "application/json", tags: manifestTags(m), ...lock });
    copied++;
  }
  return copied;
}
