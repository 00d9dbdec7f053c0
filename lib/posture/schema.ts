/**
 * The stack configuration schema: every `drposture:*` key, its type, its limits and its
 * description. This is the single place where the config is defined; Pulumi.yaml's `config:`
 * block and the README's config reference are generated from it (see configDocs.ts).
 */
import { z } from "zod";
import { healthAlertsConfig } from "./healthConfig";
import { incidentConfig } from "./incidentConfig";
import { integrityConfig } from "./integrityConfig";
import { sizesConfig, strayAssetSizes } from "./sizesConfig";
import { checksTooLarge, everyDaysOf, restoreTestChecksJson, restoreTestingConfig, scheduleOrProblem } from "./restoreTesting";
import { assetName as assetNameFormat, awsRegion, d1DatabaseId, emailAddress, hex32, kvNamespaceId, neonBranchId, neonDatabaseName, neonProjectId, r2BucketName } from "./identifiers";

/** Cron fires at most once a minute, but a backup needs time to run and commit; below 5 min
 * the schedule would overlap the previous run. */
export const MIN_RPO_MINUTES = 5;
/** The S3 staleness alarm evaluates one CloudWatch period, which cannot exceed one day. */
export const MAX_RPO_MINUTES = 1440;
/** Neon's documented maximum history retention (restore window). */
export const NEON_MAX_RESTORE_WINDOW_DAYS = 30;
/** Neon plans, as Neon's docs name them. */
export const NEON_PLANS = ["free", "launch", "scale", "business", "enterprise", "agent"] as const;
export type NeonPlan = (typeof NEON_PLANS)[number];
/** Scheduled snapshots Neon keeps on a branch, per plan. https://neon.com/docs/guides/backup-restore:
 * "Snapshot limits: 1 on the Free plan and 10 on paid plans. Automated backup schedules are
 * available on paid plans except for the Agent plan." Free and Agent get no schedule at all. */
export const NEON_SCHEDULED_SNAPSHOT_CAP: Record<NeonPlan, number> = { free: 0, launch: 10, scale: 10, business: 10, enterprise: 10, agent: 0 };
/** Default snapshot counts: 10, the paid-plan cap. A week of dailies gives instant restore points
 * for every recent day; three weeklies reach back three weeks. Older history is the pg_dump's. */
export const DEFAULT_NEON_SNAPSHOTS = { daily: 7, weekly: 3, monthly: 0 } as const;

export const ENVIRONMENTS = ["prod", "staging", "dev"] as const;
export const OBJECT_LOCK_MODES = ["COMPLIANCE", "GOVERNANCE"] as const;
export const R2_LOCATIONS = ["apac", "eeur", "enam", "weur", "wnam", "oc"] as const;
export const R2_JURISDICTIONS = ["default", "eu", "fedramp"] as const;
export const WEBHOOK_FORMATS = ["generic", "slack", "discord", "pagerduty"] as const;

const assetName = assetNameFormat.meta({ description: "Logical asset name; used in backup object keys, alerts and the runbook." });

const rpoMinutes = z
  .number()
  .int()
  .min(MIN_RPO_MINUTES, {
    error: `must be >= ${MIN_RPO_MINUTES} (cron granularity: a backup must finish before the next one starts)`,
  })
  .max(MAX_RPO_MINUTES);
const rtoMinutes = z.number().int().min(1).max(10080);

const assetTargets = {
  rpoMinutes: rpoMinutes.optional().meta({ description: "Override of targets.rpoMinutes for this asset." }),
  rtoMinutes: rtoMinutes.optional().meta({ description: "Override of targets.rtoMinutes for this asset." }),
  priority: z.number().int().min(1).max(100).optional().meta({
    description: "Restore order in a disaster (1 first). Default: Neon and D1 1, KV 2, R2 3.",
  }),
  healthAlerts: healthAlertsConfig,
};

const describe = <T extends z.ZodType>(schema: T, description: string): T => schema.meta({ description });

const d1Asset = z.strictObject({
  name: assetName,
  databaseId: describe(d1DatabaseId, "D1 database UUID."),
  ...assetTargets,
});
const kvAsset = z.strictObject({
  name: assetName,
  namespaceId: describe(kvNamespaceId, "KV namespace id (32 hex characters)."),
  ...assetTargets,
});
const r2Asset = z.strictObject({
  name: assetName,
  bucketName: describe(r2BucketName, "Source R2 bucket name."),
  jurisdiction: describe(z.enum(R2_JURISDICTIONS).optional(), "Jurisdiction of the source bucket, if not default."),
  ...assetTargets,
});

const configObject = z.strictObject({
  environment: describe(
    z.enum(ENVIRONMENTS),
    "Environment class. Sets defaults such as the Object Lock mode (prod: COMPLIANCE, otherwise GOVERNANCE).",
  ),
  primaryRegion: describe(
    awsRegion,
    "AWS region name nearest to where the primary data lives (the Neon project's region). The S3 copy must be elsewhere.",
  ),
  cloudflare: describe(
    z.strictObject({
      accountId: describe(hex32("32-hex Cloudflare account id"), "Cloudflare account id (32 hex characters)."),
    }),
    "Cloudflare account that owns the protected D1/KV/R2 resources and the backup Worker.",
  ),
  targets: describe(
    z.strictObject({
      rpoMinutes: describe(rpoMinutes, "Default recovery point objective, minutes."),
      rtoMinutes: describe(rtoMinutes, "Default recovery time objective, minutes."),
    }),
    "Environment-wide RPO/RTO defaults; each asset may override them.",
  ),
  assets: describe(
    z.strictObject({
      d1: describe(z.array(d1Asset).default([]), "D1 databases to back up."),
      kv: describe(z.array(kvAsset).default([]), "KV namespaces to back up."),
      r2: describe(z.array(r2Asset).default([]), "R2 buckets to mirror."),
    }),
    "Protected Cloudflare assets.",
  ),
  neon: describe(
    z
      .strictObject({
        projectId: describe(neonProjectId, "Neon project id."),
        branchId: describe(neonBranchId, "Production branch id (snapshot schedule, point-in-time restores)."),
        databaseName: describe(
          neonDatabaseName.default("neondb"),
          "Database dumped by the independent pg_dump backup; also the backup's asset name (neon/<databaseName>).",
        ),
        restoreWindowDays: describe(
          z.number().int().min(1),
          `Point-in-time restore window (history retention), days; at most ${NEON_MAX_RESTORE_WINDOW_DAYS}.`,
        ),
        snapshotHourUtc: describe(z.number().int().min(0).max(23).default(3), "Hour (UTC) of Neon's scheduled snapshots."),
        plan: describe(
          z.enum(NEON_PLANS).default("launch"),
          "Neon plan of the project; caps the snapshots Neon keeps (10 on paid plans, no schedule on free and agent).",
        ),
        snapshots: describe(
          z
            .strictObject({
              daily: describe(z.number().int().min(0).default(DEFAULT_NEON_SNAPSHOTS.daily), "Daily snapshots Neon keeps."),
              weekly: describe(z.number().int().min(0).default(DEFAULT_NEON_SNAPSHOTS.weekly), "Weekly snapshots Neon keeps (Mondays)."),
              monthly: describe(z.number().int().min(0).default(DEFAULT_NEON_SNAPSHOTS.monthly), "Monthly snapshots Neon keeps (1st of the month)."),
            })
            .prefault({}),
          "Snapshots Neon keeps on the branch, per frequency; the total is capped by neon.plan. Long-term retention is the pg_dump backup's tiers (retention.*), not Neon's.",
        ),
        rpoMinutes: describe(rpoMinutes.default(MAX_RPO_MINUTES), "RPO of the independent pg_dump backup outside Neon, minutes."),
        rtoMinutes: describe(rtoMinutes.optional(), "Override of targets.rtoMinutes."),
        priority: describe(z.number().int().min(1).max(100).default(1), "Restore order in a disaster (1 first)."),
        healthAlerts: healthAlertsConfig,
      })
      .optional(),
    "Neon Postgres project protected by PITR, snapshots and an independent pg_dump.",
  ),
  retention: describe(
    z.strictObject({
      daily: describe(z.number().int().min(1).max(3650), "Days a daily backup is kept."),
      weekly: describe(z.number().int().min(1).max(520), "Weeks a weekly backup is kept."),
      monthly: describe(z.number().int().min(1).max(120), "Months (of 31 days) a monthly backup is kept."),
    }),
    "Grandfather-father-son retention per tier prefix (daily/, weekly/, monthly/).",
  ),
  vault: describe(
    z.strictObject({
      s3Region: describe(awsRegion, "AWS region of the S3 copy; must differ from primaryRegion."),
      r2Location: describe(z.enum(R2_LOCATIONS).optional(), "Location hint of the secondary R2 bucket."),
      r2Jurisdiction: describe(z.enum(R2_JURISDICTIONS).default("default"), "Jurisdiction of the secondary R2 bucket."),
      objectLockMode: describe(
        z.enum(OBJECT_LOCK_MODES).optional(),
        "S3 Object Lock mode; default COMPLIANCE in prod, GOVERNANCE otherwise.",
      ),
    }),
    "Where the backup copies live.",
  ),
  alerts: describe(
    z
      .strictObject({
        emails: describe(z.array(emailAddress).default([]), "Addresses subscribed to alerts."),
        webhookFormat: describe(z.enum(WEBHOOK_FORMATS).default("generic"), "Payload format of alertWebhookUrl."),
        cloudflareWebhook: describe(
          z.boolean().default(false),
          "Also send Cloudflare incident notifications to alertWebhookUrl through a Cloudflare notification webhook. Needs a Pro-or-higher zone on the account (webhook destinations are not available on Free); not for pagerduty.",
        ),
        cloudflarePagerDutyId: describe(
          hex32("32-hex-character id of a PagerDuty destination connected in the Cloudflare dashboard").optional(),
          "Cloudflare incident notifications to this PagerDuty destination (connect PagerDuty under Notifications > Destinations first; Cloudflare cannot post to a PagerDuty Events URL as a webhook).",
        ),
      })
      .prefault({}),
    "Alert destinations (the webhook URL itself is the secret alertWebhookUrl).",
  ),
  alertWebhookUrl: z
    .url({ protocol: /^https$/, error: "must be an https:// URL" })
    .optional()
    .meta({ description: "Webhook receiving backup failure and staleness alerts (secret).", secret: true }),
  integrity: integrityConfig,
  incident: incidentConfig,
  restoreTesting: restoreTestingConfig,
  sizes: sizesConfig,
  neonApiKey: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "Neon API key that sets the restore window and snapshot schedule (secret).", secret: true }),
});

export const configSchema = configObject.superRefine(crossFieldRules);

export type PostureConfig = z.output<typeof configSchema>;
export type ConfigKey = keyof typeof configObject.shape;
export const CONFIG_KEYS = Object.keys(configObject.shape) as ConfigKey[];
export { configObject };

/** Rules that involve more than one field. Each names the field the author must change. */
function crossFieldRules(cfg: z.output<typeof configObject>, ctx: z.RefinementCtx): void {
  if (cfg.vault.s3Region === cfg.primaryRegion) {
    ctx.addIssue({
      code: "custom",
      path: ["vault", "s3Region"],
      input: cfg.vault.s3Region,
      message: `must differ from primaryRegion (${cfg.primaryRegion}): a regional outage must not take the copy with it`,
    });
  }
  if (cfg.neon) neonRules(cfg.neon, ctx);
  if (cfg.alerts.cloudflareWebhook && cfg.alerts.webhookFormat === "pagerduty") {
    ctx.addIssue({
      code: "custom",
      path: ["alerts", "cloudflareWebhook"],
      input: true,
      message: "cannot be true with webhookFormat pagerduty: Cloudflare's test POST to a PagerDuty Events URL fails; use alerts.cloudflarePagerDutyId",
    });
  }
  if (cfg.alerts.cloudflareWebhook && cfg.alertWebhookUrl === undefined) {
    ctx.addIssue({ code: "custom", path: ["alerts", "cloudflareWebhook"], input: true, message: "needs the secret alertWebhookUrl (pulumi config set --secret alertWebhookUrl <url>)" });
  }
  const { daily, weekly, monthly } = cfg.retention;
  if (weekly * 7 < daily) {
    ctx.addIssue({
      code: "custom",
      path: ["retention", "weekly"],
      input: weekly,
      message: `must keep at least as much history as the daily tier: ${weekly} weeks < ${daily} days (use >= ${Math.ceil(daily / 7)})`,
    });
  }
  if (monthly * 31 < weekly * 7) {
    ctx.addIssue({
      code: "custom",
      path: ["retention", "monthly"],
      input: monthly,
      message: `must keep at least as much history as the weekly tier: ${monthly} months < ${weekly} weeks (use >= ${Math.ceil((weekly * 7) / 31)})`,
    });
  }
  const seen = new Map<string, string>();
  for (const kind of ["d1", "kv", "r2"] as const) {
    cfg.assets[kind].forEach((asset, i) => {
      const key = `${kind}/${asset.name}`;
      if (seen.has(key)) {
        ctx.addIssue({
          code: "custom",
          path: ["assets", kind, i, "name"],
          input: asset.name,
          message: `duplicates ${seen.get(key)}: asset names must be unique per kind`,
        });
      }
      seen.set(key, `assets.${kind}[${i}]`);
    });
  }
  for (const name of Object.keys(cfg.integrity?.d1 ?? {})) {
    if (!cfg.assets.d1.some((a) => a.name === name)) {
      const known = cfg.assets.d1.map((a) => a.name).join(", ") || "none";
      ctx.addIssue({ code: "custom", path: ["integrity", "d1", name], input: name, message: `is not a D1 asset of this stack (assets.d1 names: ${known})` });
    }
  }
  for (const [path, message] of strayAssetSizes(cfg.sizes, cfg.assets, cfg.neon !== undefined)) ctx.addIssue({ code: "custom", path, input: undefined, message });
  const total = cfg.assets.d1.length + cfg.assets.kv.length + cfg.assets.r2.length + (cfg.neon ? 1 : 0);
  if (cfg.restoreTesting?.enabled === true) restoreTestingRules(cfg, total, ctx);
  if (total === 0) {
    ctx.addIssue({
      code: "custom",
      path: ["assets"],
      input: cfg.assets,
      message: "must list at least one D1 database, KV namespace or R2 bucket, or configure neon",
    });
  }
}

/** Restore tests need a schedule that reaches every asset in time, and the declared checks
 * must fit the one Worker variable they are bound as. */
function restoreTestingRules(cfg: z.output<typeof configObject>, rotationLength: number, ctx: z.RefinementCtx): void {
  const everyDays = everyDaysOf(cfg.restoreTesting, cfg.environment);
  // A value of the wrong type or range already has its own issue.
  const schedule = Number.isInteger(everyDays) && everyDays >= 1 ? scheduleOrProblem(everyDays, rotationLength) : null;
  if (typeof schedule === "string") ctx.addIssue({ code: "custom", path: ["restoreTesting", "everyDays"], input: everyDays, message: schedule });
  const tooLarge = checksTooLarge(restoreTestChecksJson({ postgres: cfg.integrity?.postgres ?? [], d1: cfg.integrity?.d1 ?? {} }));
  if (tooLarge) ctx.addIssue({ code: "custom", path: ["integrity"], input: undefined, message: tooLarge });
}

/** Limits Neon itself enforces, caught at preview instead of at `pulumi up`. */
function neonRules(neon: NonNullable<z.output<typeof configObject>["neon"]>, ctx: z.RefinementCtx): void {
  if (neon.restoreWindowDays > NEON_MAX_RESTORE_WINDOW_DAYS) {
    ctx.addIssue({
      code: "custom",
      path: ["neon", "restoreWindowDays"],
      input: neon.restoreWindowDays,
      message: `must be <= ${NEON_MAX_RESTORE_WINDOW_DAYS} (Neon's maximum restore window)`,
    });
  }
  const { daily, weekly, monthly } = neon.snapshots;
  const total = daily + weekly + monthly;
  const cap = NEON_SCHEDULED_SNAPSHOT_CAP[neon.plan];
  if (total > cap) {
    const why = cap === 0 ? `Neon's ${neon.plan} plan has no automated backup schedule` : `Neon's ${neon.plan} plan keeps at most ${cap} snapshots`;
    ctx.addIssue({
      code: "custom",
      path: ["neon", "snapshots"],
      input: neon.snapshots,
      message:
        `must total at most ${cap} (daily ${daily} + weekly ${weekly} + monthly ${monthly} = ${total}): ${why} ` +
        "(https://neon.com/docs/guides/backup-restore); keep longer history in the pg_dump tiers (retention.*)",
    });
  }
}
