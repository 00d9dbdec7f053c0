/**
 * The backup plan: what the backup Worker is told to do, as one JSON binding. The BackupWorker
 * component builds it from the posture model (so every number comes from the stack config);
 * the Worker only reads it. Secrets are never in the plan; they are separate secret bindings.
 */
import type { AssetKind, Tier } from "../format/layout";
import type { HealthThresholds } from "./health";

export const PLAN_VERSION = 1;

export interface PlanAsset {
  readonly kind: AssetKind;
  readonly name: string;
  /** D1 database id, KV namespace id, R2 bucket name, Neon project id. */
  readonly sourceId: string;
  /** Worker binding that reaches the source (D1/KV/R2); absent for Neon. */
  readonly binding?: string;
  readonly rpoMinutes: number;
  readonly cron: string;
  readonly priority: number;
  /** The asset's RTO: a restore test that takes longer alerts. */
  readonly rtoMinutes?: number;
  /** Backup health alert thresholds (absent: the defaults of lib/backup/health.ts). */
  readonly health?: HealthThresholds;
}

export interface PlanTier {
  readonly tier: Tier;
  readonly prefix: string;
  readonly retentionDays: number;
}

/** Per-step work budget. One step must stay inside one invocation's limits (KV operations,
 * D1 queries and subrequests: 1000 on the paid plan; CPU and memory). */
export interface StepLimits {
  /** Binding operations (KV reads, D1 queries, R2 reads of the source) per step. */
  readonly opsPerStep: number;
  /** Source bytes copied per step (R2 objects, D1 rows). */
  readonly bytesPerStep: number;
  /** Rows per D1 page query. */
  readonly d1PageRows: number;
  /** A D1 database up to this size is dumped in one batch (one transaction): a snapshot. */
  readonly d1SnapshotBytes: number;
}

/** d1SnapshotBytes: the one-batch snapshot holds every row as JS values at once. Measured in
 * workerd (peak RSS growth of the local Worker;
 * tests/localworld/memory-bounded.test.ts): 4 MiB of rows -> ~60 MiB, 8 -> ~104, 16 -> ~184, 32 -> ~337 MiB; the isolate has
 * 128 MB. At 4 MiB a snapshot stays near half of it; larger databases are read in pages. */
export const DEFAULT_LIMITS: StepLimits = { opsPerStep: 800, bytesPerStep: 256 * 1024 * 1024, d1PageRows: 500, d1SnapshotBytes: 4 * 1024 * 1024 };

export interface BackupPlan {
  readonly version: typeof PLAN_VERSION;
  readonly stack: string;
  readonly environment: string;
  readonly assets: readonly PlanAsset[];
  readonly tiers: readonly PlanTier[];
  readonly destinations: {
    /** The secondary R2 bucket, bound as BACKUP_R2: the primary copy, written first. */
    readonly r2: { readonly bucketName: string };
    /** The S3 copy, written by copying each committed backup from R2. */
    readonly s3?: {
      readonly endpoint: string;
      readonly bucket: string;
      readonly region: string;
      readonly lockMode: "COMPLIANCE" | "GOVERNANCE";
      /** S3 URL style; AWS uses "virtual", local endpoints "path". */
      readonly addressing?: "path" | "virtual";
    };
  };
  readonly neon?: {
    readonly projectId: string;
    readonly branchId: string;
    readonly apiUrl: string;
    readonly restoreWindowDays: number;
  };
  readonly alerts: {
    readonly webhookFormat: "generic" | "slack" | "discord" | "pagerduty";
    /** Slack added to an asset's RPO before it counts as stale: cron start jitter + run time. */
    readonly staleGraceMinutes: number;
    /** A committed backup not yet on S3 after this long is replication lag. */
    readonly replicationLagMinutes: number;
    readonly sns?: { readonly topicArn: string; readonly region: string };
  };
  readonly limits: StepLimits;
  /** Scheduled restore tests of the newest backups into scratch bindings (absent: none). */
  readonly restoreTesting?: PlanRestoreTesting;
  /** A job state untouched this long is abandoned (its step crashed without a retry). */
  readonly abandonAfterMinutes: number;
}

/** Binding name of an asset's source: D1_APP_DB, KV_SESSIONS, R2_USER_UPLOADS. */
export function sourceBindingName(kind: AssetKind, name: string): string {
  return `${kind.toUpperCase()}_${name.toUpperCase().replace(/-/g, "_")}`;
}

export function tierDaysOf(plan: Pick<BackupPlan, "tiers">, tier: Tier): number {
  const t = plan.tiers.find((x) => x.tier === tier);
  if (!t) throw new Error(`plan has no ${tier} tier`);
  return t.retentionDays;
}

/** Worker bindings of the scratch resources restore tests write into; nothing else uses them.
 * The declared post-restore checks (`drposture:integrity`) are bound as JSON under
 * RESTORE_TEST_CHECKS: { postgres: DeclaredCheck[], d1: { [asset]: DeclaredCheck[] } }. */
export const RESTORE_TEST_BINDINGS = { d1: "RESTORE_TEST_D1", kv: "RESTORE_TEST_KV", r2: "RESTORE_TEST_R2" } as const;
export const RESTORE_TEST_CHECKS_BINDING = "RESTORE_TEST_CHECKS";

export interface PlanRestoreTesting {
  /** Every asset is restore-tested at least this often (`drposture:restoreTesting.everyDays`). */
  readonly everyDays: number;
  /** The cron that starts restore tests: one asset per firing, in turn (restoreTestRotation.ts). */
  readonly cron: string;
  /** Hours between the cron's firings; the rotation's length times this is at most everyDays. */
  readonly periodHours: number;
}
