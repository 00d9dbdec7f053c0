/**
 * Restore tests that stopped happening: a cron trigger removed by hand, a rotation that stalls
 * on one stuck asset, a Worker that fails before it starts a test, a test whose state was
 * deleted through the bucket's token (it ends without a word). On each restore-test firing,
 * every asset of the rotation must have a genuine result (passed or not: a failure alerted
 * already) finished within one rotation plus a period; an asset whose backups are older than
 * that and that has no such result raises `restore-test-stale`. Forged, unsealed or relocated
 * results do not count (readRestoreTestReports).
 */
import type { AlertEvent } from "../../lib/alerts/alerts";
import { listBackups } from "../../lib/backup/catalog";
import { readRestoreTestReports } from "../../lib/backup/restoreTestReport";
import { restoreTestRotation } from "../../lib/backup/restoreTestRotation";
import { importMasterKey } from "../../lib/format/keys";
import { backupIdTime } from "../../lib/format/layout";
import { destinations } from "../engine/destinations";
import type { Env } from "../env";

const HOUR = 3_600_000;

export async function staleRestoreTests(env: Env, now: Date): Promise<AlertEvent[]> {
  const plan = env.BACKUP_PLAN;
  const rt = plan.restoreTesting;
  if (!rt) return [];
  const store = destinations(env).r2;
  const master = await importMasterKey(env.ENCRYPTION_KEY);
  const rotation = restoreTestRotation(plan);
  // Each asset's turn comes once per rotation: one rotation, one more period and the time a
  // test may run before it is abandoned, and a result must have come.
  const allowedMs = (rotation.length + 1) * rt.periodHours * HOUR + plan.abandonAfterMinutes * 60_000;
  const since = new Date(now.getTime() - allowedMs);
  const out: AlertEvent[] = [];
  for (const a of rotation) {
    const id = `${a.kind}/${a.name}`;
    const { reports } = await readRestoreTestReports(store, master, a, since);
    if (reports.some((r) => Date.parse(r.finishedAt) >= since.getTime())) continue;
    // Only an asset that has had backups for longer than the interval is overdue.
    const oldest = (await listBackups(store, a)).map((r) => backupIdTime(r.backupId).getTime()).sort((x, y) => x - y)[0];
    if (oldest === undefined || oldest > since.getTime()) continue;
    out.push({
      kind: "restore-test-stale",
      severity: "warning",
      stack: plan.stack,
      asset: id,
      error: `no restore test of ${id} finished in the last ${(allowedMs / 3_600_000).toFixed(1)} h (its turn comes every ${rotation.length * rt.periodHours} h, cron "${rt.cron}"; at least every ${rt.everyDays} day(s) declared): check the Worker's cron trigger and its logs`,
      lastGoodBackup: null,
      at: now.toISOString(),
    });
  }
  return out;
}
