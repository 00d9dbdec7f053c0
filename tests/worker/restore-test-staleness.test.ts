/**
 * Restore tests that stopped happening raise `restore-test-stale` on the next restore-test
 * firing: an asset with backups older than one rotation (+ one period) and no genuine result in
 * that time. A recent result (passed or failed) counts; a planted, unsealed one does not; an
 * asset whose backups are all younger than the interval is not overdue yet.
 */
import { env, reset } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { restoreTestSchedule } from "../../lib/backup/restoreTestRotation";
import { runDueRestoreTest } from "../../worker/restoreTest/handlers";
import { backupNow, testEnv } from "./helpers";
import { restoreTestNow } from "./restoreTestDriver";
import { seedSessions, seedUploads } from "./seeds";

const DAY = 86_400_000;

describe("stale restore tests", () => {
  beforeEach(async () => {
    await reset();
  });

  it("an asset backed up for longer than the interval with no restore test is named; a fresh result clears it; a forged one does not", async () => {
    await seedSessions(env.KV_SESSIONS, 5);
    await seedUploads(env.R2_USER_UPLOADS);
    const schedule = restoreTestSchedule(1, 3);
    const e = testEnv({ plan: { restoreTesting: { everyDays: 1, ...schedule } } });
    const now = new Date();
    // Backups from three days ago: long enough that a test should have happened.
    await backupNow(e, "kv/sessions", { now: () => new Date(now.getTime() - 3 * DAY) });
    // A backup from today only: not overdue yet.
    await backupNow(e, "r2/user-uploads");
    // Slot of d1/app-db (no backup, nothing to test): the firing still checks the others.
    const d1Slot = Math.floor(now.getTime() / (schedule.periodHours * 3_600_000) / 3) * 3 * schedule.periodHours * 3_600_000;
    const firing = async () => (await runDueRestoreTest(e, d1Slot, now)).filter((a) => a.kind === "restore-test-stale");

    const stale = await firing();
    expect(stale.map((a) => a.asset)).toEqual(["kv/sessions"]);
    expect(stale[0]).toMatchObject({ severity: "warning", stack: "test" });
    expect(stale[0]!.error).toMatch(/no restore test of kv\/sessions finished in the last 32\.5 h \(its turn comes every 24 h/);

    // Planted through the bucket's token: not sealed, so not a test.
    await env.BACKUP_R2.put(`_reports/restore-tests/kv/sessions/${now.toISOString().replace(/[:.]/g, "-")}-forged.json`, JSON.stringify({ passed: true, finishedAt: now.toISOString() }));
    expect((await firing()).map((a) => a.asset)).toEqual(["kv/sessions"]);

    const t = await restoreTestNow(e, "kv/sessions");
    expect(t.result?.passed).toBe(true);
    expect(await firing()).toEqual([]);
  });
});
