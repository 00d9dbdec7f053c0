/**
 * `healthAlerts` on an asset: when the watchdog calls a backup unhealthy against the backups
 * before it (lib/backup/health.ts). Defaults: 3x slower than the median of the last 10, or
 * items or bytes down by more than 50% against the previous backup. `false` turns one off.
 */
import { z } from "zod";
import { DEFAULT_HEALTH_THRESHOLDS, type HealthThresholds } from "../backup/health";

export const healthAlertsConfig = z
  .strictObject({
    slowdownFactor: z
      .union([z.number().min(1.5, { error: "must be >= 1.5 (a backup's duration varies by more than that from run to run) or false" }).max(100), z.literal(false)], {
        error: "must be a number from 1.5 to 100, or false to turn the check off",
      })
      .optional()
      .meta({ description: `Alert when a backup takes more than this many times the median duration of the last 10 of its kind, and at least 60 s more (false: never). Default ${DEFAULT_HEALTH_THRESHOLDS.slowdownFactor}.` }),
    shrinkPercent: z
      .union([z.number().int().min(1).max(99, { error: "must be <= 99 (a drop of 100% or more cannot happen; use false to turn the check off)" }), z.literal(false)], {
        error: "must be a whole percentage from 1 to 99, or false to turn the check off",
      })
      .optional()
      .meta({ description: `Alert when a backup's item count (rows, keys, objects) or bytes fall by more than this percentage against the previous backup (false: never). Default ${DEFAULT_HEALTH_THRESHOLDS.shrinkPercent}.` }),
  })
  .optional()
  .meta({ description: "Backup health alerts of this asset (backup-slow, backup-shrank)." });

export function healthThresholds(c: z.output<typeof healthAlertsConfig>): HealthThresholds {
  return {
    slowdownFactor: c?.slowdownFactor ?? DEFAULT_HEALTH_THRESHOLDS.slowdownFactor,
    shrinkPercent: c?.shrinkPercent ?? DEFAULT_HEALTH_THRESHOLDS.shrinkPercent,
  };
}
