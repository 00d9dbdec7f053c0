/** restore-tests-scheduled called directly, on small synthetic stacks: each way it fails. */
import type { PolicyResource, ReportViolation } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import { RESTORE_TEST_BINDINGS } from "../../lib/backup/plan";
import { restoreTestSchedule } from "../../lib/backup/restoreTestRotation";
import { drposturePolicies } from "../../policies/src/all";
import { r2BucketLock } from "../../policies/src/immutability";
import { restoreTestsScheduled, SCRATCH } from "../../policies/src/restoreTests";

function resource(type: string, name: string, props: Record<string, unknown>): PolicyResource {
  return { type, name, props, urn: `urn:pulumi:t::p::${type}::${name}`, opts: {} as never, dependencies: [], propertyDependencies: {}, isType: () => false, asType: () => undefined } as PolicyResource;
}

function run(resources: PolicyResource[], maxDays = 7): Array<[string, string | undefined]> {
  const out: Array<[string, string | undefined]> = [];
  restoreTestsScheduled.validateStack({ resources, stackTags: new Map(), getConfig: () => ({ maxDays }) as never, notApplicable: () => undefined as never }, ((m: string, urn?: string) => out.push([m, urn])) as ReportViolation);
  return out;
}

const ID = { d1: "6f1c2b7e-2d4a-4c1e-9b3f-8a7d6c5e4f31", kv: "0f6b1e2d3c4a5b69788776655443322a", r2: "acme-user-uploads" };
const SCRATCH_ID = { d1: "11111111-2222-4333-a444-555555555555", kv: "ffffffffffffffffffffffffffffffff", r2: "drp-drposture-prod-restore-scratch" };
const ASSETS = [
  { kind: "d1", name: "app-db", sourceId: ID.d1, binding: "D1_APP_DB", cron: "0 * * * *" },
  { kind: "kv", name: "sessions", sourceId: ID.kv, binding: "KV_SESSIONS", cron: "0 * * * *" },
  { kind: "r2", name: "user-uploads", sourceId: ID.r2, binding: "R2_USER_UPLOADS", cron: "0 * * * *" },
  { kind: "neon", name: "app", sourceId: "spring-example-302709", cron: "17 2 * * *" },
];

interface Variant {
  restoreTesting?: unknown;
  crons?: string[];
  scratch?: Partial<Record<"d1" | "kv" | "r2", string | null>>;
  sources?: Partial<Record<"d1" | "kv" | "r2", string>>;
}

/** A backup Worker like the one drposture deploys for prod: four assets, three scratch bindings. */
function stack(v: Variant = {}): PolicyResource[] {
  const rt = "restoreTesting" in v ? v.restoreTesting : { everyDays: 7, ...restoreTestSchedule(7, 4) };
  const plan = { assets: ASSETS, neon: { projectId: "spring-example-302709" }, ...(rt ? { restoreTesting: rt } : {}) };
  const src = { ...ID, ...v.sources };
  const scratch = { ...SCRATCH_ID, ...v.scratch };
  const bindings = [
    { type: "d1", name: "D1_APP_DB", id: src.d1 },
    { type: "kv_namespace", name: "KV_SESSIONS", namespaceId: src.kv },
    { type: "r2_bucket", name: "R2_USER_UPLOADS", bucketName: src.r2 },
    { type: "r2_bucket", name: "BACKUP_R2", bucketName: "drp-drposture-prod-b413bd" },
    { type: "json", name: "BACKUP_PLAN", json: JSON.stringify(plan) },
    ...(scratch.d1 ? [{ type: "d1", name: "RESTORE_TEST_D1", id: scratch.d1 }] : []),
    ...(scratch.kv ? [{ type: "kv_namespace", name: "RESTORE_TEST_KV", namespaceId: scratch.kv }] : []),
    ...(scratch.r2 ? [{ type: "r2_bucket", name: "RESTORE_TEST_R2", bucketName: scratch.r2 }] : []),
  ];
  const crons = v.crons ?? ["0 * * * *", "17 2 * * *", "41 3 * * *"];
  return [
    resource("cloudflare:index/workersScript:WorkersScript", "w", { scriptName: "w", bindings }),
    resource("cloudflare:index/workersCronTrigger:WorkersCronTrigger", "t", { scriptName: "w", schedules: crons.map((cron) => ({ cron })) }),
  ];
}

describe("restore-tests-scheduled", () => {
  it("is in the pack, mandatory, with maxDays defaulting to 7", () => {
    expect(drposturePolicies).toContain(restoreTestsScheduled);
    expect(restoreTestsScheduled.enforcementLevel).toBe("mandatory");
    expect(restoreTestsScheduled.configSchema?.properties?.maxDays).toMatchObject({ type: "integer", minimum: 1, default: 7 });
  });

  it("states the plan's contract: the binding names of lib/backup/plan.ts", () => {
    expect(Object.fromEntries(Object.entries(SCRATCH).map(([k, s]) => [k, s.binding]))).toEqual(RESTORE_TEST_BINDINGS);
  });

  it("passes drposture's own shape: four assets tested daily, scratch resources of their own", () => {
    expect(run(stack())).toEqual([]);
  });

  it("fails a plan without restoreTesting, on the Worker, telling the author what to set", () => {
    const v = run(stack({ restoreTesting: undefined }));
    expect(v).toEqual([[expect.stringMatching(/never restore-tests its 4 assets \(d1\/app-db, kv\/sessions, r2\/user-uploads, neon\/app\).*drposture:restoreTesting\.enabled/), "urn:pulumi:t::p::cloudflare:index/workersScript:WorkersScript::w"]]);
  });

  it("fails when the restore-test cron is not among the Worker's triggers", () => {
    const v = run(stack({ crons: ["0 * * * *", "17 2 * * *"] }));
    expect(v).toEqual([[expect.stringMatching(/restore-test cron "41 3 \* \* \*" .* not among its cron triggers .* Add the cron/), "urn:pulumi:t::p::cloudflare:index/workersCronTrigger:WorkersCronTrigger::t"]]);
  });

  it("fails a declared everyDays over maxDays, even while the cron tests more often", () => {
    // 30 days declared; four assets once a day are tested every 4 days.
    const v = run(stack({ restoreTesting: { everyDays: 30, ...restoreTestSchedule(30, 4) } }), 7);
    expect(v).toEqual([[expect.stringMatching(/allows 30 days between restore tests .* at most 7\. Set drposture:restoreTesting\.everyDays to 7 or less/), "urn:pulumi:t::p::cloudflare:index/workersCronTrigger:WorkersCronTrigger::t"]]);
  });

  it("fails when rotation length × the cron's gap exceeds maxDays, naming the fix", () => {
    // Four assets once a day: every 4 days. Allowed 4: passes; allowed 3 (declared 3): fails.
    const declared3 = { restoreTesting: { everyDays: 3, cron: "41 3 * * *", periodHours: 24 } };
    expect(run(stack({ restoreTesting: { everyDays: 4, cron: "41 3 * * *", periodHours: 24 } }), 4)).toEqual([]);
    const v = run(stack(declared3), 3);
    expect(v).toHaveLength(1);
    expect(v[0]?.[0]).toMatch(/restore-tests 4 assets .*every 24 h\), so each is tested only every 4 days; the organisation allows at most 3\. Set drposture:restoreTesting\.everyDays to 3 or less/);
  });

  it("fails when the cron and the plan's rotation period disagree (assets would be skipped)", () => {
    const v = run(stack({ restoreTesting: { everyDays: 7, cron: "41 3 * * 1", periodHours: 24 }, crons: ["0 * * * *", "17 2 * * *", "41 3 * * 1"] }), 30);
    expect(v[0]?.[0]).toMatch(/fires every 10080 min at most, but the plan rotates assets every 24 h/);
  });

  it("fails when a scratch binding is missing for a kind the plan has", () => {
    const v = run(stack({ scratch: { kv: null } }));
    expect(v.map(([m]) => m)).toEqual([expect.stringMatching(/restore-tests kv assets but has no kv_namespace binding RESTORE_TEST_KV/)]);
  });

  it.each([
    ["the scratch KV is the production namespace", { scratch: { kv: ID.kv } }, /RESTORE_TEST_KV .* same kv_namespace \(0f6b1e2d3c4a5b69788776655443322a\) as KV_SESSIONS, the source binding of kv\/sessions/],
    ["the scratch D1 is the production database", { scratch: { d1: ID.d1 } }, /RESTORE_TEST_D1 .* same d1 .* as D1_APP_DB/],
    ["the scratch bucket is the backup bucket", { scratch: { r2: "drp-drposture-prod-b413bd" } }, /RESTORE_TEST_R2 .* the backup bucket \(BACKUP_R2\)/],
    ["a source binding was pointed at the scratch namespace", { sources: { kv: SCRATCH_ID.kv } }, /RESTORE_TEST_KV .* same kv_namespace .* as KV_SESSIONS, the source binding of kv\/sessions.*backups would read scratch data/],
  ] as const)("fails when %s", (_case, variant, message) => {
    const v = run(stack(variant as Variant));
    expect(v).toHaveLength(1);
    expect(v[0]?.[0]).toMatch(message);
    expect(v[0]?.[1]).toBe("urn:pulumi:t::p::cloudflare:index/workersScript:WorkersScript::w");
  });

  it("ignores Workers without a plan, and plans with nothing to restore-test", () => {
    const other = resource("cloudflare:index/workersScript:WorkersScript", "site", { scriptName: "site", bindings: [] });
    expect(run([other])).toEqual([]);
  });
});

describe("r2-bucket-lock and the scratch bucket", () => {
  const lockCfg = { minDays: { daily: 30, weekly: 84, monthly: 365 } };
  const lockRun = (resources: PolicyResource[]) => {
    const out: string[] = [];
    r2BucketLock.validateStack({ resources, stackTags: new Map(), getConfig: () => lockCfg as never, notApplicable: () => undefined as never }, ((m: string) => out.push(m)) as ReportViolation);
    return out;
  };
  const scratchBucket = resource("cloudflare:index/r2Bucket:R2Bucket", "scratch", { name: SCRATCH_ID.r2 });

  it("exempts a backup Worker's restore-test scratch bucket (it holds no backups, the Worker empties it)", () => {
    expect(lockRun([...stack(), scratchBucket])).toEqual([]);
  });

  it("still judges it when any Worker binds it as a backup destination, or no backup Worker binds it as scratch", () => {
    const other = resource("cloudflare:index/workersScript:WorkersScript", "other", { scriptName: "other", bindings: [{ type: "r2_bucket", name: "BACKUP_R2", bucketName: SCRATCH_ID.r2 }] });
    expect(lockRun([...stack(), scratchBucket, other])).toHaveLength(3);
    expect(lockRun([scratchBucket])).toHaveLength(3);
  });
});
