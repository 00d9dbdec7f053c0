/** Neon's point-in-time restore window is at least the minimum. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { is, T } from "./resources";
import { positiveInteger } from "./configSchemas";

export const neonRestoreWindow: ResourceValidationPolicy = {
  name: "neon-restore-window",
  description:
    "The Neon restore window (history_retention_seconds, applied by the NeonPitr command or any command setting NEON_HISTORY_RETENTION_SECONDS) must be at least the minimum number of days: it bounds how far back a point-in-time restore can go.",
  enforcementLevel: "mandatory",
  // Neon's restore window is at most 30 days: a higher minimum could never be met.
  configSchema: { properties: { minDays: positiveInteger("Minimum restore window, days (Neon allows 1-30).", { maximum: 30, default: 7 }) } },
  validateResource: (args, report) => {
    const { minDays } = args.getConfig<{ minDays: number }>();
    let seconds: number | undefined;
    if (is(args, T.neonComponent)) seconds = Number(args.props.historyRetentionSeconds);
    else if (is(args, T.command)) {
      const env = args.props.environment as Record<string, string> | undefined;
      if (!env || env.NEON_HISTORY_RETENTION_SECONDS === undefined) return;
      seconds = Number(env.NEON_HISTORY_RETENTION_SECONDS);
    } else return;
    if (!(seconds >= minDays * 86_400)) {
      report(`Neon restore window is ${seconds / 86_400} days; the minimum is ${minDays}. Set drposture:neon.restoreWindowDays to ${minDays} or more.`);
    }
  },
};
