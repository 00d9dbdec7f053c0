// Bindings of the test Worker: the backup Worker's own plus restore targets.
declare namespace Cloudflare {
  interface Env {
    readonly BACKUP_PLAN: import("../../lib/backup/plan").BackupPlan;
    readonly BACKUP_R2: R2Bucket;
    readonly BACKUP_QUEUE: Queue<import("../../worker/env").StepMessage>;
    readonly ENCRYPTION_KEY: string;
    readonly ALERT_WEBHOOK_URL?: string;
    readonly D1_APP_DB: D1Database;
    readonly D1_RESTORED: D1Database;
    readonly KV_SESSIONS: KVNamespace;
    readonly KV_RESTORED: KVNamespace;
    readonly R2_USER_UPLOADS: R2Bucket;
    readonly R2_RESTORED: R2Bucket;
    readonly RESTORE_TEST_D1: D1Database;
    readonly RESTORE_TEST_KV: KVNamespace;
    readonly RESTORE_TEST_R2: R2Bucket;
  }
}
