/**
 * Restore testing as the program declares it (issue #10): the scratch D1/KV/R2 resources, the
 * Worker's RESTORE_TEST_* bindings, the schedule in the plan and its cron trigger, for prod and
 * staging under realistic mocks; only the kinds a stack has; nothing when it is disabled.
 */
import { beforeAll, describe, expect, it, vi } from "vitest";
import { RESTORE_TEST_BINDINGS, RESTORE_TEST_CHECKS_BINDING, type BackupPlan } from "../../lib/backup/plan";
import { assemblePlan } from "../../lib/backup/planBindings";
import { dueForRestoreTest, restoreTestRotation } from "../../lib/backup/restoreTestRotation";
import type { ProgramConfig } from "../../lib/pulumi/stackConfig";
import type { RecordedResource } from "../../lib/pulumi/realisticMocks";
import { ofType, one, runStack, unwrapSecret } from "../helpers/program";

const T = {
  d1: "cloudflare:index/d1Database:D1Database",
  kv: "cloudflare:index/workersKvNamespace:WorkersKvNamespace",
  r2: "cloudflare:index/r2Bucket:R2Bucket",
  script: "cloudflare:index/workersScript:WorkersScript",
  crons: "cloudflare:index/workersCronTrigger:WorkersCronTrigger",
  component: "drposture:testing:RestoreTesting",
};

type Binding = Record<string, unknown>;
const bindingsOf = (rs: readonly RecordedResource[]) => unwrapSecret(one(rs, T.script).inputs.bindings).value as Binding[];
const planOf = (rs: readonly RecordedResource[]): BackupPlan =>
  assemblePlan(Object.fromEntries(bindingsOf(rs).filter((b) => b.type === "json" && String(b.name).startsWith("BACKUP_PLAN")).map((b) => [b.name, JSON.parse(b.json as string)])));
const cronsOf = (rs: readonly RecordedResource[]) => (one(rs, T.crons).inputs.schedules as Array<{ cron: string }>).map((s) => s.cron);
const scratchOf = (rs: readonly RecordedResource[], type: string) => rs.filter((r) => r.type === type && r.name.includes("-restore-testing-"));

/** Edits one object-valued key of the stack config. */
function editKey(key: string, edit: (v: any) => unknown) {
  return (cfg: ProgramConfig): ProgramConfig => {
    const raw = cfg.config[`drposture:${key}`];
    const value = edit(raw === undefined ? undefined : JSON.parse(raw as string));
    const config = { ...cfg.config };
    if (value === undefined) delete config[`drposture:${key}`];
    else config[`drposture:${key}`] = JSON.stringify(value);
    return { ...cfg, config };
  };
}

const runs: Record<string, RecordedResource[]> = {};
beforeAll(async () => {
  for (const stack of ["prod", "staging"]) {
    vi.resetModules();
    runs[stack] = (await runStack(stack)).mocks.resources;
  }
});

describe.each([
  ["prod", 7, 24, "41 3 * * *"],
  ["staging", 30, 24, "41 3 * * *"],
] as const)("%s: restore testing", (stack, everyDays, periodHours, cron) => {
  const R = () => runs[stack] as RecordedResource[];
  const binding = (name: string) => bindingsOf(R()).find((b) => b.name === name);

  it("declares a RestoreTesting component with the posture values, and one scratch resource per kind", () => {
    const component = one(R(), T.component);
    expect(component.inputs).toMatchObject({ everyDays, cron, periodHours, kinds: ["d1", "kv", "r2"] });
    const name = `drp-drposture-${stack}-restore-scratch`;
    expect(one(scratchOf(R(), T.d1), T.d1).inputs).toMatchObject({ name, readReplication: { mode: "disabled" } });
    expect(one(scratchOf(R(), T.kv), T.kv).inputs).toMatchObject({ title: name });
    const r2 = one(scratchOf(R(), T.r2), T.r2);
    expect(r2.inputs).toMatchObject({ name, jurisdiction: "default", storageClass: "Standard" });
  });

  it("gives the scratch bucket no lifecycle and no lock (the Worker empties it after each test)", () => {
    const scratch = one(scratchOf(R(), T.r2), T.r2).inputs.name;
    for (const type of ["cloudflare:index/r2BucketLifecycle:R2BucketLifecycle", "cloudflare:index/r2BucketLock:R2BucketLock"]) {
      expect(ofType(R(), type).map((r) => r.inputs.bucketName)).not.toContain(scratch);
    }
  });

  it("binds the scratch resources under RESTORE_TEST_* and never to a source or the backup bucket", () => {
    expect(binding(RESTORE_TEST_BINDINGS.d1)).toEqual({ type: "d1", name: "RESTORE_TEST_D1", id: one(scratchOf(R(), T.d1), T.d1).id });
    expect(binding(RESTORE_TEST_BINDINGS.kv)).toEqual({ type: "kv_namespace", name: "RESTORE_TEST_KV", namespaceId: one(scratchOf(R(), T.kv), T.kv).id });
    expect(binding(RESTORE_TEST_BINDINGS.r2)).toEqual({ type: "r2_bucket", name: "RESTORE_TEST_R2", bucketName: `drp-drposture-${stack}-restore-scratch` });
    const scratchIds = [RESTORE_TEST_BINDINGS.d1, RESTORE_TEST_BINDINGS.kv, RESTORE_TEST_BINDINGS.r2].map((n) => { const b = binding(n)!; return b.id ?? b.namespaceId ?? b.bucketName; });
    const others = bindingsOf(R()).filter((b) => !String(b.name).startsWith("RESTORE_TEST_")).map((b) => b.id ?? b.namespaceId ?? b.bucketName).filter(Boolean);
    for (const id of scratchIds) expect(others).not.toContain(id);
  });

  it("binds the declared integrity checks as json", () => {
    expect(binding(RESTORE_TEST_CHECKS_BINDING)).toMatchObject({ type: "json" });
    expect(JSON.parse(binding(RESTORE_TEST_CHECKS_BINDING)!.json as string)).toEqual({ postgres: expect.any(Array), d1: expect.any(Object) });
  });

  it("puts the schedule and every asset's RTO in the plan, and the cron among the Worker's triggers", () => {
    const plan = planOf(R());
    expect(plan.restoreTesting).toEqual({ everyDays, cron, periodHours });
    for (const a of plan.assets) expect(a.rtoMinutes, `${a.kind}/${a.name}`).toBeGreaterThan(0);
    expect(cronsOf(R())).toContain(cron);
    // One firing per period tests the next asset: every asset within everyDays.
    const rotation = restoreTestRotation(plan);
    expect(rotation.length * periodHours).toBeLessThanOrEqual(everyDays * 24);
    const tested = new Set(Array.from({ length: rotation.length }, (_, k) => dueForRestoreTest(plan, Date.UTC(2026, 0, 5, 3, 41) + k * periodHours * 3_600_000)?.name));
    expect(tested.size).toBe(rotation.length);
  });
});

describe("restore testing follows the config", () => {
  it("prod's RTOs reach the plan as the config sets them", () => {
    const rto = Object.fromEntries(planOf(runs.prod as RecordedResource[]).assets.map((a) => [`${a.kind}/${a.name}`, a.rtoMinutes]));
    expect(rto).toEqual({ "d1/app-db": 60, "kv/sessions": 30, "kv/feature-flags": 240, "r2/user-uploads": 240, "neon/app": 60 });
  });

  it("declares scratch resources only for the kinds the stack has", async () => {
    vi.resetModules();
    const edit = (cfg: ProgramConfig) => editKey("sizes", () => undefined)(editKey("integrity", () => undefined)(editKey("neon", () => undefined)(editKey("assets", (a) => ({ kv: a.kv }))(cfg))));
    const rs = (await runStack("staging", edit)).mocks.resources;
    expect(ofType(rs, T.d1)).toEqual([]);
    expect(ofType(rs, T.kv)).toHaveLength(1);
    expect(scratchOf(rs, T.r2)).toEqual([]);
    expect(bindingsOf(rs).map((b) => b.name).filter((n) => String(n).startsWith("RESTORE_TEST_"))).toEqual(["RESTORE_TEST_KV", "RESTORE_TEST_CHECKS"]);
  });

  it.each([
    ["prod", 7],
    ["staging", 30],
  ] as const)("without everyDays (or the whole key), %s defaults to %i days", async (stack, days) => {
    vi.resetModules();
    const rs = (await runStack(stack, editKey("restoreTesting", () => undefined))).mocks.resources;
    expect(planOf(rs).restoreTesting?.everyDays).toBe(days);
    vi.resetModules();
    const rs2 = (await runStack(stack, editKey("restoreTesting", () => ({ enabled: true })))).mocks.resources;
    expect(planOf(rs2).restoreTesting?.everyDays).toBe(days);
  });

  it("a short interval for many assets tightens the cron", async () => {
    vi.resetModules();
    const rs = (await runStack("prod", editKey("restoreTesting", () => ({ everyDays: 1 })))).mocks.resources;
    // 5 assets in a day: every 4 hours.
    expect(planOf(rs).restoreTesting).toEqual({ everyDays: 1, cron: "41 */4 * * *", periodHours: 4 });
    expect(cronsOf(rs)).toContain("41 */4 * * *");
  });

  it("disabled: no scratch resources, no RESTORE_TEST_* bindings, no restore-test cron, nothing in the plan", async () => {
    vi.resetModules();
    const rs = (await runStack("prod", editKey("restoreTesting", () => ({ enabled: false })))).mocks.resources;
    expect(ofType(rs, T.component)).toEqual([]);
    expect([...ofType(rs, T.d1), ...ofType(rs, T.kv), ...scratchOf(rs, T.r2)]).toEqual([]);
    expect(bindingsOf(rs).filter((b) => String(b.name).startsWith("RESTORE_TEST_"))).toEqual([]);
    expect(planOf(rs).restoreTesting).toBeUndefined();
    expect(cronsOf(rs)).toEqual(["*/15 * * * *", "0 * * * *", "17 2 * * *"]);
  });
});
