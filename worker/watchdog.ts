/**
 * The watchdog, run after the backups of every cron invocation:
 *  - staleness: each asset's newest committed backup is younger than its RPO (plus a grace for
 *    cron jitter and run time), with a valid manifest MAC;
 *  - replication: that backup is also on S3 within the allowed lag (and is copied if not);
 *  - sampling: one asset per run (rotating) has its newest backup decrypted and hashed;
 *  - health: that backup is not much slower or smaller than the ones before it (backupHealth.ts).
 */
import { openArtifact } from "../lib/backup/artifacts";
import { findLatest, objectExists } from "../lib/backup/catalog";
import type { BackupPlan, PlanAsset } from "../lib/backup/plan";
import type { AlertEvent } from "../lib/alerts/alerts";
import type { MasterKey } from "../lib/format/keys";
import type { Manifest } from "../lib/format/manifest";
import type { BackupStorage } from "../lib/storage/types";
import { healthFindings } from "./backupHealth";
import type { Destinations } from "./engine/destinations";

export type Finding = Omit<AlertEvent, "stack" | "at">;

export interface WatchdogOptions {
  readonly now: Date;
  /** Asset to sample; default rotates through the plan by the hour. */
  readonly sample?: string;
  /** Stop sampling after this many plaintext bytes. */
  readonly sampleMaxBytes?: number;
  /** Queues the copy of a committed backup to S3 (the runner's scheduleReplication). */
  readonly replicate?: (m: Manifest, key: string) => Promise<boolean>;
  /** Bookkeeping to do once the findings' alerts are delivered (backupHealth.ts's notes). */
  readonly afterDelivery?: Array<() => Promise<void>>;
}

const id = (a: PlanAsset) => `${a.kind}/${a.name}`;

export async function verifyBackupData(storage: BackupStorage, master: MasterKey, m: Manifest, maxBytes: number): Promise<number> {
  let bytes = 0;
  for (const a of m.artifacts) {
    if (bytes >= maxBytes) break;
    const stream = await openArtifact(storage, master, a);
    for await (const part of stream as unknown as AsyncIterable<Uint8Array>) bytes += part.byteLength;
  }
  return bytes;
}

async function checkAsset(plan: BackupPlan, asset: PlanAsset, dest: Destinations, master: MasterKey, o: WatchdogOptions, sample: boolean): Promise<Finding[]> {
  const out: Finding[] = [];
  const found = await findLatest(dest.r2, master, asset);
  // Manifests or pointers that fail verification were skipped; each is reported.
  for (const problem of found?.rejected ?? []) out.push({ kind: "verification-failed", severity: "critical", asset: id(asset), error: problem, lastGoodBackup: null });
  if (!found?.manifest) {
    return [...out, { kind: "backup-stale", severity: "critical", asset: id(asset), error: found ? "no committed backup verifies" : "no committed backup exists", lastGoodBackup: null }];
  }
  const { manifest: m, key } = found;
  const last = m.sourcePointInTime;
  const ageMin = (o.now.getTime() - Date.parse(last)) / 60_000;
  if (ageMin > asset.rpoMinutes + plan.alerts.staleGraceMinutes) {
    out.push({ kind: "backup-stale", severity: "critical", asset: id(asset), error: `newest backup is ${Math.round(ageMin)} min old; RPO is ${asset.rpoMinutes} min`, lastGoodBackup: last });
  }
  out.push(...(await healthFindings(dest.r2, master, asset, m, o.afterDelivery)));
  try {
    if (sample) await verifyBackupData(dest.r2, master, m, o.sampleMaxBytes ?? 64 * 1024 * 1024);
  } catch (err) {
    out.push({ kind: "verification-failed", severity: "critical", asset: id(asset), error: `${key}: ${(err as Error).message}`, lastGoodBackup: null });
  }
  if (dest.s3?.read) {
    const onS3 = await objectExists(dest.s3.read, key).catch(() => null);
    const lagMin = (o.now.getTime() - Date.parse(m.completedAt)) / 60_000;
    if (!onS3 && lagMin > plan.alerts.replicationLagMinutes) {
      const queued = await o.replicate?.(m, key).catch((err: Error) => {
        out.push({ kind: "replication-failed", severity: "critical", asset: id(asset), error: err.message, lastGoodBackup: last });
        return false;
      });
      const next = queued ? "its copy is queued now" : "it will be copied once the asset's running job ends";
      out.push({ kind: "replication-lag", severity: "warning", asset: id(asset), error: `backup ${m.backupId} committed ${Math.round(lagMin)} min ago is not on S3 yet; ${next}`, lastGoodBackup: last });
    }
  }
  return out;
}

export async function runWatchdog(plan: BackupPlan, dest: Destinations, master: MasterKey, o: WatchdogOptions): Promise<Finding[]> {
  const assets = plan.assets;
  const rotating = assets[Math.floor(o.now.getTime() / 3_600_000) % Math.max(1, assets.length)];
  const sampleId = o.sample ?? (rotating ? id(rotating) : undefined);
  const findings: Finding[] = [];
  for (const asset of assets) {
    try {
      findings.push(...(await checkAsset(plan, asset, dest, master, o, id(asset) === sampleId)));
    } catch (err) {
      findings.push({ kind: "verification-failed", severity: "critical", asset: id(asset), error: `watchdog could not check: ${(err as Error).message}`, lastGoodBackup: null });
    }
  }
  return findings;
}
