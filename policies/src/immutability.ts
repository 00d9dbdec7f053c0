/** Backups cannot be deleted or overwritten before their retention ends. */
import type { StackValidationPolicy } from "@pulumi/policy";
import { restoreScratchBuckets } from "./backupPlan";
import { configsOf, ofType, r2BucketOf, T, TIERS, tierPrefix, type Tier } from "./resources";
import { daysPerTier, positiveInteger } from "./configSchemas";

export const s3ObjectLock: StackValidationPolicy = {
  name: "s3-object-lock",
  description:
    "Every S3 backup bucket has Object Lock enabled with a default retention in an allowed mode (COMPLIANCE: nobody can shorten it) for at least the daily tier's minimum, so a leaked credential cannot delete recent backups.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      allowedModes: { type: "array", items: { enum: ["COMPLIANCE", "GOVERNANCE"] }, minItems: 1, uniqueItems: true, default: ["COMPLIANCE"], description: "Object Lock modes allowed." },
      minDays: positiveInteger("Minimum default retention, days.", { default: 7 }),
    },
  },
  validateStack: (args, report) => {
    const cfg = args.getConfig<{ allowedModes: string[]; minDays: number }>();
    const buckets = ofType(args.resources, T.s3Bucket);
    for (const b of buckets) {
      if (b.props.objectLockEnabled !== true && !b.props.objectLockConfiguration) {
        report(`S3 bucket ${b.name} does not have Object Lock enabled (objectLockEnabled: true); it can only be set when the bucket is created.`, b.urn);
        continue;
      }
      const locks = configsOf(b, args.resources, T.s3ObjectLock, buckets);
      const inline = b.props.objectLockConfiguration?.rule;
      const rule = (locks[0]?.props.rule ?? inline) as { defaultRetention?: { mode?: string; days?: number; years?: number } } | undefined;
      const d = rule?.defaultRetention;
      if (!d) {
        report(`S3 bucket ${b.name} has no default Object Lock retention; add a BucketObjectLockConfiguration with a defaultRetention.`, b.urn);
        continue;
      }
      const days = d.days ?? (d.years ?? 0) * 365;
      const where = locks[0]?.urn ?? b.urn;
      if (!cfg.allowedModes.includes(String(d.mode))) {
        report(`S3 bucket ${b.name} locks objects in ${d.mode} mode; allowed: ${cfg.allowedModes.join(", ")}. Set drposture:vault.objectLockMode.`, where);
      }
      if (days < cfg.minDays) {
        report(`S3 bucket ${b.name} locks objects for ${days} days; the minimum is ${cfg.minDays}. Raise drposture:retention.daily.`, where);
      }
    }
  },
};

export const r2BucketLock: StackValidationPolicy = {
  name: "r2-bucket-lock",
  description:
    "Every R2 backup bucket has enabled bucket-lock rules covering each tier prefix (daily/, weekly/, monthly/) for at least that tier's minimum retention, so objects cannot be deleted or overwritten before then. A backup Worker's restore-test scratch bucket (RESTORE_TEST_R2, not any Worker's BACKUP_R2) holds no backups and is exempt.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: { minDays: daysPerTier("Minimum lock per tier, days.", { daily: 7, weekly: 28, monthly: 90 }) },
  },
  validateStack: (args, report) => {
    const { minDays } = args.getConfig<{ minDays: Record<Tier, number> }>();
    const buckets = ofType(args.resources, T.r2Bucket);
    const locks = ofType(args.resources, T.r2Lock);
    const scratch = restoreScratchBuckets(args.resources);
    for (const b of buckets) {
      if (scratch.has(String(b.props.name))) continue;
      const own = locks.filter((l) => r2BucketOf(l, buckets) === b);
      const rules = own
        .flatMap((l) => ((l.props.rules ?? []) as Array<Record<string, any>>).filter((r) => r.enabled !== false).map((r) => ({ r, urn: l.urn })));
      for (const tier of TIERS) {
        const covering = rules.filter(({ r }) => tierPrefix(tier).startsWith(String(r.prefix ?? "")));
        const seconds = Math.max(
          0,
          ...covering.map(({ r }) => (r.condition?.type === "Indefinite" ? Number.POSITIVE_INFINITY : r.condition?.type === "Age" ? Number(r.condition.maxAgeSeconds ?? 0) : 0)),
        );
        if (seconds < minDays[tier] * 86_400) {
          report(
            covering.length
              ? `R2 bucket ${b.name} locks ${tier}/ objects for ${seconds / 86_400} days; the minimum is ${minDays[tier]}.`
              : `R2 bucket ${b.name} has no bucket-lock rule covering ${tier}/; add an R2BucketLock rule (Age >= ${minDays[tier]} days).`,
            covering[0]?.urn ?? own[0]?.urn ?? b.urn,
          );
        }
      }
    }
  },
};
