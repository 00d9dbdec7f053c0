/**
 * The backup plan the test Worker runs with (its BACKUP_PLAN binding): the local plan from
 * wrangler.jsonc, with the S3 copy pointed at the tests' s3rver and small step budgets so that
 * multi-step backups happen with test-sized data.
 */
import type { BackupPlan } from "../../lib/backup/plan";
import { localPlan } from "../../lib/local/localPlan";

export const TEST_S3_BUCKET = "drposture-test-s3";

export function testPlan(s3Endpoint: string): BackupPlan {
  return localPlan({
    stack: "test",
    assets: [
      { kind: "d1", name: "app-db", sourceId: "00000000-0000-4000-8000-000000000001", binding: "D1_APP_DB", rpoMinutes: 60, cron: "0 * * * *", priority: 1 },
      { kind: "kv", name: "sessions", sourceId: "00000000000000000000000000000002", binding: "KV_SESSIONS", rpoMinutes: 15, cron: "*/15 * * * *", priority: 2 },
      { kind: "r2", name: "user-uploads", sourceId: "user-uploads", binding: "R2_USER_UPLOADS", rpoMinutes: 60, cron: "0 * * * *", priority: 3 },
    ],
    destinations: {
      r2: { bucketName: "drposture-local-backups" },
      s3: { endpoint: s3Endpoint, bucket: TEST_S3_BUCKET, region: "us-east-1", lockMode: "GOVERNANCE" },
    },
    limits: { opsPerStep: 40, bytesPerStep: 256 * 1024, d1PageRows: 100, d1SnapshotBytes: 32 * 1024 * 1024 },
  });
}
