/**
 * The prod stack under realistic mocks: the resources `pulumi up` would create and the
 * properties that carry the posture, each compared with the number in Pulumi.prod.yaml.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { bundleWorker } from "../../lib/worker/bundle";
import { assemblePlan } from "../../lib/backup/planBindings";
import { authorize } from "../../lib/local/objectStore/iamAuthorizer";
import { importMasterKey } from "../../lib/format/keys";
import { ofType, one, parseJsonInput, plaintextStrings, runStack, unwrapSecret, type LoadedProgram } from "../helpers/program";

let run: LoadedProgram;
beforeAll(async () => {
  run = await runStack("prod");
});

const R = () => run.mocks.resources;
const DAY = 86_400;
/** The vault's R2 bucket (the stack also declares a scratch bucket for restore tests). */
const vaultR2 = () => one(R().filter((r) => r.name.endsWith("-vault-r2")), "cloudflare:index/r2Bucket:R2Bucket");
/** The data-encryption key (the Worker also has a trigger key from @pulumi/random). */
const dataKey = () => one(R().filter((r) => r.name.endsWith("-data-key")), "random:index/randomBytes:RandomBytes");

describe("prod: components", () => {
  it("declares every component with its type token, parented under DisasterRecovery", () => {
    const components = R().filter((r) => !r.custom && r.type.startsWith("drposture:"));
    expect(components.map((c) => c.type).sort()).toEqual([
      "drposture:access:BackupAccess",
      "drposture:alerts:AlertRules",
      "drposture:index:DisasterRecovery",
      "drposture:neon:NeonPitr",
      "drposture:testing:RestoreTesting",
      "drposture:vault:BackupVault",
      "drposture:worker:BackupWorker",
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
    const r2 = vaultR2();
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
    const key = ofType(R(), "aws:kms/key:Key").find((k) => k.name.endsWith("-vault-kms"))!;
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
      for (const a of actions(role)) expect(a).toMatch(role === "restorer" ? /^(s3:Get|s3:List|kms:Decrypt|secretsmanager:GetSecretValue$)/ : /^(s3:Get|s3:List|kms:Decrypt)/);
    }
    const users = ofType(R(), "aws:iam/user:User").map((u) => u.inputs.name);
    expect(users).toEqual(expect.arrayContaining(["drp-drposture-prod-writer", "drp-drposture-prod-verifier", "drp-drposture-prod-restorer"]));
    const keys = ofType(R(), "aws:iam/accessKey:AccessKey").filter((k) => k.name.includes("-access-"));
    expect(keys).toHaveLength(3);
  });

  it("Cloudflare tokens are scoped to the backup bucket with object-level permission groups", () => {
    const bucket = vaultR2().inputs.name as string;
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

  it("the topic's key lets CloudWatch alarms and the Worker's publisher use it (alias/aws/sns would not)", async () => {
    // Evaluated with an IAM evaluator over the policies the program declares: CloudWatch needs
    // kms:Decrypt and kms:GenerateDataKey* on the topic's key, the publisher the same through SNS
    // (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
    const topic = one(R(), "aws:sns/topic:Topic");
    const key = ofType(R(), "aws:kms/key:Key").find((k) => k.state.arn === topic.inputs.kmsMasterKeyId);
    expect(key, "the topic is encrypted with a key declared in the stack").toBeDefined();
    const keyPolicy = JSON.parse(key!.inputs.policy as string);
    const account = "123456789012";
    for (const action of ["kms:GenerateDataKey", "kms:Decrypt"]) {
      const cloudwatch = await authorize({ principal: { arn: "cloudwatch.amazonaws.com", accountId: account, identityPolicies: [] }, action, resource: key!.state.arn as string, resourceAccount: account, context: { "aws:SourceAccount": account }, resourcePolicy: keyPolicy });
      expect(cloudwatch, `CloudWatch ${action}`).toBe("Allowed");
      const publisherPolicy = JSON.parse(ofType(R(), "aws:iam/userPolicy:UserPolicy").find((p) => p.name.endsWith("publisher-policy"))!.inputs.policy as string);
      const publisherArn = ofType(R(), "aws:iam/user:User").find((u) => u.name.endsWith("-publisher"))!.state.arn as string;
      const publisher = await authorize({ principal: { arn: publisherArn, accountId: account, identityPolicies: [{ name: "p", policy: publisherPolicy }] }, action, resource: key!.state.arn as string, resourceAccount: account, context: { "kms:ViaService": "sns.eu-central-1.amazonaws.com" }, resourcePolicy: keyPolicy });
      expect(publisher, `publisher ${action}`).toBe("Allowed");
    }
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

  it("Cloudflare incidents go to the alert emails; the PagerDuty URL is not made a Cloudflare webhook", () => {
    // prod's webhookFormat is pagerduty: Cloudflare's test POST to an Events URL fails (issue #8).
    const policy = one(R(), "cloudflare:index/notificationPolicy:NotificationPolicy");
    expect(policy.inputs.alertType).toBe("incident_alert");
    expect(policy.inputs.mechanisms).toEqual({ emails: [{ id: "oncall@example.com" }] });
    expect(ofType(R(), "cloudflare:index/notificationPolicyWebhooks:NotificationPolicyWebhooks")).toEqual([]);
  });
});

describe("prod: BackupWorker", () => {
  const script = () => one(R(), "cloudflare:index/workersScript:WorkersScript");
  // The provider receives the bindings as one secret value (they include secrets).
  const bindings = () => unwrapSecret(script().inputs.bindings).value as Array<Record<string, unknown>>;
  const binding = (name: string) => bindings().find((b) => b.name === name) as Record<string, unknown>;

  it("deploys the deterministic worker bundle as an ES module with nodejs_compat", () => {
    const s = script().inputs;
    expect(s.mainModule).toBe("index.js");
    expect(s.compatibilityFlags).toEqual(["nodejs_compat"]);
    const bundle = bundleWorker();
    expect(createHash("sha256").update(s.content as string).digest("hex")).toBe(bundle.sha256);
    expect(binding("WORKER_VERSION").text).toBe(bundle.version);
  });

  it("binds every protected source, the R2 backup bucket and the step queue", () => {
    expect(binding("D1_APP_DB")).toMatchObject({ type: "d1", id: "6f1c2b7e-2d4a-4c1e-9b3f-8a7d6c5e4f31" });
    expect(binding("KV_SESSIONS")).toMatchObject({ type: "kv_namespace", namespaceId: "0f6b1e2d3c4a5b69788776655443322a" });
    expect(binding("KV_FEATURE_FLAGS")).toMatchObject({ type: "kv_namespace", namespaceId: "9a8b7c6d5e4f30211203948576a6b7c8" });
    expect(binding("R2_USER_UPLOADS")).toMatchObject({ type: "r2_bucket", bucketName: "acme-user-uploads" });
    expect(binding("BACKUP_R2")).toMatchObject({ type: "r2_bucket", bucketName: vaultR2().inputs.name });
    expect(binding("BACKUP_QUEUE")).toMatchObject({ type: "queue", queueName: "drp-drposture-prod-backup-steps" });
    const consumer = one(R(), "cloudflare:index/queueConsumer:QueueConsumer").inputs;
    expect(consumer).toMatchObject({ scriptName: "drp-drposture-prod-backup", type: "worker", settings: { batchSize: 1 } });
  });

  it("passes the plan derived from the posture: assets with their RPO crons, tiers, destinations", () => {
    // Bound as the Worker reads it: the header and its asset parts, each within 5 KB.
    const env = Object.fromEntries(bindings().filter((b) => b.type === "json").map((b) => [b.name, JSON.parse(b.json as string)]));
    for (const b of bindings().filter((x) => x.type === "json" || x.type === "plain_text")) {
      expect(Buffer.byteLength(String(b.json ?? b.text)), String(b.name)).toBeLessThanOrEqual(5 * 1024);
    }
    const plan = assemblePlan(env);
    expect(plan.assets.map((a: any) => [`${a.kind}/${a.name}`, a.rpoMinutes, a.cron, a.binding ?? null])).toEqual([
      ["d1/app-db", 60, "0 * * * *", "D1_APP_DB"],
      ["neon/app", 1440, "17 2 * * *", null],
      ["kv/feature-flags", 60, "0 * * * *", "KV_FEATURE_FLAGS"],
      ["kv/sessions", 15, "*/15 * * * *", "KV_SESSIONS"],
      ["r2/user-uploads", 60, "0 * * * *", "R2_USER_UPLOADS"],
    ]);
    expect(plan.tiers.map((t: any) => t.retentionDays)).toEqual([35, 84, 372]);
    expect(plan.destinations.s3).toMatchObject({ region: "eu-central-1", lockMode: "COMPLIANCE", addressing: "virtual" });
    expect(plan.neon).toMatchObject({ projectId: "spring-example-302709", restoreWindowDays: 14 });
  });

  it("declares the minimal set of cron triggers: one per distinct RPO-derived schedule", () => {
    const crons = one(R(), "cloudflare:index/workersCronTrigger:WorkersCronTrigger").inputs.schedules as Array<{ cron: string }>;
    // The backup crons, then the restore-test cron (tests/program/restore-testing.test.ts).
    expect(crons.map((c) => c.cron)).toEqual(["*/15 * * * *", "0 * * * *", "17 2 * * *", "41 3 * * *"]);
  });

  it("binds every credential and the encryption key as secret_text with secret values", () => {
    const secrets = bindings().filter((b) => b.type === "secret_text");
    expect(secrets.map((b) => b.name).sort()).toEqual(
      [
        "ALERT_WEBHOOK_URL",
        "ENCRYPTION_KEY",
        "NEON_API_KEY",
        "S3_VERIFIER_ACCESS_KEY_ID",
        "S3_VERIFIER_SECRET_ACCESS_KEY",
        "S3_WRITER_ACCESS_KEY_ID",
        "S3_WRITER_SECRET_ACCESS_KEY",
        "SNS_ACCESS_KEY_ID",
        "SNS_SECRET_ACCESS_KEY",
        "TRIGGER_KEY",
      ].sort(),
    );
    expect(unwrapSecret(script().inputs.bindings).secret).toBe(true);
    expect(bindings().filter((b) => b.type === "plain_text").map((b) => b.name)).toEqual(["WORKER_VERSION"]);
    const key = dataKey();
    expect(key.inputs.length).toBe(32);
    expect(binding("ENCRYPTION_KEY").text).toBe(key.state.hex);
  });

  it("escrows the key in Secrets Manager in the vault region under a name carrying its key id, readable by the restorer", async () => {
    const key = dataKey().state.hex as string;
    const keyId = (await importMasterKey(key)).id;
    const secret = one(R(), "aws:secretsmanager/secret:Secret");
    // One secret per key: a rebuilt stack (a new key) never collides with the one kept before.
    expect(secret.inputs).toMatchObject({ region: "eu-central-1", name: `drposture/prod/data-encryption-key/${keyId}` });
    const version = one(R(), "aws:secretsmanager/secretVersion:SecretVersion");
    const escrowed = parseJsonInput<{ keyHex: string; keyId: string }>(version.inputs.secretString);
    expect(unwrapSecret(version.inputs.secretString).secret).toBe(true);
    expect(escrowed.keyHex).toBe(key);
    expect(escrowed.keyId).toBe(keyId);
    expect(run.outputs.encryptionKeyId).toBe(keyId);
    // The restorer reads every key of this stack through its own policy (a resource policy
    // would name the user by its unique id and lock out the restorer of a rebuilt stack).
    expect(ofType(R(), "aws:secretsmanager/secretPolicy:SecretPolicy")).toEqual([]);
    const restorer = parseJsonInput<any>(ofType(R(), "aws:iam/userPolicy:UserPolicy").find((p) => p.name.endsWith("restorer-policy"))!.inputs.policy);
    expect(restorer.Statement).toContainEqual({ Sid: "RestoreReadsEscrowedKeys", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: "arn:aws:secretsmanager:eu-central-1:123456789012:secret:drposture/prod/data-encryption-key/*" });
  });
});

describe("prod: NeonPitr", () => {
  it("applies the restore window and snapshot schedule through the Neon API script", () => {
    const cmd = one(R().filter((r) => r.name.endsWith("-neon-settings")), "command:local:Command");
    expect(cmd.inputs.create).toMatch(/neonSettings\.ts" apply$/);
    expect(cmd.inputs.update).toBe(cmd.inputs.create);
    expect(cmd.inputs.delete).toMatch(/neonSettings\.ts" release$/);
    const env = parseJsonInput<Record<string, string>>(cmd.inputs.environment);
    expect(env.NEON_HISTORY_RETENTION_SECONDS).toBe(String(14 * DAY));
    expect(env.NEON_PROJECT_ID).toBe("spring-example-302709");
    expect(JSON.parse(env.NEON_BACKUP_SCHEDULE as string).map((s: any) => [s.frequency, s.retention_seconds / DAY])).toEqual([
      ["daily", 7],
      ["weekly", 21],
    ]);
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
      dataKey().state.hex as string,
    ];
    for (const r of R()) {
      const plain = plaintextStrings(r.inputs);
      for (const s of secrets) expect(plain.some((p) => p.includes(s)), `${r.type} ${r.name}`).toBe(false);
    }
    // The secret values did reach the resources that need them, wrapped as secrets.
    const script = one(R(), "cloudflare:index/workersScript:WorkersScript");
    expect(plaintextStrings(script.inputs)).not.toContain("https://secret.invalid/drposture-placeholder");
    expect(JSON.stringify(script.inputs)).toContain("https://secret.invalid/drposture-placeholder");
  });
});
