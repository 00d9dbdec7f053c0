/**
 * The backup plan the test Worker runs with (its BACKUP_PLAN binding): the local plan from
 * wrangler.jsonc, with the S3 copy in the prod stack's declared vault bucket on the local
 * world's strict S3 endpoint, and small step budgets so that multi-step backups happen with
 * test-sized data.
 */
import type { BackupPlan } from "../../lib/backup/plan";
import { localPlan } from "../../lib/local/localPlan";

export interface TestS3 {
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
}

export function testPlan(s3: TestS3): BackupPlan {
  return localPlan({
    stack: "test",
    assets: [
      { kind: "d1", name: "app-db", sourceId: "00000000-0000-4000-8000-000000000001", binding: "D1_APP_DB", rpoMinutes: 60, cron: "0 * * * *", priority: 1 },
      { kind: "kv", name: "sessions", sourceId: "00000000000000000000000000000002", binding: "KV_SESSIONS", rpoMinutes: 15, cron: "*/15 * * * *", priority: 2 },
      { kind: "r2", name: "user-uploads", sourceId: "user-uploads", binding: "R2_USER_UPLOADS", rpoMinutes: 60, cron: "0 * * * *", priority: 3 },
    ],
    destinations: {
      r2: { bucketName: "drposture-local-backups" },
      s3: { endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, lockMode: "COMPLIANCE", addressing: "path" },
    },
    limits: { opsPerStep: 40, bytesPerStep: 256 * 1024, d1PageRows: 100, d1SnapshotBytes: 32 * 1024 * 1024 },
  });
}
