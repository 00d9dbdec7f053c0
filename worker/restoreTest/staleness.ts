/**
 * Restore tests that stopped happening: a cron trigger removed by hand, a rotation that stalls
 * on one stuck asset, a Worker that fails before it starts a test. On each restore-test firing,
 * every asset of the rotation must have a sealed result (passed or not: a failure alerted
 * already) finished within everyDays plus one period; an asset whose backups are older than
 * that and that has no such result raises `restore-test-stale`. Forged or unsealed results do
 * not count.
 */
import type { AlertEvent } from "../../lib/alerts/alerts";
import { listBackups } from "../../lib/backup/catalog";
import { RESTORE_TEST_REPORTS_PREFIX, restoreTestPurpose, type RestoreTestResult } from "../../lib/backup/restoreTestReport";
import { restoreTestRotation } from "../../lib/backup/restoreTestRotation";
import { importMasterKey, type MasterKey } from "../../lib/format/keys";
import { backupIdTime } from "../../lib/format/layout";
import { openState } from "../../lib/format/sealedState";
import { getText, type BackupStorage } from "../../lib/storage/types";
import { destinations } from "../engine/destinations";
import type { Env } from "../env";

const HOUR = 3_600_000;
const keyTime = (d: Date) => d.toISOString().replace(/[:.]/g, "-");

/** The newest sealed result of `id` finished at or after `since`, if any. */
async function newestResult(store: BackupStorage, master: MasterKey, id: string, since: Date): Promise<RestoreTestResult | null> {
  const prefix = `${RESTORE_TEST_REPORTS_PREFIX}${id}/`;
  let newest: RestoreTestResult | null = null;
  // Result keys start with their finishing time: only the recent ones are listed.
  for await (const o of store.list(prefix, { startAfter: `${prefix}${keyTime(since)}` })) {
    const text = await getText(store, o.key);
    const r = text ? await openState<RestoreTestResult>(master, restoreTestPurpose(id), text, o.key).catch(() => null) : null;
    if (r && Date.parse(r.finishedAt) >= since.getTime() && (!newest || r.finishedAt > newest.finishedAt)) newest = r;
  }
  return newest;
}

export async function staleRestoreTests(env: Env, now: Date): Promise<AlertEvent[]> {
  const plan = env.BACKUP_PLAN;
  const rt = plan.restoreTesting;
  if (!rt) return [];
  const store = destinations(env).r2;
  const master = await importMasterKey(env.ENCRYPTION_KEY);
  const allowedMs = rt.everyDays * 24 * HOUR + rt.periodHours * HOUR + plan.abandonAfterMinutes * 60_000;
  const since = new Date(now.getTime() - allowedMs);
  const out: AlertEvent[] = [];
  for (const a of restoreTestRotation(plan)) {
    const id = `${a.kind}/${a.name}`;
    if (await newestResult(store, master, id, since)) continue;
    // Only an asset that has had backups for longer than the interval is overdue.
    const oldest = (await listBackups(store, a)).map((r) => backupIdTime(r.backupId).getTime()).sort((x, y) => x - y)[0];
    if (oldest === undefined || oldest > since.getTime()) continue;
    out.push({
      kind: "restore-test-stale",
      severity: "warning",
      stack: plan.stack,
      asset: id,
      error: `no restore test of ${id} finished in the last ${(allowedMs / 86_400_000).toFixed(1)} days (every ${rt.everyDays} day(s) declared, cron "${rt.cron}"): check the Worker's cron trigger and its logs`,
      lastGoodBackup: null,
      at: now.toISOString(),
    });
  }
  return out;
}
