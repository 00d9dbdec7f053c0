/** Backups run often enough for each asset's allowed RPO. */
import type { StackValidationPolicy } from "@pulumi/policy";
import { CronExpressionParser } from "cron-parser";
import { assetId, backupWorkers } from "./backupPlan";
import { ASSET_ID_PATTERN, ASSET_KINDS, positiveInteger } from "./configSchemas";

/** Longest gap in minutes between consecutive firings of `crons` over a full week (UTC). */
export function longestGapMinutes(crons: readonly string[]): number {
  const start = Date.UTC(2026, 0, 5); // a Monday
  const week = 7 * 86_400_000;
  const times: number[] = [];
  for (const cron of crons) {
    const it = CronExpressionParser.parse(cron, { currentDate: new Date(start - 60_000), endDate: new Date(start + 2 * week), tz: "UTC" });
    while (it.hasNext()) {
      const t = it.next().getTime();
      times.push(t);
      if (t > start + 2 * week) break;
    }
  }
  const sorted = [...new Set(times)].sort((a, b) => a - b);
  let longest = 0;
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1] as number;
    if (prev >= start + week) break;
    longest = Math.max(longest, (sorted[i] as number) - prev);
  }
  return sorted.length < 2 ? Number.POSITIVE_INFINITY : longest / 60_000;
}

export interface FrequencyConfig {
  maxRpoMinutes: Record<string, number>;
  assetMaxRpoMinutes: Record<string, number>;
}

export const backupFrequencyMeetsRpo: StackValidationPolicy = {
  name: "backup-frequency-meets-rpo",
  description:
    "For every asset a backup Worker protects, the longest gap between consecutive firings of the cron triggers that back it up (over a full week) must not exceed the RPO the organisation allows for that asset kind (or that asset).",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      maxRpoMinutes: {
        type: "object",
        properties: Object.fromEntries(ASSET_KINDS.map((k) => [k, positiveInteger(`Allowed RPO of ${k} assets, minutes.`)])),
        additionalProperties: false,
        default: { d1: 60, kv: 60, r2: 60, neon: 1440 },
        description: "Allowed RPO per asset kind, minutes.",
      },
      assetMaxRpoMinutes: {
        type: "object",
        propertyNames: { pattern: ASSET_ID_PATTERN },
        additionalProperties: positiveInteger("Allowed RPO of this asset, minutes."),
        default: {},
        description: "Tighter allowed RPO for named assets (\"kind/name\"), minutes.",
      },
    },
  },
  validateStack: (args, report) => {
    const cfg = args.getConfig<FrequencyConfig>();
    for (const w of backupWorkers(args.resources)) {
      for (const a of w.plan?.assets ?? []) {
        const id = assetId(a);
        const allowed = cfg.assetMaxRpoMinutes?.[id] ?? cfg.maxRpoMinutes?.[a.kind];
        if (allowed === undefined) continue;
        const where = w.triggers[0]?.urn ?? w.script.urn;
        const crons = w.crons.includes(a.cron) ? [a.cron] : [];
        if (!crons.length) {
          report(`${id} is planned on cron "${a.cron}", but the Worker ${w.script.props.scriptName} has no such cron trigger (it has: ${w.crons.join(", ") || "none"}); it is never backed up. Add the trigger.`, where);
          continue;
        }
        let gap: number;
        try {
          gap = longestGapMinutes(crons);
        } catch (err) {
          report(`${id}: cron "${a.cron}" does not parse (${(err as Error).message}).`, where);
          continue;
        }
        if (gap > allowed) {
          report(
            `${id} is backed up at most every ${gap} min (cron "${a.cron}"), but the allowed RPO is ${allowed} min. Set its rpoMinutes to ${allowed} or less so the Worker's schedule tightens.`,
            where,
          );
        }
      }
    }
  },
};
