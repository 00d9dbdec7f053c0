/** Backups run often enough for each asset's allowed RPO. */
import type { StackValidationPolicy } from "@pulumi/policy";
import { CronExpressionParser } from "cron-parser";
import { assetId, backupWorkers } from "./backupPlan";
import { ASSET_ID_PATTERN, ASSET_KINDS, positiveInteger } from "./configSchemas";

/** Longest gap in minutes between consecutive firings of `crons` over a full week (UTC). */
export function longestGapMinutes(crons: readonly string[]): number {
  const key = crons.join("\n");
  let gap = gaps.get(key);
  if (gap === undefined) gaps.set(key, (gap = dailyGap(crons) ?? longestGapByStepping(crons)));
  return gap;
}

/** Assets often share a cron (hourly); the pack process computes each schedule once. */
const gaps = new Map<string, number>();

/**
 * Crons that fire alike every day (day of month, month and weekday all `*`, whole minutes): the
 * longest gap follows from the minutes of the day, wrapping past midnight. null for any other
 * cron. Stepping cron-parser through a week of a 15-minute cron took most of the gate's
 * analysis time; tests hold this to the stepping result.
 */
export function dailyGap(crons: readonly string[]): number | null {
  const minutes = new Set<number>();
  for (const cron of crons) {
    const { fields } = CronExpressionParser.parse(cron, { tz: "UTC" });
    const everyDay = fields.dayOfMonth.isWildcard && fields.month.isWildcard && fields.dayOfWeek.isWildcard;
    if (!everyDay || fields.second.values.join() !== "0") return null;
    for (const h of fields.hour.values) for (const m of fields.minute.values) minutes.add(h * 60 + m);
  }
  const day = [...minutes].sort((a, b) => a - b);
  if (!day.length) return null;
  let longest = (day[0] as number) + 1440 - (day[day.length - 1] as number);
  for (let i = 1; i < day.length; i++) longest = Math.max(longest, (day[i] as number) - (day[i - 1] as number));
  return longest;
}

/**
 * Any cron: each is walked through the week and up to its first firing after it (the firing
 * that ends the week's last gap). A cron that fires at most once in two weeks has an infinite
 * gap, even when that firing falls after the first week.
 */
export function longestGapByStepping(crons: readonly string[]): number {
  const start = Date.UTC(2026, 0, 5); // a Monday
  const week = 7 * 86_400_000;
  const times: number[] = [];
  for (const cron of crons) {
    const it = CronExpressionParser.parse(cron, { currentDate: new Date(start - 60_000), endDate: new Date(start + 2 * week), tz: "UTC" });
    for (;;) {
      let t: number;
      try {
        // next() throws past endDate; hasNext() would compute each firing twice.
        t = it.next().getTime();
      } catch {
        break;
      }
      times.push(t);
      if (t >= start + week) break;
    }
  }
  const sorted = [...new Set(times)].sort((a, b) => a - b);
  if (sorted.length < 2 || (sorted[0] as number) >= start + week) return Number.POSITIVE_INFINITY;
  let longest = 0;
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1] as number;
    if (prev >= start + week) break;
    longest = Math.max(longest, (sorted[i] as number) - prev);
  }
  return longest / 60_000;
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
