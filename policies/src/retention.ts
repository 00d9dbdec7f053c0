/** No lifecycle rule deletes backups before their tier's minimum retention. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { is, T, tiersCovered, type Tier } from "./resources";
import { daysPerTier } from "./configSchemas";

interface Rule {
  id: string;
  enabled: boolean;
  prefix: string | undefined;
  expiresAfterDays: number | undefined;
  expiresOnDate: string | undefined;
}

function s3Rules(props: Record<string, any>, inline: boolean): Rule[] {
  const rules = (inline ? props.lifecycleRules : props.rules) as Array<Record<string, any>> | undefined;
  return (rules ?? []).map((r, i) => {
    const prefix = r.filter?.prefix ?? r.filter?.and?.prefix ?? r.prefix;
    const exp = Array.isArray(r.expiration) ? r.expiration[0] : r.expiration;
    return {
      id: String(r.id ?? i),
      enabled: inline ? r.enabled !== false : r.status === "Enabled",
      prefix: prefix === undefined ? undefined : String(prefix),
      expiresAfterDays: exp?.days === undefined ? undefined : Number(exp.days),
      expiresOnDate: exp?.date,
    };
  });
}

function r2Rules(props: Record<string, any>): Rule[] {
  return ((props.rules ?? []) as Array<Record<string, any>>).map((r, i) => {
    const c = r.deleteObjectsTransition?.condition;
    return {
      id: String(r.id ?? i),
      enabled: r.enabled !== false,
      prefix: r.conditions?.prefix === undefined ? undefined : String(r.conditions.prefix),
      expiresAfterDays: c?.type === "Age" && c.maxAge !== undefined ? Number(c.maxAge) / 86_400 : undefined,
      expiresOnDate: c?.type === "Date" ? c.date : undefined,
    };
  });
}

export const retentionMinimums: ResourceValidationPolicy = {
  name: "retention-minimums",
  description:
    "Every lifecycle rule on the S3 and R2 backup buckets that expires objects must keep each tier (daily/, weekly/, monthly/) at least its minimum; a rule without a prefix, or with a broader one, counts for every tier it reaches. Date-based expiry is not allowed on backups.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      minDays: daysPerTier("Minimum days each tier is kept.", { daily: 7, weekly: 28, monthly: 90 }),
    },
  },
  validateResource: (args, report) => {
    const { minDays } = args.getConfig<{ minDays: Record<Tier, number> }>();
    let rules: Rule[];
    if (is(args, T.s3Lifecycle)) rules = s3Rules(args.props, false);
    else if (is(args, T.s3Bucket)) rules = s3Rules(args.props, true);
    else if (is(args, T.r2Lifecycle)) rules = r2Rules(args.props);
    else return;
    for (const r of rules.filter((x) => x.enabled)) {
      const tiers = tiersCovered(r.prefix);
      if (!tiers.length) continue;
      const need = Math.max(...tiers.map((t) => minDays[t] ?? 0));
      if (r.expiresOnDate) {
        report(`Lifecycle rule "${r.id}" deletes ${tiers.join("/")} backups on a fixed date (${r.expiresOnDate}); use an age of at least ${need} days.`);
      } else if (r.expiresAfterDays !== undefined && r.expiresAfterDays < need) {
        report(
          `Lifecycle rule "${r.id}" (prefix ${JSON.stringify(r.prefix ?? "")}) deletes ${tiers.join("/")} backups after ${r.expiresAfterDays} days; the minimum is ${need}. Raise drposture:retention (or the rule's age) to keep them at least ${need} days.`,
        );
      }
    }
  },
};
