/** The policies called directly, on small synthetic resources: the edge cases of each rule. */
import type { PolicyResource, ReportViolation, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import { longestGapMinutes, backupFrequencyMeetsRpo } from "../../policies/src/frequency";
import { backupIdentityLeastPrivilege } from "../../policies/src/leastPrivilege";
import { copiesInTwoProviders } from "../../policies/src/isolation";
import { retentionMinimums } from "../../policies/src/retention";
import { r2BucketLock } from "../../policies/src/immutability";
import { tiersCovered } from "../../policies/src/resources";
import { assetsCovered } from "../../policies/src/coverage";
import { workerSecretsAreSecret } from "../../policies/src/secrets";

function resource(type: string, name: string, props: Record<string, unknown>): PolicyResource {
  return { type, name, props, urn: `urn:pulumi:t::p::${type}::${name}`, opts: {} as never, dependencies: [], propertyDependencies: {}, isType: () => false, asType: () => undefined } as PolicyResource;
}

function runResource(policy: ResourceValidationPolicy, r: PolicyResource, config: Record<string, unknown> = {}): string[] {
  const out: string[] = [];
  const report = ((m: string) => out.push(m)) as ReportViolation;
  const fn = policy.validateResource as (a: unknown, r: ReportViolation) => void;
  fn({ ...r, stackTags: new Map(), getConfig: () => config, notApplicable: () => undefined as never }, report);
  return out;
}

function runStack(policy: StackValidationPolicy, resources: PolicyResource[], config: Record<string, unknown> = {}): Array<[string, string | undefined]> {
  const out: Array<[string, string | undefined]> = [];
  policy.validateStack({ resources, stackTags: new Map(), getConfig: () => config as never, notApplicable: () => undefined as never }, ((m: string, urn?: string) => out.push([m, urn])) as ReportViolation);
  return out;
}

describe("backup-frequency-meets-rpo", () => {
  it.each([
    [["*/15 * * * *"], 15],
    [["0 * * * *"], 60],
    [["0 */5 * * *"], 300], // hours 0,5,10,15,20: uneven, the longest gap counts
    [["17 2 * * *"], 1440],
    [["0 3 * * 1-5"], 3 * 1440], // Friday 03:00 to Monday 03:00
    [["0 0 * * *", "0 12 * * *"], 720],
    [["0 0 11,13 1 *"], 2 * 1440], // the week's last firing to the next one, after the week
    [["0 0 13,14 1 *"], Number.POSITIVE_INFINITY], // never in the week walked: not "no gap"
  ])("longest gap of %j over a week is %s min", (crons, gap) => {
    expect(longestGapMinutes(crons)).toBe(gap);
  });

  const worker = (cron: string, trigger: string[]) => [
    resource("cloudflare:index/workersScript:WorkersScript", "w", {
      scriptName: "w",
      bindings: [{ type: "json", name: "BACKUP_PLAN", json: JSON.stringify({ assets: [{ kind: "kv", name: "sessions", cron }] }) }],
    }),
    resource("cloudflare:index/workersCronTrigger:WorkersCronTrigger", "t", { scriptName: "w", schedules: trigger.map((c) => ({ cron: c })) }),
  ];
  const cfg = { maxRpoMinutes: { kv: 60 }, assetMaxRpoMinutes: { "kv/sessions": 15 } };

  it("uses a per-asset ceiling before the kind's", () => {
    expect(runStack(backupFrequencyMeetsRpo, worker("*/15 * * * *", ["*/15 * * * *"]), cfg)).toEqual([]);
    const v = runStack(backupFrequencyMeetsRpo, worker("*/30 * * * *", ["*/30 * * * *"]), cfg);
    expect(v[0]?.[0]).toMatch(/every 30 min .* allowed RPO is 15 min/);
    expect(v[0]?.[1]).toMatch(/::t$/);
  });

  it("flags an asset planned on a cron the Worker does not have", () => {
    expect(runStack(backupFrequencyMeetsRpo, worker("*/15 * * * *", ["0 * * * *"]), cfg)[0]?.[0]).toMatch(/no such cron trigger .* never backed up/);
  });
});

describe("retention-minimums", () => {
  const min = { minDays: { daily: 30, weekly: 84, monthly: 365 } };
  it.each([
    [undefined, ["daily", "weekly", "monthly"]],
    ["", ["daily", "weekly", "monthly"]],
    ["d", ["daily"]],
    ["daily/kv/", ["daily"]],
    ["logs/", []],
  ])("a rule with prefix %j reaches %j", (prefix, tiers) => {
    expect(tiersCovered(prefix)).toEqual(tiers);
  });

  it("judges S3 and R2 rules alike, ignoring disabled ones", () => {
    const s3 = resource("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "lc", {
      rules: [
        { id: "a", status: "Enabled", filter: { prefix: "weekly/" }, expiration: { days: 90 } },
        { id: "b", status: "Disabled", filter: {}, expiration: { days: 1 } },
        { id: "c", status: "Enabled", filter: { prefix: "monthly/" }, expiration: { days: 100 } },
      ],
    });
    expect(runResource(retentionMinimums, s3, min)).toEqual([expect.stringMatching(/"c" .* monthly backups after 100 days; the minimum is 365/)]);
    const r2 = resource("cloudflare:index/r2BucketLifecycle:R2BucketLifecycle", "r2lc", {
      rules: [{ id: "all", enabled: true, conditions: { prefix: "" }, deleteObjectsTransition: { condition: { type: "Age", maxAge: 60 * 86_400 } } }],
    });
    expect(runResource(retentionMinimums, r2, min)[0]).toMatch(/daily\/weekly\/monthly backups after 60 days; the minimum is 365/);
    const dated = resource("cloudflare:index/r2BucketLifecycle:R2BucketLifecycle", "d", {
      rules: [{ id: "d", enabled: true, conditions: { prefix: "daily/" }, deleteObjectsTransition: { condition: { type: "Date", date: "2027-01-01" } } }],
    });
    expect(runResource(retentionMinimums, dated, min)[0]).toMatch(/fixed date/);
  });
});

describe("backup-identity-least-privilege", () => {
  const doc = (statements: unknown[]) => resource("aws:iam/userPolicy:UserPolicy", "p", { policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }) });
  const put = { Effect: "Allow", Action: ["s3:PutObject"], Resource: ["arn:aws:s3:::b/daily/*"] };

  it("accepts a put-only writer under the tier prefixes", () => {
    expect(runResource(backupIdentityLeastPrivilege, doc([put]), { tierPrefixes: ["daily/"] })).toEqual([]);
  });

  it("catches a wildcard that includes a forbidden action", () => {
    const v = runResource(backupIdentityLeastPrivilege, doc([put, { Effect: "Allow", Action: "s3:Put*", Resource: "arn:aws:s3:::b" }]), { tierPrefixes: ["daily/"] });
    expect(v.join("\n")).toMatch(/s3:PutBucketPolicy \(via "s3:Put\*"\)/);
    expect(v.join("\n")).toMatch(/s3:PutLifecycleConfiguration/);
  });

  it("catches '*' actions and resources, NotAction, and puts outside the tiers", () => {
    const v = runResource(backupIdentityLeastPrivilege, doc([{ Effect: "Allow", Action: "s3:*", Resource: "*" }, { Effect: "Allow", NotAction: "iam:*", Resource: "arn:x" }]), { tierPrefixes: ["daily/"] });
    const text = v.join("\n");
    expect(text).toMatch(/wildcard action "s3:\*"/);
    expect(text).toMatch(/every resource/);
    expect(text).toMatch(/NotAction/);
    expect(text).toMatch(/put objects at \*/);
  });

  it("rejects account-wide Cloudflare tokens", () => {
    const token = resource("cloudflare:index/accountToken:AccountToken", "t", {
      name: "ops",
      policies: [{ effect: "allow", permissionGroups: [{ id: "x" }], resources: JSON.stringify({ "com.cloudflare.api.account.abc": "*" }) }],
    });
    expect(runResource(backupIdentityLeastPrivilege, token, {})[0]).toMatch(/account-wide/);
  });
});

describe("copies-in-two-providers", () => {
  it("needs both providers and an explicit region away from the primary", () => {
    const root = resource("drposture:index:DisasterRecovery", "dr", { primaryRegion: "eu-west-1" });
    const s3 = resource("aws:s3/bucket:Bucket", "b", { region: "eu-west-1" });
    const v = runStack(copiesInTwoProviders, [root, s3], { forbiddenRegions: [] });
    expect(v.map((x) => x[0]).join("\n")).toMatch(/No R2 backup bucket/);
    expect(v.map((x) => x[0]).join("\n")).toMatch(/is in eu-west-1, the primary region/);
    const noRegion = resource("aws:s3/bucket:Bucket", "b2", {});
    expect(runStack(copiesInTwoProviders, [noRegion, resource("cloudflare:index/r2Bucket:R2Bucket", "r", {})], { forbiddenRegions: [] })[0]?.[0]).toMatch(/does not set its region/);
  });
});

describe("r2-bucket-lock", () => {
  it("accepts an Indefinite lock and a catch-all prefix", () => {
    const b = resource("cloudflare:index/r2Bucket:R2Bucket", "b", { name: "bk" });
    const lock = resource("cloudflare:index/r2BucketLock:R2BucketLock", "l", { bucketName: "bk", rules: [{ id: "all", enabled: true, prefix: "", condition: { type: "Indefinite" } }] });
    expect(runStack(r2BucketLock, [b, lock], { minDays: { daily: 30, weekly: 84, monthly: 365 } })).toEqual([]);
    const disabled = resource("cloudflare:index/r2BucketLock:R2BucketLock", "l", { bucketName: "bk", rules: [{ id: "all", enabled: false, prefix: "", condition: { type: "Indefinite" } }] });
    expect(runStack(r2BucketLock, [b, disabled], { minDays: { daily: 30, weekly: 84, monthly: 365 } })).toHaveLength(3);
  });
});

describe("worker-secrets-are-secret", () => {
  it("flags secrets in plain_text or json bindings, by name or by value", () => {
    const w = resource("cloudflare:index/workersScript:WorkersScript", "w", {
      scriptName: "w",
      bindings: [
        { type: "plain_text", name: "API_TOKEN", text: "x" },
        { type: "plain_text", name: "GREETING", text: "https://hooks.slack.com/services/T000/B000/XXX" },
        { type: "plain_text", name: "REGION", text: "weur" },
        { type: "secret_text", name: "ENCRYPTION_KEY", text: "k" },
      ],
    });
    const v = runResource(workerSecretsAreSecret, w);
    expect(v).toHaveLength(2);
    expect(v.join("\n")).toMatch(/API_TOKEN/);
    expect(v.join("\n")).toMatch(/GREETING/);
  });
});

describe("assets-covered: alarms that can actually notify", () => {
  // A staleness alarm on a topic CloudWatch cannot use: "CloudWatch Alarms does not have
  // authorization to access the SNS topic encryption key" (AWS re:Post, CloudWatch alarm SNS).
  const stack = (kmsMasterKeyId: string | undefined, keyPolicy?: unknown) => {
    const key = resource("aws:kms/key:Key", "k", { arn: "arn:aws:kms:eu-central-1:1:key/k", ...(keyPolicy ? { policy: JSON.stringify(keyPolicy) } : {}) });
    const topic = resource("aws:sns/topic:Topic", "alerts", { name: "alerts", arn: "arn:aws:sns:eu-central-1:1:alerts", ...(kmsMasterKeyId ? { kmsMasterKeyId } : {}) });
    return [
      resource("cloudflare:index/workersScript:WorkersScript", "w", {
        scriptName: "w",
        bindings: [
          { type: "json", name: "BACKUP_PLAN", json: JSON.stringify({ assets: [{ kind: "kv", name: "sessions", cron: "*/15 * * * *" }] }) },
          { type: "secret_text", name: "ALERT_WEBHOOK_URL" },
        ],
      }),
      resource("cloudflare:index/workersCronTrigger:WorkersCronTrigger", "t", { scriptName: "w", schedules: [{ cron: "*/15 * * * *" }] }),
      key,
      topic,
      resource("aws:sns/topicSubscription:TopicSubscription", "s", { topic: "arn:aws:sns:eu-central-1:1:alerts", protocol: "email", endpoint: "a@b.c" }),
      resource("aws:s3/bucketMetric:BucketMetric", "m", { name: "manifests-kv-sessions", filter: { tags: { "drposture-asset": "kv/sessions" } } }),
      resource("aws:cloudwatch/metricAlarm:MetricAlarm", "alarm", { dimensions: { FilterId: "manifests-kv-sessions" }, alarmActions: ["arn:aws:sns:eu-central-1:1:alerts"] }),
    ];
  };
  const cw = (actions: string[]) => ({ Statement: [{ Effect: "Allow", Principal: { Service: "cloudwatch.amazonaws.com" }, Action: actions, Resource: "*" }] });

  it("passes an unencrypted topic and one under a key that grants CloudWatch", async () => {
    expect(runStack(assetsCovered, stack(undefined))).toEqual([]);
    expect(runStack(assetsCovered, stack("arn:aws:kms:eu-central-1:1:key/k", cw(["kms:Decrypt", "kms:GenerateDataKey*"])))).toEqual([]);
  });

  it("rejects alias/aws/sns, a key that does not grant CloudWatch, and a key it cannot see", async () => {
    for (const [keyRef, policy, why] of [
      ["alias/aws/sns", undefined, /AWS-managed key alias\/aws\/sns/],
      ["arn:aws:kms:eu-central-1:1:key/k", cw(["kms:Decrypt"]), /does not grant cloudwatch\.amazonaws\.com/],
      ["arn:aws:kms:eu-central-1:1:key/elsewhere", undefined, /not declared in this stack/],
    ] as const) {
      const out = runStack(assetsCovered, stack(keyRef, policy));
      expect(out, keyRef).toHaveLength(1);
      expect(out[0]?.[0]).toMatch(why);
      expect(out[0]?.[1]).toBe("urn:pulumi:t::p::aws:cloudwatch/metricAlarm:MetricAlarm::alarm");
    }
  });
});
