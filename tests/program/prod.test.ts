/**
 * The prod stack under realistic mocks: the resources `pulumi up` would create and the
 * properties that carry the posture, each compared with the number in Pulumi.prod.yaml.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { ofType, one, parseJsonInput, plaintextStrings, runStack, type LoadedProgram } from "../helpers/program";

let run: LoadedProgram;
beforeAll(async () => {
  run = await runStack("prod");
});

const R = () => run.mocks.resources;
const DAY = 86_400;

describe("prod: components", () => {
  it("declares every component with its type token, parented under DisasterRecovery", () => {
    const components = R().filter((r) => !r.custom && r.type.startsWith("drposture:"));
    expect(components.map((c) => c.type).sort()).toEqual([
      "drposture:access:BackupAccess",
      "drposture:alerts:AlertRules",
      "drposture:index:DisasterRecovery",
      "drposture:neon:NeonPitr",
      "drposture:vault:BackupVault",
    ]);
    // Child names derive from the component name: no hard-coded physical names.
    for (const r of R().filter((x) => x.type !== "pulumi:pulumi:Stack" && x.type !== "drposture:index:DisasterRecovery")) {
      expect(r.name.startsWith("drposture-prod-")).toBe(true);
    }
  });

  it("puts the posture values on the root component's inputs for the policy pack", () => {
    const root = one(R(), "drposture:index:DisasterRecovery");
    expect(root.inputs.environment).toBe("prod");
    expect(root.inputs.retention).toEqual({ daily: 35, weekly: 12, monthly: 12 });
    const assets = root.inputs.assets as Array<{ id: string; rpoMinutes: number }>;
    expect(assets.find((a) => a.id === "kv/sessions")?.rpoMinutes).toBe(15);
    expect((root.inputs.neon as { restoreWindowDays: number }).restoreWindowDays).toBe(14);
  });
});

describe("prod: BackupVault", () => {
  it("R2 lifecycle expires each tier prefix exactly at the tier's retention", () => {
    const lc = one(R(), "cloudflare:index/r2BucketLifecycle:R2BucketLifecycle");
    const rules = lc.inputs.rules as Array<any>;
    expect(rules.map((r) => [r.conditions.prefix, r.deleteObjectsTransition.condition.maxAge / DAY])).toEqual([
      ["daily/", 35],
      ["weekly/", 84],
      ["monthly/", 372],
    ]);
    for (const r of rules) expect(r.abortMultipartUploadsTransition.condition).toEqual({ type: "Age", maxAge: DAY });
  });

  it("R2 bucket lock covers every tier prefix for the tier's retention", () => {
    const lock = one(R(), "cloudflare:index/r2BucketLock:R2BucketLock");
    expect((lock.inputs.rules as any[]).map((r) => [r.prefix, r.enabled, r.condition.type, r.condition.maxAgeSeconds / DAY])).toEqual([
      ["daily/", true, "Age", 35],
      ["weekly/", true, "Age", 84],
      ["monthly/", true, "Age", 372],
    ]);
  });

  it("R2 bucket in the configured location, named with a random suffix", () => {
    const r2 = one(R(), "cloudflare:index/r2Bucket:R2Bucket");
    expect(r2.inputs.location).toBe("weur");
    expect(r2.inputs.jurisdiction).toBe("default");
    const suffix = one(R(), "random:index/randomId:RandomId").state.hex as string;
    expect(r2.inputs.name).toBe(`drp-drposture-prod-${suffix}`);
  });

  it("S3 bucket: other region, Object Lock on, versioning on", () => {
    const bucket = one(R(), "aws:s3/bucket:Bucket");
    expect(bucket.inputs.region).toBe("eu-central-1");
    expect(bucket.inputs.objectLockEnabled).toBe(true);
    expect(bucket.inputs.forceDestroy).toBe(false);
    expect(one(R(), "aws:s3/bucketVersioning:BucketVersioning").inputs.versioningConfiguration).toEqual({ status: "Enabled" });
  });

  it("S3 Object Lock: COMPLIANCE in prod, default retention = the shortest tier", () => {
    const lock = one(R(), "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration");
    expect(lock.inputs.rule).toEqual({ defaultRetention: { mode: "COMPLIANCE", days: 35 } });
  });

  it("S3 lifecycle per tier: expiry = tier retention, noncurrent expiry, aborted multipart cleanup", () => {
    const lc = one(R(), "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration");
    expect((lc.inputs.rules as any[]).map((r) => [r.filter.prefix, r.status, r.expiration.days])).toEqual([
      ["daily/", "Enabled", 35],
      ["weekly/", "Enabled", 84],
      ["monthly/", "Enabled", 372],
    ]);
    for (const r of lc.inputs.rules as any[]) {
      expect(r.noncurrentVersionExpiration.noncurrentDays).toBeGreaterThan(0);
      expect(r.abortIncompleteMultipartUpload.daysAfterInitiation).toBe(1);
    }
  });

  it("SSE-KMS with a rotating customer-managed key and the bucket key on", () => {
    const key = one(R(), "aws:kms/key:Key");
    expect(key.inputs.enableKeyRotation).toBe(true);
    expect(key.inputs.region).toBe("eu-central-1");
    const sse = one(R(), "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
    const rule = (sse.inputs.rules as any[])[0];
    expect(rule.applyServerSideEncryptionByDefault).toEqual({ sseAlgorithm: "aws:kms", kmsMasterKeyId: key.state.arn });
    expect(rule.bucketKeyEnabled).toBe(true);
  });

  it("blocks all public access, enforces bucket-owner ownership, denies non-TLS", () => {
    const pab = one(R(), "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs;
    expect([pab.blockPublicAcls, pab.blockPublicPolicy, pab.ignorePublicAcls, pab.restrictPublicBuckets]).toEqual([true, true, true, true]);
    expect(one(R(), "aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs.rule).toEqual({ objectOwnership: "BucketOwnerEnforced" });
    const policy = parseJsonInput<any>(one(R(), "aws:s3/bucketPolicy:BucketPolicy").inputs.policy);
    const deny = policy.Statement.find((s: any) => s.Effect === "Deny");
    expect(deny).toMatchObject({ Principal: "*", Action: "s3:*", Condition: { Bool: { "aws:SecureTransport": "false" } } });
  });
});

describe("prod: BackupAccess", () => {
  const policyOf = (role: string) => {
    const p = R().find((r) => r.type === "aws:iam/userPolicy:UserPolicy" && r.name.endsWith(`-${role}-policy`));
    if (!p) throw new Error(`no policy for ${role}`);
    return parseJsonInput<{ Statement: Array<{ Action: string[]; Resource: string | string[]; Effect: string }> }>(p.inputs.policy);
  };
  const actions = (role: string) => policyOf(role).Statement.flatMap((s) => s.Action);

  it("the writer can only put under the tier prefixes and encrypt", () => {
    const bucket = one(R(), "aws:s3/bucket:Bucket").state.bucket as string;
    const put = policyOf("writer").Statement.find((s) => s.Action.includes("s3:PutObject"));
    expect(put?.Resource).toEqual([`arn:aws:s3:::${bucket}/daily/*`, `arn:aws:s3:::${bucket}/weekly/*`, `arn:aws:s3:::${bucket}/monthly/*`]);
    for (const a of actions("writer")) {
      expect(a).not.toMatch(/\*|Delete|Bypass|PutBucket|PutLifecycle|PutObjectLockConfiguration|PutEncryption|GetObject|ScheduleKeyDeletion|DisableKey/);
    }
    expect(policyOf("writer").Statement.every((s) => s.Effect === "Allow")).toBe(true);
  });

  it("verifier and restorer are read-only, separate identities", () => {
    for (const role of ["verifier", "restorer"]) {
      for (const a of actions(role)) expect(a).toMatch(/^(s3:Get|s3:List|kms:Decrypt)/);
    }
    const users = ofType(R(), "aws:iam/user:User").map((u) => u.inputs.name);
    expect(users).toEqual(["drp-drposture-prod-writer", "drp-drposture-prod-verifier", "drp-drposture-prod-restorer"]);
    expect(ofType(R(), "aws:iam/accessKey:AccessKey")).toHaveLength(3);
  });

  it("Cloudflare tokens are scoped to the backup bucket with object-level permission groups", () => {
    const bucket = one(R(), "cloudflare:index/r2Bucket:R2Bucket").inputs.name as string;
    const tokens = ofType(R(), "cloudflare:index/accountToken:AccountToken");
    expect(tokens).toHaveLength(2);
    const groups = tokens.map((t) => (t.inputs.policies as any[])[0].permissionGroups[0].id).sort();
    expect(groups).toEqual(["2efd5506f9c8494dacb1fa10a3e7d5b6", "6a018a9f2fc74eb6b293b0c548f38b39"]);
    for (const t of tokens) {
      const resources = JSON.parse((t.inputs.policies as any[])[0].resources as string);
      expect(resources).toEqual({ [`com.cloudflare.edge.r2.bucket.4b3f2f0e9c1d4a7e8f6a5b4c3d2e1f09_default_${bucket}`]: "*" });
    }
  });
});

describe("prod: AlertRules", () => {
  it("SNS topic in the vault region with the configured email subscriptions", () => {
    expect(one(R(), "aws:sns/topic:Topic").inputs.region).toBe("eu-central-1");
    const subs = ofType(R(), "aws:sns/topicSubscription:TopicSubscription");
    expect(subs.map((s) => [s.inputs.protocol, s.inputs.endpoint])).toEqual([["email", "oncall@example.com"]]);
  });

  it("one staleness alarm per asset, over that asset's RPO, counting its manifest uploads", () => {
    const alarms = ofType(R(), "aws:cloudwatch/metricAlarm:MetricAlarm");
    const metrics = ofType(R(), "aws:s3/bucketMetric:BucketMetric");
    const byAsset = Object.fromEntries(
      metrics.map((m) => {
        const tags = (m.inputs.filter as { tags: Record<string, string> }).tags;
        const alarm = alarms.find((a) => (a.inputs.dimensions as Record<string, string>).FilterId === m.inputs.name);
        return [tags["drposture-asset"], { period: alarm?.inputs.period, object: tags["drposture-object"], missing: alarm?.inputs.treatMissingData }];
      }),
    );
    expect(byAsset).toEqual({
      "d1/app-db": { period: 3600, object: "manifest", missing: "breaching" },
      "kv/sessions": { period: 900, object: "manifest", missing: "breaching" },
      "kv/feature-flags": { period: 3600, object: "manifest", missing: "breaching" },
      "r2/user-uploads": { period: 3600, object: "manifest", missing: "breaching" },
      "neon/app": { period: 86400, object: "manifest", missing: "breaching" },
    });
    const topic = one(R(), "aws:sns/topic:Topic").state.arn;
    for (const a of alarms) expect(a.inputs.alarmActions).toEqual([topic]);
  });

  it("Cloudflare incidents go to the webhook destination", () => {
    const policy = one(R(), "cloudflare:index/notificationPolicy:NotificationPolicy");
    expect(policy.inputs.alertType).toBe("incident_alert");
    const hook = one(R(), "cloudflare:index/notificationPolicyWebhooks:NotificationPolicyWebhooks");
    expect((policy.inputs.mechanisms as any).webhooks).toEqual([{ id: hook.id }]);
  });
});

describe("prod: NeonPitr", () => {
  it("applies the restore window and snapshot schedule through the Neon API script", () => {
    const cmd = one(R(), "command:local:Command");
    expect(cmd.inputs.create).toMatch(/neonSettings\.ts" apply$/);
    expect(cmd.inputs.update).toBe(cmd.inputs.create);
    expect(cmd.inputs.delete).toMatch(/neonSettings\.ts" release$/);
    const env = parseJsonInput<Record<string, string>>(cmd.inputs.environment);
    expect(env.NEON_HISTORY_RETENTION_SECONDS).toBe(String(14 * DAY));
    expect(env.NEON_PROJECT_ID).toBe("spring-example-302709");
    expect(JSON.parse(env.NEON_BACKUP_SCHEDULE as string).map((s: any) => s.retention_seconds / DAY)).toEqual([35, 84, 372]);
  });
});

describe("prod: outputs and secrets", () => {
  it("exports bucket names, identity ARNs and the RPO/RTO table", () => {
    const o = run.outputs;
    expect(o.s3BackupBucketArn).toMatch(/^arn:aws:s3:::drp-drposture-prod-[0-9a-f]{6}$/);
    expect(o.writerArn).toBe("arn:aws:iam::123456789012:user/drposture/drp-drposture-prod-writer");
    expect(o.rpoRtoTable).toContainEqual({ asset: "kv/sessions", kind: "kv", rpoMinutes: 15, rtoMinutes: 30, priority: 2, backupCron: "*/15 * * * *" });
  });

  it("credential outputs are secrets", async () => {
    const e = run.exports;
    for (const key of ["verifierSecretAccessKey", "restorerSecretAccessKey", "r2WriterSecretAccessKey", "r2ReaderSecretAccessKey"]) {
      expect(await pulumi.isSecret(e[key] as pulumi.Output<string>), key).toBe(true);
    }
    expect(await pulumi.isSecret(e.s3BackupBucket as pulumi.Output<string>)).toBe(false);
  });

  it("no plaintext secret in any registered input", () => {
    const secrets = [
      "https://secret.invalid/drposture-placeholder",
      "secret-placeholder",
      ...ofType(R(), "aws:iam/accessKey:AccessKey").map((k) => k.state.secret as string),
      ...ofType(R(), "cloudflare:index/accountToken:AccountToken").map((t) => t.state.value as string),
    ];
    for (const r of R()) {
      const plain = plaintextStrings(r.inputs);
      for (const s of secrets) expect(plain.some((p) => p.includes(s)), `${r.type} ${r.name}`).toBe(false);
    }
    // The secret values did reach the resources that need them, wrapped as secrets.
    const hook = one(R(), "cloudflare:index/notificationPolicyWebhooks:NotificationPolicyWebhooks");
    expect(plaintextStrings(hook.inputs)).not.toContain("https://secret.invalid/drposture-placeholder");
    expect(JSON.stringify(hook.inputs)).toContain("https://secret.invalid/drposture-placeholder");
  });
});
