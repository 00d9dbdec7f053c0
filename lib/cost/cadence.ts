/**
 * How often things happen, read off the crons the product derives (lib/posture/schedule.ts,
 * lib/backup/restoreTestRotation.ts), and which tier a backup lands in (lib/backup/catalog.ts
 * chooseTier: the first backup of a UTC month is monthly, the first of an ISO week weekly, the
 * rest daily). Plain arithmetic, no imports: the policy pack loads it too.
 */

/** Average days in a month (365.25 / 12): monthly figures are per average month. */
export const DAYS_PER_MONTH = 30.4375;

export class CronShapeError extends Error {
  override readonly name = "CronShapeError";
}

/** Firings a day of the cron shapes drposture emits: "*\/N * * * *", "M * * * *", "M *\/H * * *", "M H * * *". */
export function firingsPerDay(cron: string): number {
  const f = cron.trim().split(/\s+/);
  const [min, hour, dom, mon, dow] = f;
  if (f.length !== 5 || dom !== "*" || mon !== "*" || dow !== "*") throw new CronShapeError(`cron "${cron}" is not one drposture derives`);
  const step = (s: string | undefined) => (s && /^\*\/\d+$/.test(s) ? Number(s.slice(2)) : null);
  const minuteStep = step(min);
  if (minuteStep && hour === "*") return (60 / minuteStep) * 24;
  if (!/^\d+$/.test(min ?? "")) throw new CronShapeError(`cron "${cron}" is not one drposture derives`);
  if (hour === "*") return 24;
  const hourStep = step(hour);
  if (hourStep) return 24 / hourStep;
  if (/^\d+$/.test(hour ?? "")) return 1;
  throw new CronShapeError(`cron "${cron}" is not one drposture derives`);
}

export interface TierRates {
  /** Backups a day landing in each tier (averages over a year). */
  readonly daily: number;
  readonly weekly: number;
  readonly monthly: number;
}

/** chooseTier's split: 12 monthly backups a year; a weekly one each ISO week except the
 * weeks whose first backup is the month's (a month starting on a Monday, 12/7 a year). */
export function tierRates(backupsPerDay: number): TierRates {
  const monthly = 12 / 365.25;
  const weekly = (365.25 / 7 - 12 / 7) / 365.25;
  return { monthly, weekly, daily: Math.max(0, backupsPerDay - monthly - weekly) };
}

/** E[min(cap, perDay × a)] for an age a uniform on [0, periodDays]: distinct items changed
 * since an anchor that recurs every periodDays. */
export function changedSinceAnchor(perDay: number, cap: number, periodDays: number): number {
  if (perDay <= 0 || cap <= 0) return 0;
  const full = cap / perDay;
  if (full >= periodDays) return (perDay * periodDays) / 2;
  return ((full / periodDays) * cap) / 2 + ((periodDays - full) / periodDays) * cap;
}
