/**
 * Every resource the prod and staging stacks register, checked against the limits the real
 * providers and APIs enforce (mocks accept anything). The rule table and its sources are in
 * tests/helpers/providerRules.ts; the negative tests at the end prove each kind of rule can fail.
 */
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { Registration } from "../../lib/pulumi/registrations";
import { runStack } from "../helpers/program";
import {
  NOT_CHECKED,
  RULES,
  check,
  cronProblem,
  iamPolicySize,
  neonSnapshotCountRule,
  neonSnapshotsKept,
  s3BucketNameProblem,
  type Registered,
  type Rule,
} from "../helpers/providerRules";

const STACKS = ["prod", "staging"] as const;
const registered: Record<string, Registration[]> = {};

beforeAll(async () => {
  for (const stack of STACKS) {
    // index.ts runs once per module registry: reset so the second stack really runs.
    vi.resetModules();
    registered[stack] = (await runStack(stack)).registrations;
  }
});

const of = (stack: string): Registration[] => registered[stack] ?? [];
const messages = (rules: readonly Rule[], resources: readonly Registered[]): string[] => check(rules, resources).map((v) => v.message);

describe.each(STACKS)("%s stack: registered inputs within provider limits", (stack) => {
  it("has a rule, or a stated reason for none, for every registered resource type", () => {
    const types = [...new Set(of(stack).filter((r) => r.custom || r.type === "pulumi:pulumi:Stack").map((r) => r.type))].sort();
    expect(types.length).toBeGreaterThan(20);
    const ruled = new Set(RULES.map((r) => r.type));
    expect(types.filter((t) => !ruled.has(t) && !(t in NOT_CHECKED))).toEqual([]);
  });

  it.each(RULES.map((r) => [r.id, r] as const))("%s", (_id, rule) => {
    // A rule with nothing to look at would pass vacuously.
    expect(of(stack).filter((r) => r.type === rule.type).length).toBeGreaterThan(0);
    expect(messages([rule], of(stack))).toEqual([]);
  });
});

it("Neon keeps at most 10 snapshots (paid plans)", () => {
  expect(STACKS.flatMap((s) => messages([neonSnapshotCountRule], of(s)))).toEqual([]);
});

// ---------------------------------------------------------------------------------------------
// The checker itself: hand-built registrations that break one limit each.

const reg = (type: string, inputs: Record<string, unknown>, name = "bad"): Registered => ({ urn: `urn:pulumi:test::drposture::${type}::${name}`, type, name, inputs });
const ACCOUNT = "4b3f2f0e9c1d4a7e8f6a5b4c3d2e1f09";
const bucket = reg("cloudflare:index/r2Bucket:R2Bucket", { accountId: ACCOUNT, name: "drp-vault", jurisdiction: "default", location: "weur", storageClass: "Standard" }, "vault");

describe("the checker catches violations", () => {
  it("names the resource, the input path, the value and what is allowed", () => {
    const [v, ...rest] = check(RULES, [reg("cloudflare:index/r2Bucket:R2Bucket", { accountId: ACCOUNT, name: "drp-vault", location: "us-east" })]);
    expect(rest).toEqual([]);
    expect(v?.rule).toBe("r2-bucket");
    expect(v?.message).toContain("urn:pulumi:test::drposture::cloudflare:index/r2Bucket:R2Bucket::bad");
    expect(v?.message).toContain(`location = "us-east"`);
    expect(v?.message).toContain("wnam, enam, weur, eeur, apac, oc");
    expect(v?.message).toContain("developers.cloudflare.com/r2/reference/data-location");
  });

  it("R2: bad jurisdiction, storage class and bucket names", () => {
    const found = check(RULES, [
      reg("cloudflare:index/r2Bucket:R2Bucket", { accountId: ACCOUNT, name: "Drp_Vault", jurisdiction: "apac", storageClass: "Glacier" }),
      reg("cloudflare:index/r2BucketLock:R2BucketLock", { accountId: ACCOUNT, bucketName: "ab", jurisdiction: "default" }),
      reg("cloudflare:index/r2BucketLifecycle:R2BucketLifecycle", { accountId: ACCOUNT, bucketName: "-vault", jurisdiction: "eu" }),
    ]);
    expect(found.map((v) => [v.rule, v.path])).toEqual([
      ["r2-bucket", "storageClass"],
      ["r2-bucket", "name"],
      ["r2-bucket", "jurisdiction"],
      ["r2-lifecycle-bucket", "bucketName"],
      ["r2-lock-bucket", "bucketName"],
    ]);
  });

  it("cron: accepts Cloudflare's documented examples, refuses six fields and out-of-range values", () => {
    for (const ok of ["* * * * *", "*/30 * * * *", "0 17 * * sun", "10 7 * * mon-fri", "0 15 1 * *", "0 18 * * 6L", "59 23 LW * *", "0 9 * JAN,jul 2#1"]) expect(cronProblem(ok)).toBeUndefined();
    expect(cronProblem("0 0 3 * * *")).toMatch(/5 fields .* got 6/);
    expect(cronProblem("60 * * * *")).toMatch(/minute field "60"/);
    expect(cronProblem("0 24 * * *")).toMatch(/hour/);
    expect(cronProblem("0 0 0 * *")).toMatch(/day of month/);
    expect(cronProblem("0 0 * * 8")).toMatch(/weekday/);
    expect(cronProblem("0 0 L * *")).toBeUndefined();
    expect(cronProblem("0 0 * * L#")).toMatch(/weekday/);
    expect(cronProblem("*/0 * * * *")).toMatch(/minute/);
    const trigger = reg("cloudflare:index/workersCronTrigger:WorkersCronTrigger", { accountId: ACCOUNT, scriptName: "w", schedules: [{ cron: "0 * * * *" }, { cron: "0 0 3 * * *" }] });
    expect(check(RULES, [trigger]).map((v) => v.path)).toEqual(["schedules[1].cron"]);
    const many = reg("cloudflare:index/workersCronTrigger:WorkersCronTrigger", { accountId: ACCOUNT, scriptName: "w", schedules: Array.from({ length: 251 }, () => ({ cron: "0 * * * *" })) });
    expect(check(RULES, [many]).map((v) => v.rule)).toEqual(["worker-cron-count"]);
  });

  it("D1 and KV: names unique per account, documented enums and caps; bindings carry real ids", () => {
    const d1 = (name: string, extra: Record<string, unknown> = {}) => reg("cloudflare:index/d1Database:D1Database", { accountId: ACCOUNT, name, ...extra }, name);
    const kv = (title: string, extra: Record<string, unknown> = {}) => reg("cloudflare:index/workersKvNamespace:WorkersKvNamespace", { accountId: ACCOUNT, title, ...extra }, title.slice(0, 8));
    expect(check(RULES, [d1("scratch", { readReplication: { mode: "disabled" }, primaryLocationHint: "weur" }), kv("scratch", { jurisdiction: "eu" })])).toEqual([]);
    expect(check(RULES, [d1("same"), d1("same"), d1("x", { jurisdiction: "default", primaryLocationHint: "us-east", readReplication: { mode: "on" } })]).map((v) => [v.rule, v.path])).toEqual([
      ["d1-database", "name"],
      ["d1-database", "name"],
      ["d1-database", "jurisdiction"],
      ["d1-database", "primaryLocationHint"],
      ["d1-database", "readReplication.mode"],
    ]);
    expect(check(RULES, [kv("t".repeat(513)), kv("", { jurisdiction: "apac" })]).map((v) => [v.rule, v.path])).toEqual([
      ["kv-namespace", "title"],
      ["kv-namespace", "title"],
      ["kv-namespace", "jurisdiction"],
    ]);
    const bindings = [
      { type: "d1", name: "RESTORE_TEST_D1", id: "d1-scratch-1a2b3c4d" },
      { type: "kv_namespace", name: "RESTORE_TEST_KV", namespaceId: "scratch" },
      { type: "r2_bucket", name: "RESTORE_TEST_R2", bucketName: "Scratch_Bucket" },
    ];
    const script = reg("cloudflare:index/workersScript:WorkersScript", { accountId: ACCOUNT, scriptName: "w", bindings });
    expect(check(RULES, [script]).map((v) => v.path)).toEqual(["bindings[0] (RESTORE_TEST_D1).id", "bindings[1] (RESTORE_TEST_KV).namespaceId", "bindings[2] (RESTORE_TEST_R2).bucketName"]);
  });

  it("Queues: consumer settings past the documented maxima", () => {
    const consumer = reg("cloudflare:index/queueConsumer:QueueConsumer", {
      accountId: ACCOUNT,
      queueId: "q",
      scriptName: "w",
      settings: { batchSize: 101, maxRetries: 101, maxWaitTimeMs: 60_001, maxConcurrency: 251, retryDelay: 43_201 },
    });
    expect(check(RULES, [consumer]).map((v) => v.path)).toEqual(["settings.batchSize", "settings.maxRetries", "settings.maxWaitTimeMs", "settings.maxConcurrency", "settings.retryDelay"]);
    const queue = reg("cloudflare:index/queue:Queue", { accountId: ACCOUNT, queueName: "q", settings: { messageRetentionPeriod: 14 * 86_400 + 1 } });
    expect(check(RULES, [queue]).map((v) => v.rule)).toEqual(["queue-message-retention"]);
  });

  it("API tokens: wrong account, unknown bucket, malformed resource and permission groups", () => {
    const token = (resources: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      reg("cloudflare:index/accountToken:AccountToken", { accountId: ACCOUNT, name: "t", policies: [{ effect: "allow", permissionGroups: [{ id: "6a018a9f2fc74eb6b293b0c548f38b39" }], resources: JSON.stringify(resources), ...extra }] });
    const good = `com.cloudflare.edge.r2.bucket.${ACCOUNT}_default_drp-vault`;
    expect(check(RULES, [bucket, token({ [good]: "*" })])).toEqual([]);
    const wrongAccount = `com.cloudflare.edge.r2.bucket.${"0".repeat(32)}_default_drp-vault`;
    expect(messages(RULES, [bucket, token({ [wrongAccount]: "*" })]).join("\n")).toContain(`the token's account id ${ACCOUNT}`);
    expect(messages(RULES, [bucket, token({ [`com.cloudflare.edge.r2.bucket.${ACCOUNT}_eu_drp-vault`]: "*" })]).join("\n")).toContain("an R2 bucket registered in this stack");
    expect(messages(RULES, [bucket, token({ "r2.bucket.drp-vault": "*" })]).join("\n")).toContain("com.cloudflare.edge.r2.bucket.<account>_<jurisdiction>_<bucket>");
    expect(check(RULES, [bucket, token({ [good]: "*" }, { effect: "permit", permissionGroups: [{ name: "Workers R2 Storage Bucket Item Read" }] })]).map((v) => v.path)).toEqual([
      "policies[0].effect",
      "policies[0].permissionGroups[0].id",
    ]);
  });

  it("Worker: script name, binding names, variable size and count", () => {
    const bindings = [
      { type: "plain_text", name: "OK", text: "x" },
      { type: "plain_text", name: "NOT-AN-IDENTIFIER", text: "x" },
      { type: "json", name: "BIG_PLAN", json: JSON.stringify({ pad: "x".repeat(5_000) }) },
    ];
    const script = reg("cloudflare:index/workersScript:WorkersScript", { accountId: ACCOUNT, scriptName: "My Worker", bindings });
    expect(check(RULES, [script]).map((v) => v.path)).toEqual(["scriptName", "bindings[1].name", "bindings[2] (BIG_PLAN) size"]);
    const tooMany = Array.from({ length: 129 }, (_, n) => ({ type: "secret_text", name: `S${n}`, text: "x" }));
    expect(check(RULES, [reg("cloudflare:index/workersScript:WorkersScript", { accountId: ACCOUNT, scriptName: "w", bindings: tooMany })]).map((v) => v.path)).toEqual(["bindings (text, json and secret)"]);
  });

  it("Neon: retention past 30 days, a malformed schedule, more than 10 snapshots", () => {
    const command = (history: number, schedule: unknown[]) =>
      reg("command:local:Command", { create: "x", environment: { NEON_HISTORY_RETENTION_SECONDS: String(history), NEON_BACKUP_SCHEDULE: JSON.stringify(schedule) } });
    const ten = [{ frequency: "daily", hour: 3, retention_seconds: 7 * 86_400 }, { frequency: "weekly", day: 1, hour: 3, retention_seconds: 3 * 604_800 }];
    expect(neonSnapshotsKept(ten)).toBe(10);
    expect(check([...RULES, neonSnapshotCountRule], [command(2_592_000, ten)])).toEqual([]);
    const eleven = [...ten, { frequency: "monthly", day: 1, hour: 3, retention_seconds: 31 * 86_400 }];
    expect(check([neonSnapshotCountRule], [command(86_400, eleven)]).map((v) => v.value)).toEqual([11]);
    expect(neonSnapshotsKept([{ frequency: "daily", hour: 3 }])).toBe(Infinity);
    const bad = [{ frequency: "fortnightly", hour: 24, retention_seconds: 60 }];
    expect(check(RULES, [command(2_592_001, bad)]).map((v) => v.path)).toEqual([
      "environment.NEON_HISTORY_RETENTION_SECONDS",
      "environment.NEON_BACKUP_SCHEDULE[0].frequency",
      "environment.NEON_BACKUP_SCHEDULE[0].hour",
      "environment.NEON_BACKUP_SCHEDULE[0].retention_seconds",
    ]);
  });

  it("S3 bucket names", () => {
    for (const [name, why] of [
      ["ab", "3-63"],
      ["My-Bucket", "lowercase"],
      ["-bucket", "begin and end"],
      ["my..bucket", "adjacent periods"],
      ["192.168.5.4", "IP address"],
      ["xn--bucket", "xn--"],
      ["backups-s3alias", "-s3alias"],
    ] as const) {
      expect(s3BucketNameProblem(name), name).toContain(why);
    }
    expect(s3BucketNameProblem("drp-drposture-prod-b413bd")).toBeUndefined();
  });

  it("IAM: user names and the 2,048-character inline policy total per user", () => {
    expect(check(RULES, [reg("aws:iam/user:User", { name: "x".repeat(65), path: "drposture" })]).map((v) => v.path)).toEqual(["name", "path"]);
    const policy = (user: string, sid: string, n: number) =>
      reg("aws:iam/userPolicy:UserPolicy", { user, policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: sid, Effect: "Allow", Action: ["s3:GetObject"], Resource: Array.from({ length: n }, (_, k) => `arn:aws:s3:::b/p${k}/*`) }] }) }, `${user}-${sid}`);
    const a = policy("u", "A", 50);
    const b = policy("u", "B", 50);
    expect(iamPolicySize(a.inputs.policy as string)).toBeLessThan(2_048);
    // Each fits alone; together they pass the per-user total, and both report it.
    expect(check(RULES, [a])).toEqual([]);
    expect(check(RULES, [a, b, policy("other", "C", 50)]).map((v) => v.resource)).toEqual([a.urn, b.urn]);
  });

  it("KMS aliases, SNS topics, Secrets Manager names", () => {
    const found = check(RULES, [
      reg("aws:kms/alias:Alias", { name: "alias/aws/backups" }),
      reg("aws:kms/alias:Alias", { name: "backups" }, "no-prefix"),
      reg("aws:sns/topic:Topic", { name: "alerts.prod" }),
      reg("aws:secretsmanager/secret:Secret", { name: "drposture/key-abcdef", recoveryWindowInDays: 3 }),
    ]);
    expect(found.map((v) => [v.rule, v.path])).toEqual([
      ["kms-alias-name", "name"],
      ["kms-alias-name", "name"],
      ["sns-topic-name", "name"],
      ["secretsmanager-secret", "name"],
      ["secretsmanager-secret", "recoveryWindowInDays"],
    ]);
  });

  it("CloudWatch: period values and the evaluation window", () => {
    const alarm = (period: number, evaluationPeriods: number) => reg("aws:cloudwatch/metricAlarm:MetricAlarm", { name: "a", period, evaluationPeriods }, `a-${period}-${evaluationPeriods}`);
    expect(check(RULES, [alarm(10, 1), alarm(20, 1), alarm(30, 1), alarm(900, 96), alarm(86_400, 7)])).toEqual([]);
    expect(check(RULES, [alarm(45, 1), alarm(900, 97), alarm(3_600, 169)]).map((v) => v.value)).toEqual([45, 87_300, 608_400]);
  });

  it("S3 lifecycle and Object Lock default retention", () => {
    const lifecycle = reg("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", {
      bucket: "b",
      rules: [{ id: "x".repeat(256), status: "Enabled", expiration: { days: 0 }, noncurrentVersionExpiration: { noncurrentDays: 0 }, abortIncompleteMultipartUpload: { daysAfterInitiation: -1 } }],
    });
    expect(check(RULES, [lifecycle]).map((v) => v.path)).toEqual([
      "rules[0].id",
      "rules[0].expiration.days",
      "rules[0].noncurrentVersionExpiration.noncurrentDays",
      "rules[0].abortIncompleteMultipartUpload.daysAfterInitiation",
    ]);
    const lock = (defaultRetention: Record<string, unknown>) => reg("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", { bucket: "b", rule: { defaultRetention } });
    expect(check(RULES, [lock({ mode: "COMPLIANCE", days: 35 })])).toEqual([]);
    expect(check(RULES, [lock({ mode: "LEGAL", days: 1, years: 1 })]).map((v) => v.path)).toEqual(["rule.defaultRetention.mode", "rule.defaultRetention"]);
    expect(check(RULES, [lock({ mode: "GOVERNANCE", years: 101 })]).map((v) => v.path)).toEqual(["rule.defaultRetention.years"]);
  });
});
