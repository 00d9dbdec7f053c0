/**
 * What a restore test found, as the Worker writes it to the backup bucket under
 * `_reports/restore-tests/<kind>/<name>/<finished-at>-<backup-id>.json` and as the drill
 * reports it. The object is sealed (HMAC under a key derived from the master key, bound to the
 * asset) so a report cannot be forged or edited through the bucket's token into a pass.
 */
import type { IntegrityResult } from "../integrity/result";
import type { AssetRef } from "../format/layout";

export const RESTORE_TEST_REPORTS_PREFIX = "_reports/restore-tests/";

export interface RestoreTestResult {
  /** "kind/name" */
  readonly asset: string;
  /** Restored correctly, every check passed and within the RTO. */
  readonly passed: boolean;
  readonly backupId: string | null;
  /** The source point in time the tested backup reflects. */
  readonly sourcePointInTime: string | null;
  /** Items written into the scratch resource (rows, keys, objects). */
  readonly restoredCount: number;
  /** The item count the manifest records, when it records one. */
  readonly manifestCount: number | null;
  /** null where it does not apply (a Neon branch is Neon's own copy, not restored by us). */
  readonly countMatches: boolean | null;
  /** The scratch resource read back holds exactly what the backup's artifacts hold. */
  readonly digestMatches: boolean | null;
  /** Neon: the point in time the test branch was created at, and the branch (deleted after). */
  readonly pointInTime?: string;
  readonly branchId?: string | null;
  /** From the first write into the scratch resource to the last check. */
  readonly seconds: number;
  readonly rtoTargetSeconds: number | null;
  readonly integrity: readonly IntegrityResult[];
  /** What failed, for a person; absent when passed. */
  readonly error?: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Queue steps the test took. */
  readonly steps: number;
  readonly workerVersion?: string;
}

export const restoreTestPurpose = (asset: string) => `restore-test:${asset}`;

export function restoreTestReportKey(a: AssetRef, r: Pick<RestoreTestResult, "finishedAt" | "backupId">): string {
  return `${RESTORE_TEST_REPORTS_PREFIX}${a.kind}/${a.name}/${r.finishedAt.replace(/[:.]/g, "-")}-${r.backupId ?? "none"}.json`;
}

/** Why a finished test failed, in one line; null when it passed. */
export function failureOf(r: Omit<RestoreTestResult, "passed" | "error">, error?: string): string | null {
  const why: string[] = [];
  if (error) why.push(error);
  if (r.countMatches === false) why.push(`restored ${r.restoredCount} item(s), the manifest records ${r.manifestCount}`);
  if (r.digestMatches === false && !error) why.push("what was restored differs from what the backup holds (digest mismatch)");
  const failed = r.integrity.filter((c) => !c.ok);
  if (failed.length) why.push(`integrity check(s) failed: ${failed.map((c) => `${c.check} (${c.detail})`).join("; ")}`);
  if (r.rtoTargetSeconds !== null && r.seconds > r.rtoTargetSeconds) why.push(`the restore took ${r.seconds.toFixed(1)} s, over the RTO of ${r.rtoTargetSeconds} s`);
  return why.length ? why.join("; ") : null;
}
