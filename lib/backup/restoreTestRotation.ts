/**
 * Which asset a restore-test firing tests. The rotation is the plan's D1, KV and R2 assets and
 * its Neon assets (PITR branch tests), in plan order; the firing at time t tests entry
 * floor(t / period) mod n. It is derived from the clock Cloudflare passes (scheduledTime), so
 * there is no rotation state to lose or tamper with, and each asset is tested every
 * n * periodHours hours, which the schedule keeps at or under everyDays.
 */
import type { BackupPlan, PlanAsset } from "./plan";

/** Cron periods that divide a day evenly, in hours (a cron step that does not divide 24 drifts). */
export const ROTATION_PERIODS_HOURS = [1, 2, 3, 4, 6, 8, 12, 24] as const;
/** Minute past the hour restore tests start: away from backups at :00, :15, :30 and :45. */
export const RESTORE_TEST_MINUTE = 41;

export class RestoreTestScheduleError extends Error {
  override readonly name = "RestoreTestScheduleError";
}

/** The longest cron period that still tests each of `assets` within `everyDays`. */
export function restoreTestSchedule(everyDays: number, assets: number): { cron: string; periodHours: number } {
  const fits = ROTATION_PERIODS_HOURS.filter((p) => Math.max(1, assets) * p <= everyDays * 24);
  const periodHours = fits[fits.length - 1];
  if (periodHours === undefined) {
    throw new RestoreTestScheduleError(`${assets} assets cannot each be restore-tested within ${everyDays} day(s) at one test per hour; raise everyDays to at least ${Math.ceil(assets / 24)}`);
  }
  const cron = periodHours === 24 ? `${RESTORE_TEST_MINUTE} 3 * * *` : `${RESTORE_TEST_MINUTE} ${periodHours === 1 ? "*" : `*/${periodHours}`} * * *`;
  return { cron, periodHours };
}

/** The assets restore tests cover, in the order they are tested. */
export function restoreTestRotation(plan: Pick<BackupPlan, "assets" | "neon">): PlanAsset[] {
  return plan.assets.filter((a) => a.kind === "d1" || a.kind === "kv" || a.kind === "r2" || (a.kind === "neon" && plan.neon));
}

/** The asset the firing at `scheduledTime` (ms since the epoch) tests, or null if none. */
export function dueForRestoreTest(plan: Pick<BackupPlan, "assets" | "neon" | "restoreTesting">, scheduledTime: number): PlanAsset | null {
  const rt = plan.restoreTesting;
  const rotation = restoreTestRotation(plan);
  if (!rt || !rotation.length) return null;
  const slot = Math.floor(scheduledTime / (rt.periodHours * 3_600_000));
  return rotation[slot % rotation.length] ?? null;
}
