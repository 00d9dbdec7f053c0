/**
 * What a restore test found, as the Worker writes it to the backup bucket under
 * `_reports/restore-tests/<kind>/<name>/<finished-at>-<backup-id>.json` and as the drill
 * reports it. The object is sealed (HMAC under a key derived from the master key, bound to the
 * asset) so a report cannot be forged or edited through the bucket's token into a pass. The seal
 * does not bind the object's key nor say how fresh it is: a genuine report copied under a newer
 * key, or an old one left standing after the new one was deleted, still opens. Readers take a
 * report only where its key is the one its sealed content names (readRestoreTestReports), and
 * judge freshness by its sealed times, never by the key's place in a listing.
 */
import type { IntegrityResult } from "../integrity/result";
import { assetId, type AssetRef } from "../format/layout";
import type { MasterKey } from "../format/keys";
import { openState, StateSealError } from "../format/sealedState";
import { getText, type BackupStorage } from "../storage/types";

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

export interface ReadReports {
  /** Reports that opened and sit at the key their content names, oldest finish first. */
  readonly reports: readonly RestoreTestResult[];
  /** Objects under the asset's prefix refused (forged, altered, copied to another key): key and why. */
  readonly refused: ReadonlyArray<{ readonly key: string; readonly reason: string }>;
}

/** The genuine restore-test reports of one asset in `store`; with `finishedSince`, only those
 * whose keys (which start with the finishing time) are that recent are read. */
export async function readRestoreTestReports(store: BackupStorage, master: MasterKey, a: AssetRef, finishedSince?: Date): Promise<ReadReports> {
  const id = assetId(a);
  const reports: RestoreTestResult[] = [];
  const refused: Array<{ key: string; reason: string }> = [];
  const prefix = `${RESTORE_TEST_REPORTS_PREFIX}${id}/`;
  const startAfter = finishedSince ? `${prefix}${finishedSince.toISOString().replace(/[:.]/g, "-")}` : undefined;
  for await (const o of store.list(prefix, startAfter ? { startAfter } : {})) {
    const text = await getText(store, o.key);
    if (text === null) continue;
    try {
      const r = await openState<RestoreTestResult>(master, restoreTestPurpose(id), text, o.key);
      if (r.asset !== id || restoreTestReportKey(a, r) !== o.key) throw new StateSealError(`${o.key} holds the report of ${r.asset} finished at ${r.finishedAt}, which belongs at ${restoreTestReportKey(a, r)}: copied or replayed`);
      reports.push(r);
    } catch (err) {
      if (!(err instanceof StateSealError)) throw err;
      refused.push({ key: o.key, reason: err.message });
    }
  }
  reports.sort((x, y) => Date.parse(x.finishedAt) - Date.parse(y.finishedAt));
  return { reports, refused };
}

/** The outcome of the test(s) started at or after `since` (ms): a failed one if any failed (a
 * duplicate step can record twice), else the newest; null while none has reported. */
export function reportOfTestSince(reports: readonly RestoreTestResult[], since: number): RestoreTestResult | null {
  const fresh = reports.filter((r) => Date.parse(r.startedAt) >= since);
  return fresh.find((r) => !r.passed) ?? fresh.at(-1) ?? null;
}
