/**
 * Restore testing in workerd: the Worker restores the newest committed backup of an asset into
 * its scratch binding with the CLI's restore code, in queue steps under the local Workers
 * limits, checks the item count against the manifest and the content digest against the
 * backup, runs D1's integrity checks, times it against the RTO, seals the result into
 * _reports/restore-tests/ and empties the scratch resource. A tampered backup, a scratch
 * resource that does not hold what the backup holds, and a test over its RTO each fail with an
 * alert; the real cron and queue path delivers that alert to the webhook.
 */
import { createScheduledController, env, reset } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { RESTORE_TEST_REPORTS_PREFIX, restoreTestPurpose, type RestoreTestResult } from "../../lib/backup/restoreTestReport";
import { restoreTestSchedule } from "../../lib/backup/restoreTestRotation";
import { openState } from "../../lib/format/sealedState";
import worker from "../../worker/index";
import { runDueRestoreTest } from "../../worker/restoreTest/handlers";
import { backupNow, latest, master, r2, testEnv } from "./helpers";
import { restoreTestNow } from "./restoreTestDriver";
import { seedAppDb, seedSessions, seedUploads } from "./seeds";

async function reports(prefix = RESTORE_TEST_REPORTS_PREFIX): Promise<RestoreTestResult[]> {
  const out: RestoreTestResult[] = [];
  const listed = await env.BACKUP_R2.list({ prefix });
  for (const o of listed.objects) {
    const text = await (await env.BACKUP_R2.get(o.key))!.text();
    const asset = o.key.slice(RESTORE_TEST_REPORTS_PREFIX.length).split("/").slice(0, 2).join("/");
    out.push(await openState<RestoreTestResult>(await master(), restoreTestPurpose(asset), text, o.key));
  }
  return out;
}

const d1Objects = async (db: D1Database) => (await db.prepare("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").all()).results.length;

describe("restore tests in the Worker", () => {
  beforeEach(async () => {
    await reset();
    await fetch(`${inject("alertReceiver")}/received`, { method: "DELETE" });
  });
  afterEach(async () => {
    await fetch(`${inject("alertReceiver")}/received`, { method: "DELETE" });
  });

  it("D1: a good backup restores, reads back equal, passes its integrity checks, and the scratch database is emptied", async () => {
    await seedAppDb(env.D1_APP_DB);
    const e = testEnv({ limits: { opsPerStep: 800 } });
    await backupNow(e, "d1/app-db");
    const { manifest } = await latest(e, "d1/app-db");
    const t = await restoreTestNow(e, "d1/app-db");
    expect(t.result, JSON.stringify(t.result)).toMatchObject({ asset: "d1/app-db", passed: true, backupId: manifest.backupId, digestMatches: true, countMatches: true, restoredCount: manifest.counts.rows, manifestCount: manifest.counts.rows });
    expect(t.result!.integrity.map((c) => c.check)).toEqual(expect.arrayContaining(["d1: foreign keys resolve", "d1: migrations d1_migrations", "d1: full-text index notes"]));
    expect(t.result!.integrity.every((c) => c.ok)).toBe(true);
    expect(t.alerts).toEqual([]);
    for (const s of t.invocations) expect(s.violation).toBeNull();
    expect(await d1Objects(env.RESTORE_TEST_D1)).toBe(0);
    // The sealed report is in the backup bucket; the source was never touched.
    expect(await reports()).toEqual([t.result]);
    expect((await env.D1_APP_DB.prepare("SELECT count(*) AS n FROM users").first<{ n: number }>())!.n).toBe(52);
  });

  it("D1 larger than one step restores in several parts, each invocation inside the limits", async () => {
    await seedAppDb(env.D1_APP_DB, 600);
    const e = testEnv({ limits: { opsPerStep: 60 } });
    await backupNow(e, "d1/app-db", { limits: {} });
    const t = await restoreTestNow(e, "d1/app-db");
    expect(t.result).toMatchObject({ passed: true, digestMatches: true, countMatches: true, restoredCount: 602 + 600 + 602 + 2 + 2 });
    // empty-before, the restore in two parts or more, verify, empty-after.
    expect(t.steps).toBeGreaterThan(4);
    for (const s of t.invocations) expect(s.violation).toBeNull();

  });

  it("KV: a differential backup over its full one restores with values, metadata and expiration, in steps", async () => {
    await seedSessions(env.KV_SESSIONS, 120);
    const e = testEnv();
    await backupNow(e, "kv/sessions", { now: () => new Date("2026-11-02T10:00:00Z") });
    await env.KV_SESSIONS.delete("session:00001");
    await env.KV_SESSIONS.put("session:new", "fresh", { metadata: { v: 2 } });
    await backupNow(e, "kv/sessions", { now: () => new Date("2026-11-02T10:15:00Z") });
    const { manifest } = await latest(e, "kv/sessions");
    expect(manifest.mode).toBe("incremental");
    const t = await restoreTestNow(e, "kv/sessions");
    expect(t.result).toMatchObject({ passed: true, digestMatches: true, countMatches: true, restoredCount: 120, manifestCount: 120 });
    expect(t.steps).toBeGreaterThan(4); // 40 operations per step
    for (const s of t.invocations) expect(s.violation).toBeNull();
    expect((await env.RESTORE_TEST_KV.list()).keys).toEqual([]);
  });

  it("a later part starts at the artifact the previous one ended in: no part re-reads the whole backup", async () => {
    await seedSessions(env.KV_SESSIONS, 400);
    const e = testEnv();
    await backupNow(e, "kv/sessions");
    const { manifest } = await latest(e, "kv/sessions");
    const entries = manifest.artifacts.filter((a) => a.role === "kv-entries");
    expect(entries.length).toBeGreaterThan(5);
    const t = await restoreTestNow(e, "kv/sessions");
    expect(t.result).toMatchObject({ passed: true, digestMatches: true, restoredCount: 400 });
    // Restore parts (the steps that read artifacts and write keys): what each reads stays flat
    // (the manifests it re-checks plus the artifacts it writes from); re-reading every earlier
    // artifact would grow it part after part.
    const parts = t.invocations.filter((i) => i.kind === "queue" && i.counts.kvOperations > 0 && i.counts.r2Operations > 2);
    expect(parts.length).toBeGreaterThan(8);
    const bytes = parts.slice(0, -1).map((p) => p.counts.sourceBytes);
    expect(Math.max(...bytes) / Math.min(...bytes)).toBeLessThan(1.3);
  });

  it("R2: objects come back with their bytes and metadata; the scratch bucket is emptied", async () => {
    await seedUploads(env.R2_USER_UPLOADS);
    const e = testEnv();
    await backupNow(e, "r2/user-uploads");
    const t = await restoreTestNow(e, "r2/user-uploads");
    expect(t.result, t.result?.error).toMatchObject({ passed: true, digestMatches: true, countMatches: true, restoredCount: 5, manifestCount: 5 });
    for (const s of t.invocations) expect(s.violation).toBeNull();
    expect((await env.RESTORE_TEST_R2.list()).objects).toEqual([]);
  });

  it("a tampered artifact fails the test with an alert naming it, and nothing is left in the scratch resource", async () => {
    await seedSessions(env.KV_SESSIONS, 30);
    const e = testEnv();
    await backupNow(e, "kv/sessions");
    const { manifest } = await latest(e, "kv/sessions");
    const artifact = manifest.artifacts.find((a) => a.role === "kv-entries")!;
    const bytes = new Uint8Array(await (await env.BACKUP_R2.get(artifact.key))!.arrayBuffer());
    bytes[bytes.length - 40]! ^= 0x01;
    await env.BACKUP_R2.put(artifact.key, bytes); // an attacker with the bucket's token
    const t = await restoreTestNow(e, "kv/sessions");
    expect(t.result).toMatchObject({ passed: false, digestMatches: false, backupId: manifest.backupId });
    expect(t.result!.error).toMatch(/artifact|tamper|authenticat/i);
    expect(t.alerts).toHaveLength(1);
    expect(t.alerts[0]).toMatchObject({ kind: "restore-test-failed", severity: "critical", asset: "kv/sessions", stack: "test" });
    expect((await env.RESTORE_TEST_KV.list()).keys).toEqual([]);
    expect((await reports())[0]).toMatchObject({ passed: false });
  });

  it("a scratch database that does not hold what the backup holds fails on the digest (the check has teeth)", async () => {
    await seedAppDb(env.D1_APP_DB);
    const e = testEnv({ limits: { opsPerStep: 800 } });
    await backupNow(e, "d1/app-db");
    const t = await restoreTestNow(e, "d1/app-db", {
      between: async (step) => {
        // After the restore, before the read-back: one value changes under the test.
        if (step === 2) await env.RESTORE_TEST_D1.prepare("UPDATE users SET name = 'changed' WHERE id = 3").run();
      },
    });
    expect(t.result).toMatchObject({ passed: false, digestMatches: false, countMatches: true });
    expect(t.result!.error).toMatch(/digest mismatch/);
  });

  it("a restore over the asset's RTO fails with an alert naming both times", async () => {
    await seedSessions(env.KV_SESSIONS, 10);
    const base = testEnv();
    const e = testEnv({ plan: { assets: base.BACKUP_PLAN.assets.map((a) => (a.name === "sessions" ? { ...a, rtoMinutes: 1 } : a)) } });
    await backupNow(e, "kv/sessions");
    // The clock moves two minutes per reading: the restore "takes" longer than one minute.
    let t0 = Date.parse("2026-11-23T12:00:00Z");
    const t = await restoreTestNow(e, "kv/sessions", { now: () => new Date((t0 += 120_000)) });
    expect(t.result).toMatchObject({ passed: false, digestMatches: true, countMatches: true, rtoTargetSeconds: 60 });
    expect(t.result!.seconds).toBeGreaterThan(60);
    expect(t.result!.error).toMatch(/over the RTO of 60 s/);
    expect(t.alerts[0]).toMatchObject({ kind: "restore-test-failed", asset: "kv/sessions" });
  });

  it("leftovers in the scratch resource (a test that crashed) are emptied first; an asset with no backup fails the test", async () => {
    await env.RESTORE_TEST_R2.put("leftover/x", "from a crashed test");
    await seedUploads(env.R2_USER_UPLOADS);
    const e = testEnv();
    const none = await restoreTestNow(e, "r2/user-uploads");
    expect(none.result).toMatchObject({ passed: false, backupId: null });
    expect(none.result!.error).toMatch(/no backup to test/);
    await backupNow(e, "r2/user-uploads");
    const t = await restoreTestNow(e, "r2/user-uploads");
    expect(t.result).toMatchObject({ passed: true, restoredCount: 5 });
    expect((await env.RESTORE_TEST_R2.list()).objects).toEqual([]);
  });

  it("a forged test cursor is refused and reported, never followed", async () => {
    await seedSessions(env.KV_SESSIONS, 10);
    const e = testEnv();
    await backupNow(e, "kv/sessions");
    const t = await restoreTestNow(e, "kv/sessions", {
      between: async (step) => {
        if (step === 1) await env.BACKUP_R2.put("_state/restore-tests/kv/sessions.json", JSON.stringify({ value: { phase: "empty-after" } }));
      },
    });
    expect(t.result).toMatchObject({ passed: false });
    expect(t.result!.error).toMatch(/state was refused/);
  });

  it("through the real cron and queue: the due asset is tested and a failure reaches the alert webhook", async () => {
    await seedSessions(env.KV_SESSIONS, 12);
    const schedule = restoreTestSchedule(7, 3);
    const e = testEnv({ plan: { restoreTesting: { everyDays: 7, ...schedule } } });
    await backupNow(e, "kv/sessions");
    const { manifest } = await latest(e, "kv/sessions");
    const artifact = manifest.artifacts.find((a) => a.role === "kv-entries")!;
    const bytes = new Uint8Array(await (await env.BACKUP_R2.get(artifact.key))!.arrayBuffer());
    bytes[bytes.length - 40]! ^= 0x01;
    await env.BACKUP_R2.put(artifact.key, bytes);
    // kv/sessions is second in the rotation: the firing in slot 1 tests it.
    const slot = schedule.periodHours * 3_600_000;
    const scheduledTime = (Math.floor(Date.now() / slot / 3) * 3 + 1) * slot;
    const bound = { ...env, BACKUP_PLAN: e.BACKUP_PLAN };
    await worker.scheduled(createScheduledController({ cron: schedule.cron, scheduledTime }), bound as never);
    const end = Date.now() + 60_000;
    let hook: Array<{ body: { kind: string; asset: string } }> = [];
    while (Date.now() < end) {
      hook = ((await (await fetch(`${inject("alertReceiver")}/received`)).json()) as typeof hook).filter((h) => h.body.kind === "restore-test-failed");
      if (hook.length) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(hook.map((h) => h.body.asset)).toEqual(["kv/sessions"]);
  });

  it("Neon: the firing whose turn it is branches the stand-in at a point in time, runs the checks over HTTP, seals the result; a failing declared check alerts", async () => {
    const project = "standin-project-000002";
    const neonAsset = { kind: "neon" as const, name: "prod-db", sourceId: project, rpoMinutes: 60, cron: "17 2 * * *", priority: 1, rtoMinutes: 15 };
    const schedule = restoreTestSchedule(7, 1);
    const e = testEnv({
      plan: { assets: [neonAsset], neon: { projectId: project, branchId: "br-main-restore", apiUrl: inject("neonRestoreStandin"), restoreWindowDays: 7 }, restoreTesting: { everyDays: 7, ...schedule } },
      env: { NEON_API_KEY: "neon-test-key", NEON_SQL_ENDPOINT: inject("neonRestoreSqlEndpoint"), RESTORE_TEST_CHECKS: { postgres: [{ name: "users-exist", sql: "SELECT id FROM users", minRows: 2 }] } } as never,
    });
    expect(await runDueRestoreTest(e, Date.now())).toEqual([]);
    const [good] = await reports(`${RESTORE_TEST_REPORTS_PREFIX}neon/prod-db/`);
    expect(good).toMatchObject({ asset: "neon/prod-db", passed: true, digestMatches: null, countMatches: null, rtoTargetSeconds: 900 });
    expect(good!.integrity.map((c) => c.check)).toContain("postgres: users-exist");
    expect(good!.pointInTime).toMatch(/^\d{4}-/);

    const failing = testEnv({ plan: e.BACKUP_PLAN, env: { ...e, RESTORE_TEST_CHECKS: { postgres: [{ name: "no-users", sql: "SELECT id FROM users", expectRows: 0 }] } } as never });
    const alerts = await runDueRestoreTest(failing, Date.now());
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ kind: "restore-test-failed", asset: "neon/prod-db" });
    expect(alerts[0]!.error).toMatch(/no-users/);
  });
});
