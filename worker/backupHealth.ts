/**
 * The watchdog's health check: the newest committed backup of an asset against the baseline
 * its manifest carries (lib/backup/health.ts). A finding is raised once per backup: a sealed
 * note under _state/health/ names the last backup alerted on, so a daily backup that shrank
 * is not reported again at every cron firing until the next one. The Worker writes the note only
 * after the alerts were delivered (worker/index.ts). The note is read only when
 * there is something to report; a deleted or forged note means one more alert, never fewer.
 */
import { assessHealth, DEFAULT_HEALTH_THRESHOLDS } from "../lib/backup/health";
import type { PlanAsset } from "../lib/backup/plan";
import type { MasterKey } from "../lib/format/keys";
import { STATE_PREFIX } from "../lib/format/layout";
import type { Manifest } from "../lib/format/manifest";
import { openState, sealState } from "../lib/format/sealedState";
import { getText, type BackupStorage } from "../lib/storage/types";
import type { Finding } from "./watchdog";

const noteKey = (a: PlanAsset) => `${STATE_PREFIX}health/${a.kind}/${a.name}.json`;
const purpose = (a: PlanAsset) => `health:${a.kind}/${a.name}`;

interface HealthNote {
  /** The backup whose findings were last reported. */
  readonly alerted: string;
}

/**
 * The findings to raise for `m`, once. With `afterDelivery`, the note that they were raised is
 * queued there for the caller to write once the alerts are delivered (a failed delivery leaves no
 * note, so the next run raises them again); without it, the note is written at once.
 */
export async function healthFindings(storage: BackupStorage, master: MasterKey, asset: PlanAsset, m: Manifest, afterDelivery?: Array<() => Promise<void>>): Promise<Finding[]> {
  const found = assessHealth(m, asset.health ?? DEFAULT_HEALTH_THRESHOLDS);
  if (!found.length) return [];
  const key = noteKey(asset);
  const text = await getText(storage, key);
  const note = text ? await openState<HealthNote>(master, purpose(asset), text, `${storage.label}/${key}`).catch(() => null) : null;
  if (note?.alerted === m.backupId) return [];
  const writeNote = async () => void (await storage.put(key, await sealState<HealthNote>(master, purpose(asset), { alerted: m.backupId }), { contentType: "application/json" }));
  if (afterDelivery) afterDelivery.push(writeNote);
  else await writeNote();
  return found.map((f) => ({
    kind: f.kind,
    // A source emptied (by a bug or an attacker) is data loss in the making; slowness is a warning.
    severity: f.kind === "backup-shrank" ? "critical" : "warning",
    asset: `${asset.kind}/${asset.name}`,
    error: f.message,
    lastGoodBackup: m.sourcePointInTime,
    details: f.details,
  }));
}
