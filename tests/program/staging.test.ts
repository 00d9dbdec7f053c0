/** The staging stack: same shape as prod, its own numbers, GOVERNANCE-mode lock. */
import { beforeAll, describe, expect, it } from "vitest";
import { ofType, one, runStack, type LoadedProgram } from "../helpers/program";

let run: LoadedProgram;
beforeAll(async () => {
  run = await runStack("staging");
});
const R = () => run.mocks.resources;

describe("staging", () => {
  it("evaluates to the same set of components as prod", () => {
    expect(R().filter((r) => r.type.startsWith("drposture:")).map((r) => r.type).sort()).toEqual([
      "drposture:access:BackupAccess",
      "drposture:alerts:AlertRules",
      "drposture:index:DisasterRecovery",
      "drposture:neon:NeonPitr",
      "drposture:testing:RestoreTesting",
      "drposture:vault:BackupVault",
      "drposture:worker:BackupWorker",
    ]);
  });

  it("uses GOVERNANCE-mode Object Lock and staging's daily retention", () => {
    expect(one(R(), "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration").inputs.rule).toEqual({
      defaultRetention: { mode: "GOVERNANCE", days: 7 },
    });
  });

  it("lifecycle days follow staging's retention (7 days, 4 weeks, 3 months)", () => {
    const rules = one(R(), "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs.rules as any[];
    expect(rules.map((r) => r.expiration.days)).toEqual([7, 28, 93]);
  });

  it("puts the S3 copy in us-west-2, away from the us-east-1 primary", () => {
    expect(one(R(), "aws:s3/bucket:Bucket").inputs.region).toBe("us-west-2");
  });

  it("alarms follow staging's RPOs (4 h default, 1 h for sessions, 24 h for Neon)", () => {
    const periods = ofType(R(), "aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => [a.inputs.name, a.inputs.period]);
    expect(periods).toEqual([
      ["drp-drposture-staging-backup-stale-d1-app-db", 14400],
      ["drp-drposture-staging-backup-stale-neon-app", 86400],
      ["drp-drposture-staging-backup-stale-kv-sessions", 3600],
      ["drp-drposture-staging-backup-stale-r2-user-uploads", 14400],
    ]);
  });
});
