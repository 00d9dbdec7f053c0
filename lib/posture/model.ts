/**
 * The posture model: the validated stack config plus every number derived from it.
 * Components, the Worker's schedule, the runbook and the CLI all read numbers from here;
 * nothing else restates an RPO, a retention or a lifecycle day count.
 */
import type { DeclaredCheck } from "../integrity/declaredChecks";
import type { HealthThresholds } from "../backup/health";
import { formatIssues, PostureConfigError } from "./errors";
import { healthThresholds } from "./healthConfig";
import { incidentPosture, type IncidentPosture } from "./incidentConfig";
import { STACK_NAME, STACK_NAME_RULE } from "./identifiers";
import { everyDaysOf, rotationOf, scheduleOrProblem, type RestoreTestingPosture } from "./restoreTesting";
import { backupIntervalMinutes, cronForInterval, groupByCron, type CronGroup } from "./schedule";
import { configSchema, type NeonPlan, type PostureConfig } from "./schema";
import type { SizesConfig } from "./sizesConfig";

export type AssetKind = "d1" | "kv" | "r2" | "neon";
export type Tier = "daily" | "weekly" | "monthly";
export const TIERS: readonly Tier[] = ["daily", "weekly", "monthly"];

/** Days a backup in each tier is kept: the lifecycle expiry and the lock period. Months count
 * as 31 days so that N monthly backups are always retained. */
export const DAYS_PER_TIER_UNIT: Record<Tier, number> = { daily: 1, weekly: 7, monthly: 31 };
/** Shortest gap between two snapshots of a frequency. Neon caps how many snapshots exist at
 * once, so N snapshots are kept for N such gaps: never N + 1 alive together. A monthly gap can
 * be 28 days (February). */
export const NEON_SNAPSHOT_GAP_SECONDS: Record<Tier, number> = { daily: 86_400, weekly: 7 * 86_400, monthly: 28 * 86_400 };
/** Incomplete multipart uploads (a crashed large upload) are aborted after this many days. */
export const ABORT_INCOMPLETE_UPLOAD_DAYS = 1;
/** Superseded S3 object versions are removed this long after they stop being current;
 * Object Lock still protects them until their own retain-until date. */
export const NONCURRENT_VERSION_DAYS = 7;
/** Added to an asset's RPO before the watchdog calls it stale: cron start jitter and run time. */
export const STALE_GRACE_MINUTES = 5;
/** A committed backup not yet copied to S3 after this long is replication lag (the DR plans
 * we replace alert at 2 h). */
export const REPLICATION_LAG_MINUTES = 120;
/** A backup job whose state is untouched this long is abandoned (its step died without a retry). */
export const ABANDON_AFTER_MINUTES = 30;
/** Queue consumer invocations at once (Queues' max_concurrency, at most 250): a KV backup's
 * page tasks run this many in parallel. 20 puts a million-key namespace inside a 15-minute RPO
 * with room to spare (bench/scale); more only adds pressure on the sources. */
export const QUEUE_MAX_CONCURRENCY = 20;

export interface ProtectedAsset {
  /** "kind/name", unique in the stack. */
  readonly id: string;
  readonly kind: AssetKind;
  readonly name: string;
  /** D1 database UUID, KV namespace id, R2 bucket name or Neon project id. */
  readonly sourceId: string;
  readonly jurisdiction?: string;
  readonly rpoMinutes: number;
  readonly rtoMinutes: number;
  readonly priority: number;
  readonly backupIntervalMinutes: number;
  readonly backupCron: string;
  /** When the watchdog calls a backup too slow or too small (`healthAlerts`). */
  readonly health: HealthThresholds;
}

export interface TierPolicy {
  readonly tier: Tier;
  /** Object key prefix, e.g. "daily/". */
  readonly prefix: string;
  readonly retentionDays: number;
}

export interface NeonPosture {
  readonly projectId: string;
  readonly branchId: string;
  readonly databaseName: string;
  readonly restoreWindowDays: number;
  readonly historyRetentionSeconds: number;
  readonly plan: NeonPlan;
  /** Snapshots Neon keeps per frequency (`neon.snapshots`). */
  readonly snapshots: { readonly daily: number; readonly weekly: number; readonly monthly: number };
  /** Neon API v2 backup_schedule items for the branch: one per frequency that keeps snapshots,
   * retention_seconds from the snapshot count (not the tier days; Neon caps the count). */
  readonly snapshotSchedule: ReadonlyArray<{
    frequency: "daily" | "weekly" | "monthly";
    hour: number;
    day?: number;
    retention_seconds: number;
  }>;
}

export interface Posture {
  readonly stack: string;
  readonly environment: PostureConfig["environment"];
  readonly primaryRegion: string;
  readonly accountId: string;
  /** Every protected asset, in restore order (priority, then kind and name). */
  readonly assets: readonly ProtectedAsset[];
  readonly neon?: NeonPosture;
  readonly retention: PostureConfig["retention"];
  readonly tiers: readonly TierPolicy[];
  readonly vault: {
    readonly s3Region: string;
    readonly r2Location?: string;
    readonly r2Jurisdiction: string;
    readonly objectLockMode: "COMPLIANCE" | "GOVERNANCE";
  };
  readonly alerts: {
    readonly emails: readonly string[];
    readonly webhookFormat: PostureConfig["alerts"]["webhookFormat"];
    readonly hasWebhook: boolean;
    /** Cloudflare incident notifications through a Cloudflare webhook destination (Pro zone). */
    readonly cloudflareWebhook: boolean;
    /** Cloudflare's PagerDuty destination for incident notifications, if connected. */
    readonly cloudflarePagerDutyId: string | null;
  };
  /** Environment-wide targets, for assets the config does not list (drill fixtures). */
  readonly defaults: { readonly rpoMinutes: number; readonly rtoMinutes: number };
  /** Cron triggers of the backup Worker: the minimal set, each with the assets it backs up. */
  readonly cronSchedule: readonly CronGroup[];
  readonly hasNeonApiKey: boolean;
  /** Declared post-restore checks (`drposture:integrity`): Postgres, and per D1 asset. */
  readonly integrity: { readonly postgres: readonly DeclaredCheck[]; readonly d1: Readonly<Record<string, readonly DeclaredCheck[]>> };
  /** Scheduled restore tests (`drposture:restoreTesting`); absent when disabled. */
  readonly restoreTesting?: RestoreTestingPosture;
  /** Incident response (`drposture:incident`), defaults resolved. */
  readonly incident: IncidentPosture;
  /** Declared asset sizes (`drposture:sizes`), for the cost estimate; absent when not declared. */
  readonly sizes?: SizesConfig;
}

const DEFAULT_PRIORITY: Record<AssetKind, number> = { neon: 1, d1: 1, kv: 2, r2: 3 };

/** Validates raw config values (keys without the `drposture:` namespace) and derives the model.
 * Throws PostureConfigError listing every problem, each with its config path. */
export function parsePosture(raw: Record<string, unknown>, stack: string): Posture {
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  const problems = parsed.success ? [] : formatIssues(parsed.error.issues);
  // The stack name names resources and appears in the runbook's commands.
  if (!STACK_NAME.test(stack)) problems.unshift(`stack name ${JSON.stringify(stack)}: must be ${STACK_NAME_RULE}`);
  if (!parsed.success || problems.length) throw new PostureConfigError(problems);
  return derivePosture(parsed.data, stack);
}

export function derivePosture(cfg: PostureConfig, stack: string): Posture {
  const rpoDefault = cfg.targets.rpoMinutes;
  const rtoDefault = cfg.targets.rtoMinutes;
  const dailyHour = cfg.neon?.snapshotHourUtc ?? 3;
  const asset = (
    kind: AssetKind,
    name: string,
    sourceId: string,
    o: { rpoMinutes?: number; rtoMinutes?: number; priority?: number; jurisdiction?: string; healthAlerts?: Parameters<typeof healthThresholds>[0] },
  ): ProtectedAsset => {
    const rpo = o.rpoMinutes ?? rpoDefault;
    const interval = backupIntervalMinutes(rpo);
    return {
      id: `${kind}/${name}`,
      kind,
      name,
      sourceId,
      ...(o.jurisdiction ? { jurisdiction: o.jurisdiction } : {}),
      rpoMinutes: rpo,
      rtoMinutes: o.rtoMinutes ?? rtoDefault,
      priority: o.priority ?? DEFAULT_PRIORITY[kind],
      backupIntervalMinutes: interval,
      // Daily jobs run an hour before Neon's snapshot so the two do not contend.
      backupCron: cronForInterval(interval, (dailyHour + 23) % 24),
      health: healthThresholds(o.healthAlerts),
    };
  };
  const assets: ProtectedAsset[] = [
    ...cfg.assets.d1.map((a) => asset("d1", a.name, a.databaseId, a)),
    ...cfg.assets.kv.map((a) => asset("kv", a.name, a.namespaceId, a)),
    ...cfg.assets.r2.map((a) => asset("r2", a.name, a.bucketName, a)),
    ...(cfg.neon ? [asset("neon", cfg.neon.databaseName, cfg.neon.projectId, cfg.neon)] : []),
  ].sort((x, y) => x.priority - y.priority || x.id.localeCompare(y.id));

  const tiers = TIERS.map((tier) => ({
    tier,
    prefix: `${tier}/`,
    retentionDays: cfg.retention[tier] * DAYS_PER_TIER_UNIT[tier],
  }));

  const neon: NeonPosture | undefined = cfg.neon && {
    projectId: cfg.neon.projectId,
    branchId: cfg.neon.branchId,
    databaseName: cfg.neon.databaseName,
    restoreWindowDays: cfg.neon.restoreWindowDays,
    historyRetentionSeconds: cfg.neon.restoreWindowDays * 86_400,
    plan: cfg.neon.plan,
    snapshots: cfg.neon.snapshots,
    snapshotSchedule: neonSnapshotSchedule(cfg.neon),
  };

  return {
    stack,
    environment: cfg.environment,
    primaryRegion: cfg.primaryRegion,
    accountId: cfg.cloudflare.accountId,
    assets,
    ...(neon ? { neon } : {}),
    retention: cfg.retention,
    tiers,
    vault: {
      s3Region: cfg.vault.s3Region,
      ...(cfg.vault.r2Location ? { r2Location: cfg.vault.r2Location } : {}),
      r2Jurisdiction: cfg.vault.r2Jurisdiction,
      objectLockMode: cfg.vault.objectLockMode ?? (cfg.environment === "prod" ? "COMPLIANCE" : "GOVERNANCE"),
    },
    alerts: {
      emails: cfg.alerts.emails,
      webhookFormat: cfg.alerts.webhookFormat,
      hasWebhook: cfg.alertWebhookUrl !== undefined,
      cloudflareWebhook: cfg.alerts.cloudflareWebhook,
      cloudflarePagerDutyId: cfg.alerts.cloudflarePagerDutyId ?? null,
    },
    defaults: { rpoMinutes: rpoDefault, rtoMinutes: rtoDefault },
    cronSchedule: groupByCron(assets),
    hasNeonApiKey: cfg.neonApiKey !== undefined,
    integrity: { postgres: cfg.integrity?.postgres ?? [], d1: cfg.integrity?.d1 ?? {} },
    incident: incidentPosture(cfg.incident),
    ...(cfg.sizes ? { sizes: cfg.sizes } : {}),
    // Absent only in config built by hand (tests bypassing validation): the schema's default, on.
    ...(cfg.restoreTesting?.enabled !== false ? { restoreTesting: restoreTestingPosture(cfg, assets) } : {}),
  };
}

function restoreTestingPosture(cfg: PostureConfig, assets: readonly ProtectedAsset[]): RestoreTestingPosture {
  const everyDays = everyDaysOf(cfg.restoreTesting ?? { enabled: true }, cfg.environment);
  const rotation = rotationOf(assets);
  const schedule = scheduleOrProblem(everyDays, rotation.length);
  // parsePosture reports this with the config path; derivePosture called on unchecked config throws.
  if (typeof schedule === "string") throw new PostureConfigError([`drposture:restoreTesting.everyDays: ${schedule}, got ${everyDays}`]);
  return { everyDays, ...schedule, rotation };
}

function neonSnapshotSchedule(neon: NonNullable<PostureConfig["neon"]>): NeonPosture["snapshotSchedule"] {
  const hour = neon.snapshotHourUtc;
  return TIERS.filter((tier) => neon.snapshots[tier] > 0).map((tier) => ({
    frequency: tier,
    ...(tier === "daily" ? {} : { day: 1 }),
    hour,
    retention_seconds: neon.snapshots[tier] * NEON_SNAPSHOT_GAP_SECONDS[tier],
  }));
}

export function tierDays(posture: Posture, tier: Tier): number {
  const t = posture.tiers.find((x) => x.tier === tier);
  if (!t) throw new Error(`unknown tier ${tier}`);
  return t.retentionDays;
}
