/**
 * Anti-rollback. The sealed "latest" pointer under _state/latest/ records the backup the Worker
 * last committed for an asset. A store whose newest verified backup is older than that (or that
 * has none left) has lost backups: deleted, replaced by altered or replayed copies, or the
 * bucket rolled back to an older state. Manifests alone cannot show this (an older backup is a
 * genuine, signed one); the pointer can.
 *
 * Limits, said plainly: a store without a pointer (the S3 copy, where the Worker keeps none, or
 * an identity that may not read _state/) cannot be checked; a deleted pointer, or a replayed
 * older one, weakens the check without being noticed; a pointer that does not open is reported.
 */
import type { MasterKey } from "../format/keys";
import { assetId, type AssetRef } from "../format/layout";
import { StorageError, type BackupStorage } from "../storage/types";
import { latestPointerKey, readLatestPointer, type BackupSummary, type LatestRead } from "./catalog";

export interface RollbackCheck {
  /** The backup the pointer names as last committed, when a pointer opened. */
  readonly committed?: BackupSummary;
  /** Set when the store is behind its pointer: what to tell the operator. */
  readonly rollback?: string;
  /** Set when a pointer exists but could not be used (altered, another key). */
  readonly unchecked?: string;
}

/**
 * Compares the newest verified backup id of an asset (null: none) with the pointer. A committed
 * backup past its tier's expiry may have been deleted by the lifecycle rule: not a rollback.
 */
export async function checkRollback(storage: BackupStorage, master: MasterKey, asset: AssetRef, newestVerified: string | null, now = new Date()): Promise<RollbackCheck> {
  let read: LatestRead;
  try {
    read = await readLatestPointer(storage, master, asset);
  } catch (err) {
    // S3 answers 403 to the verifier and restorer for _state/ (they may read only the tiers).
    if (err instanceof StorageError && err.status === 403) return {};
    throw err;
  }
  if (read.ignored) return { unchecked: `cannot check for rollback: ${read.ignored}` };
  const committed = read.pointer?.latest;
  if (!committed) return {};
  if (newestVerified !== null && newestVerified >= committed.backupId) return { committed };
  if (Date.parse(committed.expiresAt) <= now.getTime()) return { committed };
  const have = newestVerified ? `the newest verified backup of ${assetId(asset)} is ${newestVerified}` : `no verified backup of ${assetId(asset)} is left`;
  return {
    committed,
    rollback: `${storage.label}: ${have}, but the Worker last committed ${committed.backupId} (${latestPointerKey(asset)}): backups were deleted, replaced or rolled back`,
  };
}

/**
 * The rollback check of every asset found in a store (`assets`: those with manifests, verified
 * or not, and the one named by --asset KIND/NAME, all of whose backups may be gone). _state/ is
 * not listed to find more: the verifier and restorer may list only the tier prefixes on S3.
 * One problem per asset behind its pointer, or whose pointer does not open.
 */
export async function rollbackProblems(
  store: BackupStorage,
  master: MasterKey,
  assets: readonly AssetRef[],
  verified: ReadonlyArray<{ readonly asset: AssetRef; readonly backupId: string }>,
): Promise<Array<{ key: string; problem: string }>> {
  const newest = new Map<string, { ref: AssetRef; id: string | null }>();
  for (const ref of assets) newest.set(assetId(ref), { ref: { kind: ref.kind, name: ref.name }, id: null });
  for (const v of verified) {
    const seen = newest.get(assetId(v.asset))?.id ?? null;
    if (seen === null || v.backupId > seen) newest.set(assetId(v.asset), { ref: { kind: v.asset.kind, name: v.asset.name }, id: v.backupId });
  }
  const problems: Array<{ key: string; problem: string }> = [];
  for (const { ref, id } of newest.values()) {
    const check = await checkRollback(store, master, ref, id);
    const problem = check.rollback ?? check.unchecked;
    if (problem) problems.push({ key: latestPointerKey(ref), problem });
  }
  return problems;
}
