/** The Worker's bindings, as the BackupWorker component declares them (and wrangler.jsonc). */
import type { BackupPlan } from "../lib/backup/plan";

export interface StepMessage {
  /** "kind/name" */
  readonly asset: string;
  readonly backupId: string;
  readonly step: number;
  /** Absent: a backup step. "restore-test": a step of a restore test (worker/restoreTest/). */
  readonly purpose?: "restore-test";
  /** A task of the backup's fan-out (a KV page read in parallel with the others); `step` is
   * then the job step that queued it. */
  readonly task?: TaskRef;
}

/** One independent piece of a backup, run by any consumer in parallel with its siblings. */
export interface TaskRef {
  /** 0-based task number within the backup (it orders the task's artifacts in the manifest). */
  readonly n: number;
  /** 0-based part: a task that stops at its step budget continues as part + 1. */
  readonly part: number;
  /** What the task needs, written by the step that queued it (e.g. its encrypted key list). */
  readonly input: unknown;
}

export interface Env {
  /** The plan (json binding): assets, schedule, tiers, destinations, limits. */
  readonly BACKUP_PLAN: BackupPlan;
  /** Secondary R2 bucket: the first copy of every backup. */
  readonly BACKUP_R2: R2Bucket;
  /** Continuation of backups larger than one invocation. */
  readonly BACKUP_QUEUE: Queue<StepMessage>;
  /** 32-byte data-encryption key, hex (secret). */
  readonly ENCRYPTION_KEY: string;
  /** 32-byte key, hex (secret), that signs backup-now requests (lib/trigger/signature.ts).
   * Separate from ENCRYPTION_KEY: it can start a backup, it cannot read one. Absent: no trigger. */
  readonly TRIGGER_KEY?: string;
  /** S3 writer identity (secrets): put-only under the tier prefixes. */
  readonly S3_WRITER_ACCESS_KEY_ID?: string;
  readonly S3_WRITER_SECRET_ACCESS_KEY?: string;
  /** S3 verifier identity (secrets): read-only, for the watchdog. */
  readonly S3_VERIFIER_ACCESS_KEY_ID?: string;
  readonly S3_VERIFIER_SECRET_ACCESS_KEY?: string;
  /** Alert webhook (secret) and SNS publisher identity (secrets). */
  readonly ALERT_WEBHOOK_URL?: string;
  readonly SNS_ACCESS_KEY_ID?: string;
  readonly SNS_SECRET_ACCESS_KEY?: string;
  /** Neon API key (secret). */
  readonly NEON_API_KEY?: string;
  /** LOCAL WORLD ONLY, never bound by the BackupWorker component: where Neon's HTTP driver
   * sends SQL (the Neon stand-in's endpoint); on Cloudflare the driver derives it from the
   * connection string's host. */
  readonly NEON_SQL_ENDPOINT?: string;
  /** Worker version (bundle hash), a plain-text binding. */
  readonly WORKER_VERSION?: string;
  /** Source bindings: D1_<NAME>, KV_<NAME>, R2_<NAME>. */
  readonly [binding: string]: unknown;
}
