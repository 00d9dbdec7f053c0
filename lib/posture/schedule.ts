/**
 * Backup schedules derived from RPO. Intervals are chosen from values that divide an hour or a
 * day evenly, so the gap between consecutive firings is uniform (a cron like `0 *\/5 * * *` would
 * leave a 4 h gap at midnight and a 5 h gap elsewhere).
 */
export const BACKUP_INTERVALS_MINUTES = [5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440] as const;

/** Minute past the hour at which daily backups run: off the top of the hour, where most
 * scheduled jobs (and the primary's own maintenance) pile up. */
export const DAILY_BACKUP_MINUTE = 17;

/** The longest evenly-dividing interval that still meets the RPO. */
export function backupIntervalMinutes(rpoMinutes: number): number {
  let chosen: number = BACKUP_INTERVALS_MINUTES[0];
  for (const interval of BACKUP_INTERVALS_MINUTES) if (interval <= rpoMinutes) chosen = interval;
  if (chosen > rpoMinutes) throw new Error(`RPO of ${rpoMinutes} min is below the shortest backup interval (${chosen} min)`);
  return chosen;
}

/** Cron expression (UTC, Cloudflare syntax) that fires every `intervalMinutes`. */
export function cronForInterval(intervalMinutes: number, dailyHourUtc = 2): string {
  if (intervalMinutes < 60) return `*/${intervalMinutes} * * * *`;
  if (intervalMinutes === 60) return `0 * * * *`;
  if (intervalMinutes < 1440) return `0 */${intervalMinutes / 60} * * *`;
  return `${DAILY_BACKUP_MINUTE} ${dailyHourUtc} * * *`;
}

export interface CronGroup {
  /** Cloudflare cron expression. */
  readonly cron: string;
  /** Asset ids ("kind/name") backed up when this cron fires. */
  readonly assets: readonly string[];
}

/** The minimal set of cron triggers: one per distinct schedule, each listing its assets. */
export function groupByCron(assets: ReadonlyArray<{ id: string; backupCron: string }>): CronGroup[] {
  const groups = new Map<string, string[]>();
  for (const a of assets) groups.set(a.backupCron, [...(groups.get(a.backupCron) ?? []), a.id]);
  return [...groups.entries()]
    .map(([cron, ids]) => ({ cron, assets: ids.sort() }))
    .sort((x, y) => x.cron.localeCompare(y.cron));
}
