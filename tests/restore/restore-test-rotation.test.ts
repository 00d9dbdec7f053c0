/**
 * The restore-test schedule: the longest cron period that still tests every asset within
 * everyDays, and which asset each firing tests (from Cloudflare's scheduledTime, no state).
 */
import { CronExpressionParser } from "cron-parser";
import { describe, expect, it } from "vitest";
import type { BackupPlan, PlanAsset } from "../../lib/backup/plan";
import { dueForRestoreTest, restoreTestRotation, restoreTestSchedule, RestoreTestScheduleError } from "../../lib/backup/restoreTestRotation";

const asset = (kind: PlanAsset["kind"], name: string): PlanAsset => ({ kind, name, sourceId: name, rpoMinutes: 60, cron: "0 * * * *", priority: 1 });
const HOUR = 3_600_000;

describe("restore-test schedule", () => {
  it("picks the longest period that divides a day and fits the rotation in everyDays", () => {
    expect(restoreTestSchedule(7, 3)).toEqual({ cron: "41 3 * * *", periodHours: 24 });
    expect(restoreTestSchedule(7, 7)).toEqual({ cron: "41 3 * * *", periodHours: 24 });
    expect(restoreTestSchedule(7, 8)).toEqual({ cron: "41 */12 * * *", periodHours: 12 });
    expect(restoreTestSchedule(1, 5)).toEqual({ cron: "41 */4 * * *", periodHours: 4 });
    expect(restoreTestSchedule(1, 24)).toEqual({ cron: "41 * * * *", periodHours: 1 });
    expect(() => restoreTestSchedule(1, 25)).toThrow(RestoreTestScheduleError);
    expect(() => restoreTestSchedule(1, 25)).toThrow(/raise everyDays to at least 2/);
  });

  it("every cron it derives fires on its period, so n firings cover the rotation within everyDays", () => {
    for (const [days, n] of [[7, 3], [7, 9], [30, 40], [2, 13], [1, 1]] as const) {
      const { cron, periodHours } = restoreTestSchedule(days, n);
      const it = CronExpressionParser.parse(cron, { currentDate: new Date("2026-01-05T00:00:00Z"), tz: "UTC" });
      const times = Array.from({ length: 30 }, () => it.next().getTime());
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(periodHours * HOUR);
      expect(n * periodHours).toBeLessThanOrEqual(days * 24);
    }
  });

  it("consecutive firings test each asset of the rotation in turn; Neon only with a Neon target", () => {
    const assets = [asset("d1", "app-db"), asset("kv", "sessions"), asset("neon", "main"), asset("r2", "uploads")];
    const plan = { assets, restoreTesting: { everyDays: 7, cron: "41 3 * * *", periodHours: 24 } } as Pick<BackupPlan, "assets" | "neon" | "restoreTesting">;
    expect(restoreTestRotation(plan).map((a) => a.name)).toEqual(["app-db", "sessions", "uploads"]);
    const withNeon = { ...plan, neon: { projectId: "p", branchId: "b", apiUrl: "u", restoreWindowDays: 7 } };
    const start = Date.parse("2026-11-23T03:41:00Z");
    const seen = Array.from({ length: 8 }, (_, i) => dueForRestoreTest(withNeon, start + i * 24 * HOUR)?.name);
    expect(new Set(seen.slice(0, 4))).toEqual(new Set(["app-db", "sessions", "main", "uploads"]));
    expect(seen.slice(4)).toEqual(seen.slice(0, 4));
    expect(dueForRestoreTest({ ...plan, restoreTesting: undefined }, start)).toBeNull();
  });
});
