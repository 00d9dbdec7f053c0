/**
 * Restore tests against an attacker holding the backup bucket's R2 token (who can rewrite or
 * delete _state/, _reports/ and anything unlocked, but cannot reach the scratch bindings) and
 * against bad luck (a step that dies half-way and is retried, a duplicate message, a scratch
 * resource written under the test, a manifest whose count is wrong, a differential KV backup
 * whose base is gone, a test abandoned mid-way). What must hold: a bad backup never reports a
 * pass; a failed test reports passed:false with a reason and an alert; the scratch resource
 * ends empty; the production source is never written.
 */
import { env, reset } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { latestPointerKey } from "../../lib/backup/catalog";
import { readRestoreTestReports, reportOfTestSince, RESTORE_TEST_REPORTS_PREFIX, type RestoreTestResult } from "../../lib/backup/restoreTestReport";
import { signManifest, type Manifest } from "../../lib/format/manifest";
import { EMPTY_DIGEST, MultisetDigest, sameDigest } from "../../lib/restore/multisetDigest";
import type { Env, StepMessage } from "../../worker/env";
import { findAsset } from "../../worker/engine/runner";
import { RestoreTestRunner, type TestKind } from "../../worker/restoreTest/runner";
import { readTestState } from "../../worker/restoreTest/state";
import type { PlanAsset } from "../../lib/backup/plan";
import { backupNow, latest, master, r2, testEnv } from "./helpers";
import { atPhase, dead, dyingAt, dyingWhen, restoreTestNow, stateKey } from "./restoreTestDriver";
import { seedAppDb, seedSessions, seedUploads } from "./seeds";

const KV = { kind: "kv" as const, name: "sessions" };
const R2 = { kind: "r2" as const, name: "user-uploads" };
const scratchKeys = async () => (await env.RESTORE_TEST_KV.list()).keys.map((k) => k.name);
const scratchObjects = async () => (await env.RESTORE_TEST_R2.list()).objects.map((o) => o.key);
const d1Objects = async (db: D1Database) => (await db.prepare("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").all()).results.length;

/** A manifest's text with its MAC altered (an attacker's edit, or a bit flipped at rest). */
function breakMac(text: string): string {
  const broken = text.replace(/"mac":\s*"/, '"mac":"AA');
  expect(broken).not.toBe(text);
  return broken;
}

async function tamperArtifact(m: Manifest, role: string): Promise<void> {
  const artifact = m.artifacts.find((x) => x.role === role)!;
  const bytes = new Uint8Array(await (await env.BACKUP_R2.get(artifact.key))!.arrayBuffer());
  bytes[bytes.length - 40]! ^= 0x01;
  await env.BACKUP_R2.put(artifact.key, bytes);
}

function failedLoudly(t: { result: RestoreTestResult | null; alerts: unknown[] }, why: RegExp): void {
  expect(t.result, JSON.stringify(t.result)).toMatchObject({ passed: false });
  expect(t.result!.error).toMatch(why);
  expect(t.alerts).toHaveLength(1);
  expect(t.alerts[0]).toMatchObject({ kind: "restore-test-failed", severity: "critical" });
}

describe("restore tests under attack and bad luck", () => {
  beforeEach(async () => {
    await reset();
  });

  describe("forged and replayed records", () => {
    it("a planted copy of an older passing report is refused, and the drill's pick is the failing test's own report", async () => {
      await seedSessions(env.KV_SESSIONS, 20);
      const e = testEnv();
      await backupNow(e, "kv/sessions");
      const good = await restoreTestNow(e, "kv/sessions");
      expect(good.result).toMatchObject({ passed: true });
      const [goodKey] = (await env.BACKUP_R2.list({ prefix: `${RESTORE_TEST_REPORTS_PREFIX}kv/sessions/` })).objects.map((o) => o.key);
      const goodText = await (await env.BACKUP_R2.get(goodKey!))!.text();

      // The backup is tampered with and the next test fails; the attacker plants the old pass
      // under a key that sorts after everything, and deletes the genuine failure.
      await tamperArtifact((await latest(e, "kv/sessions")).manifest, "kv-entries");
      const firedAt = Date.now();
      const bad = await restoreTestNow(e, "kv/sessions");
      expect(bad.result).toMatchObject({ passed: false });
      const planted = `${RESTORE_TEST_REPORTS_PREFIX}kv/sessions/9999-12-31T23-59-59-999Z-x.json`;
      await env.BACKUP_R2.put(planted, goodText);

      const read = await readRestoreTestReports(r2(), await master(), KV);
      expect(read.refused.map((x) => x.key)).toEqual([planted]);
      expect(read.refused[0]!.reason).toMatch(/copied or replayed/);
      expect(read.reports.map((x) => x.passed)).toEqual([true, false]);
      expect(reportOfTestSince(read.reports, firedAt)).toMatchObject({ passed: false, backupId: bad.result!.backupId });

      // With the failure deleted, the old pass still is not the test the drill fired.
      for (const o of (await env.BACKUP_R2.list({ prefix: `${RESTORE_TEST_REPORTS_PREFIX}kv/sessions/` })).objects) if (o.key !== goodKey) await env.BACKUP_R2.delete(o.key);
      expect(reportOfTestSince((await readRestoreTestReports(r2(), await master(), KV)).reports, firedAt)).toBeNull();
    });

    it("a replayed state of an earlier test fails the running test loudly and the scratch namespace is emptied", async () => {
      await seedSessions(env.KV_SESSIONS, 60);
      const e = testEnv();
      await backupNow(e, "kv/sessions", { now: () => new Date("2026-11-02T10:00:00Z") });
      let captured = "";
      const first = await restoreTestNow(e, "kv/sessions", {
        between: async () => {
          const text = await (await env.BACKUP_R2.get(stateKey(KV)))?.text();
          const s = await readTestState(r2(), await master(), KV).catch(() => null);
          if (text && s?.phase === "restore" && s.skip > 0 && !captured) captured = text;
        },
      });
      expect(first.result).toMatchObject({ passed: true });
      expect(captured).not.toBe("");

      await env.KV_SESSIONS.put("session:new", "after the first test");
      await backupNow(e, "kv/sessions", { now: () => new Date("2026-11-02T11:00:00Z") });
      // The second test has written into the scratch namespace when the old state is put back.
      const t = await restoreTestNow(e, "kv/sessions", { between: atPhase(KV, "verify", () => env.BACKUP_R2.put(stateKey(KV), captured).then(() => undefined)) });
      expect(t.results.some((r) => r.passed)).toBe(false);
      failedLoudly(t, /older copy was put back/);
      expect(await scratchKeys()).toEqual([]);
    });

    it("an earlier state of the same test put back is refused, not followed (the test does not silently vanish)", async () => {
      await seedSessions(env.KV_SESSIONS, 60);
      const e = testEnv();
      await backupNow(e, "kv/sessions");
      let early = "";
      const t = await restoreTestNow(e, "kv/sessions", {
        between: async (step) => {
          if (step === 2) early = (await (await env.BACKUP_R2.get(stateKey(KV)))!.text());
          if (step === 4) await env.BACKUP_R2.put(stateKey(KV), early);
        },
      });
      failedLoudly(t, /older copy was put back/);
      expect(await scratchKeys()).toEqual([]);
      expect(await env.BACKUP_R2.head(stateKey(KV))).toBeNull();
    });

    it("a forged state after the restore wrote is refused, and the scratch bucket still ends empty", async () => {
      await seedUploads(env.R2_USER_UPLOADS);
      const e = testEnv();
      await backupNow(e, "r2/user-uploads");
      const t = await restoreTestNow(e, "r2/user-uploads", {
        between: atPhase(R2, "verify", async () => {
          expect((await scratchObjects()).length).toBeGreaterThan(0);
          await env.BACKUP_R2.put(stateKey(R2), JSON.stringify({ format: "drposture-state/1", purpose: "restore-test-job:r2/user-uploads", value: { phase: "empty-after", result: { passed: true } }, mac: "AAAA" }));
        }),
      });
      failedLoudly(t, /state was refused/);
      expect(await scratchObjects()).toEqual([]);
    });

    it("a newer manifest that does not verify fails the test, even with the latest pointer deleted (no quiet fallback to an older backup)", async () => {
      await seedSessions(env.KV_SESSIONS, 12);
      const e = testEnv();
      await backupNow(e, "kv/sessions", { now: () => new Date("2026-11-02T10:00:00Z") });
      await env.KV_SESSIONS.put("session:00001", "changed");
      await backupNow(e, "kv/sessions", { now: () => new Date("2026-11-02T10:15:00Z") });
      const newest = await latest(e, "kv/sessions");
      const text = await (await env.BACKUP_R2.get(newest.key))!.text();
      await env.BACKUP_R2.put(newest.key, breakMac(text));
      await env.BACKUP_R2.delete(latestPointerKey(KV));
      const t = await restoreTestNow(e, "kv/sessions");
      failedLoudly(t, /refused/);
      expect(t.result!.error).toContain(newest.key);
      expect(await scratchKeys()).toEqual([]);
    });
  });

  describe("the checks have teeth", () => {
    it("KV: an extra key or a missing key in the scratch namespace fails on the digest", async () => {
      await seedSessions(env.KV_SESSIONS, 12);
      const e = testEnv({ limits: { opsPerStep: 400 } });
      await backupNow(e, "kv/sessions");
      const extra = await restoreTestNow(e, "kv/sessions", { between: atPhase(KV, "verify", () => env.RESTORE_TEST_KV.put("stray", "x")) });
      failedLoudly(extra, /digest mismatch/);
      const missing = await restoreTestNow(e, "kv/sessions", { between: atPhase(KV, "verify", () => env.RESTORE_TEST_KV.delete("session:00001")) });
      failedLoudly(missing, /digest mismatch/);
      expect(await scratchKeys()).toEqual([]);
    });

    it("something written into the scratch namespace before the restore fails the test naming it, the scratch namespace is emptied and the source untouched", async () => {
      await seedSessions(env.KV_SESSIONS, 12);
      const e = testEnv();
      await backupNow(e, "kv/sessions");
      const source = async () => (await env.KV_SESSIONS.list()).keys.map((k) => [k.name, k.expiration ?? null]);
      const before = await source();
      const t = await restoreTestNow(e, "kv/sessions", { between: atPhase(KV, "restore", () => env.RESTORE_TEST_KV.put("someone-else", "x")) });
      failedLoudly(t, /RESTORE_TEST_KV already holds 1 key/);
      expect(await scratchKeys()).toEqual([]);
      expect(await source()).toEqual(before);
    });

    it("R2: an extra object, a missing one, or one with other bytes fails on the digest", async () => {
      await seedUploads(env.R2_USER_UPLOADS);
      const e = testEnv({ limits: { opsPerStep: 400 } });
      await backupNow(e, "r2/user-uploads");
      for (const meddle of [() => env.RESTORE_TEST_R2.put("stray", "x"), () => env.RESTORE_TEST_R2.delete("avatars/1.png"), () => env.RESTORE_TEST_R2.put("docs/empty.txt", "not empty")]) {
        const t = await restoreTestNow(e, "r2/user-uploads", { between: atPhase(R2, "verify", async () => void (await meddle())) });
        failedLoudly(t, /digest mismatch/);
      }
      expect(await scratchObjects()).toEqual([]);
    });

    it("the multiset digest is order-free and tells an extra, a missing or a swapped item apart", () => {
      const of = (items: string[]) => {
        const d = new MultisetDigest();
        for (const i of items) d.add(i);
        return d.state;
      };
      expect(sameDigest(of(["a", "b", "c"]), of(["c", "a", "b"]))).toBe(true);
      expect(sameDigest(of(["a", "b"]), of(["a", "b", "b"]))).toBe(false);
      expect(sameDigest(of(["a", "b"]), of(["a"]))).toBe(false);
      expect(sameDigest(of(["a", "b"]), of(["a", "c"]))).toBe(false);
      expect(sameDigest(of([]), EMPTY_DIGEST)).toBe(true);
    });

    it("a manifest whose count disagrees with what its artifacts hold fails the test on the count", async () => {
      await seedSessions(env.KV_SESSIONS, 12);
      const e = testEnv();
      await backupNow(e, "kv/sessions");
      const { manifest, key } = await latest(e, "kv/sessions");
      const { mac: _mac, ...unsigned } = manifest;
      await env.BACKUP_R2.put(key, JSON.stringify(await signManifest(await master(), { ...unsigned, counts: { ...manifest.counts, keys: 13 } })));
      const t = await restoreTestNow(e, "kv/sessions");
      failedLoudly(t, /restored 12 item\(s\), the manifest records 13/);
      expect(t.result).toMatchObject({ countMatches: false, digestMatches: true });
    });

    it("the count is checked against the manifest as read at the start, even when it cannot be read again at the end", async () => {
      await seedSessions(env.KV_SESSIONS, 12);
      const e = testEnv();
      await backupNow(e, "kv/sessions");
      const { manifest, key } = await latest(e, "kv/sessions");
      const text = await (await env.BACKUP_R2.get(key))!.text();
      const t = await restoreTestNow(e, "kv/sessions", { between: atPhase(KV, "verify", () => env.BACKUP_R2.put(key, breakMac(text)).then(() => undefined)) });
      expect(t.result).toMatchObject({ manifestCount: manifest.counts.keys, countMatches: true });
    });
  });

  describe("bad luck", () => {
    it("a first restore part that dies half-way is retried into an emptied namespace and passes", async () => {
      await seedSessions(env.KV_SESSIONS, 30);
      const e = testEnv({ limits: { opsPerStep: 400 } });
      await backupNow(e, "kv/sessions");
      const t = await restoreTestNow(e, "kv/sessions", {
        envFor: (step, attempt, base) => (step === 2 && attempt === 1 ? ({ ...base, RESTORE_TEST_KV: dyingAt(base.RESTORE_TEST_KV as object, "put", 10) } as unknown as Env) : base),
      });
      expect(t.retried).toHaveLength(1);
      expect(t.result, JSON.stringify(t.result)).toMatchObject({ passed: true, restoredCount: 30, manifestCount: 30, digestMatches: true });
      expect(await scratchKeys()).toEqual([]);
    });

    it("D1: a first restore part that wrote everything and died before saving its cursor is retried and passes", async () => {
      await seedAppDb(env.D1_APP_DB);
      const e = testEnv({ limits: { opsPerStep: 800 } });
      await backupNow(e, "d1/app-db");
      // D1 refusing a batch fails the test for good (the backup does not restore); an invocation
      // that dies is retried: here it dies saving the test's cursor, after the rows went in.
      const t = await restoreTestNow(e, "d1/app-db", {
        envFor: (step, attempt, base) => (step === 2 && attempt === 1 ? ({ ...base, BACKUP_R2: dyingWhen(base.BACKUP_R2 as object, "put", ([key, body]) => key === stateKey({ kind: "d1", name: "app-db" }) && String(body).includes('"phase":"verify"')) } as unknown as Env) : base),
      });
      expect(t.retried).toHaveLength(1);
      expect(t.result, JSON.stringify(t.result)).toMatchObject({ passed: true, digestMatches: true, countMatches: true });
      expect(await d1Objects(env.RESTORE_TEST_D1)).toBe(0);
    });

    it("a later restore part that dies half-way and is retried counts each item once", async () => {
      await seedSessions(env.KV_SESSIONS, 120);
      const e = testEnv();
      await backupNow(e, "kv/sessions");
      const t = await restoreTestNow(e, "kv/sessions", {
        envFor: (step, attempt, base) => (step === 4 && attempt === 1 ? ({ ...base, RESTORE_TEST_KV: dyingAt(base.RESTORE_TEST_KV as object, "put", 3) } as unknown as Env) : base),
      });
      expect(t.retried).toHaveLength(1);
      expect(t.result).toMatchObject({ passed: true, restoredCount: 120, manifestCount: 120, digestMatches: true, countMatches: true });
    });

    it("a step that keeps failing fails the test with an alert and the scratch bucket is emptied", async () => {
      await seedUploads(env.R2_USER_UPLOADS);
      const e = testEnv();
      await backupNow(e, "r2/user-uploads");
      // From the first verify step on, the scratch bucket is down for every attempt of that step.
      let broken = false;
      let brokenStep: number | undefined;
      const t = await restoreTestNow(e, "r2/user-uploads", {
        between: atPhase(R2, "verify", async () => void (broken = true)),
        envFor: (step, _attempt, base) => {
          if (broken && brokenStep === undefined) brokenStep = step;
          return step === brokenStep ? ({ ...base, RESTORE_TEST_R2: dead(base.RESTORE_TEST_R2 as object) } as unknown as Env) : base;
        },
      });
      failedLoudly(t, /failed 3 times/);
      expect(await scratchObjects()).toEqual([]);
    });

    it("an R2 put into the scratch bucket that fails before reading the body never hangs the step: a passing failure is retried, a lasting one fails the test", async () => {
      await seedUploads(env.R2_USER_UPLOADS);
      const e = testEnv();
      await backupNow(e, "r2/user-uploads");
      const dying = (base: Env) => ({ ...base, RESTORE_TEST_R2: dyingWhen(base.RESTORE_TEST_R2 as object, "put", () => true) }) as unknown as Env;
      // R2 having a bad minute: the queue's retry restores the part and the test passes.
      const once = await restoreTestNow(e, "r2/user-uploads", { envFor: (step, attempt, base) => (step === 2 && attempt === 1 ? dying(base) : base) });
      expect(once.result).toMatchObject({ passed: true, restoredCount: 5, digestMatches: true });
      expect(await scratchObjects()).toEqual([]);
      // R2 refusing every attempt: the test fails once the retries run out, naming the objects.
      // The first part is started over (scratch emptied) a bounded number of times, not forever.
      const always = await restoreTestNow(e, "r2/user-uploads", { envFor: (_step, _attempt, base) => dying(base) });
      failedLoudly(always, /first part of the restore failed 3 times, last: restore incomplete: .* could not be written to RESTORE_TEST_R2/);
      expect(always.steps).toBeLessThan(15);
      expect(await scratchObjects()).toEqual([]);
    }, 60_000);

    it("every message delivered twice: duplicates are ignored, nothing is counted twice, one report", async () => {
      await seedSessions(env.KV_SESSIONS, 120);
      const e = testEnv();
      await backupNow(e, "kv/sessions");
      const a = findAsset(e.BACKUP_PLAN, "kv/sessions") as PlanAsset & { kind: TestKind };
      const queue: StepMessage[] = [];
      const runner = new RestoreTestRunner(e, { enqueue: async (m) => void queue.push(m) });
      await runner.start(a);
      const results: RestoreTestResult[] = [];
      while (queue.length) {
        const msg = queue.shift()!;
        for (let i = 0; i < 2; i++) {
          const r = await runner.continue(a, msg);
          if (r) results.push(r);
        }
      }
      expect(results).toHaveLength(1);
      expect(results[0]).toMatchObject({ passed: true, restoredCount: 120, manifestCount: 120 });
      expect((await readRestoreTestReports(r2(), await master(), KV)).reports).toHaveLength(1);
    });

    it("a second firing while a test runs leaves it alone; one stuck past abandonAfterMinutes fails with an alert, and the old test's late message is ignored", async () => {
      await seedSessions(env.KV_SESSIONS, 60);
      const e = testEnv();
      await backupNow(e, "kv/sessions");
      const a = findAsset(e.BACKUP_PLAN, "kv/sessions") as PlanAsset & { kind: TestKind };
      const queue: StepMessage[] = [];
      let now = Date.now();
      // The clock moves a millisecond per reading, as a real one would between steps.
      const runner = new RestoreTestRunner(e, { enqueue: async (m) => void queue.push(m), now: () => new Date((now += 1)) });
      expect(await runner.start(a)).toBeNull();
      await runner.continue(a, queue.shift()!);
      await runner.continue(a, queue.shift()!);
      const late = queue.shift()!;
      // A second firing soon after: the running test is left alone.
      now += 60_000;
      expect(await runner.start(a)).toBeNull();
      expect(queue).toEqual([]);
      // The next message is lost; a firing after abandonAfterMinutes fails the stuck test.
      now += (e.BACKUP_PLAN.abandonAfterMinutes + 1) * 60_000;
      const abandoned = await runner.start(a);
      expect(abandoned).toMatchObject({ passed: false });
      expect(abandoned!.error).toMatch(/abandoned after \d+ min idle/);
      // The old test's message arrives late: it is ignored, the new test runs to a pass.
      expect(await runner.continue(a, late)).toBeNull();
      let result: RestoreTestResult | null = null;
      while (queue.length) result = (await runner.continue(a, queue.shift()!)) ?? result;
      expect(result).toMatchObject({ passed: true, restoredCount: 60 });
      expect(await scratchKeys()).toEqual([]);
      expect((await readRestoreTestReports(r2(), await master(), KV)).reports.map((r) => r.passed)).toEqual([false, true]);
    });

    // KNOWN GAP, not fixed here: the state is the only record of a running test and the bucket's
    // token can delete it; the test's next message then finds nothing (as a late duplicate does)
    // and the test ends with no report and no alert. Only a check that every asset has a fresh
    // genuine report (the watchdog: newest report per asset older than the rotation's interval
    // plus abandonAfterMinutes -> alert) catches this, and a deleted or replayed report too.
    it.fails("a test whose state is deleted mid-way does not vanish: a failure is reported and alerted", async () => {
      await seedSessions(env.KV_SESSIONS, 60);
      const e = testEnv();
      await backupNow(e, "kv/sessions");
      const t = await restoreTestNow(e, "kv/sessions", { between: async (step) => void (step === 2 && (await env.BACKUP_R2.delete(stateKey(KV)))) });
      failedLoudly(t, /.+/);
    });

    it("a differential KV backup whose full base is missing, or whose base's data is altered, fails the test", async () => {
      await seedSessions(env.KV_SESSIONS, 30);
      const e = testEnv();
      await backupNow(e, "kv/sessions", { now: () => new Date("2026-11-02T10:00:00Z") });
      const base = await latest(e, "kv/sessions");
      await env.KV_SESSIONS.put("session:new", "fresh");
      await backupNow(e, "kv/sessions", { now: () => new Date("2026-11-02T10:15:00Z") });
      expect((await latest(e, "kv/sessions")).manifest.mode).toBe("incremental");

      await tamperArtifact(base.manifest, "kv-entries");
      const altered = await restoreTestNow(e, "kv/sessions");
      failedLoudly(altered, /artifact|tamper|authenticat/i);
      expect(await scratchKeys()).toEqual([]);

      await env.BACKUP_R2.delete(base.key);
      const missing = await restoreTestNow(e, "kv/sessions");
      failedLoudly(missing, /missing/);
      expect(await scratchKeys()).toEqual([]);
    });
  });

  describe("edge-shaped assets", () => {
    it("empty KV namespace and empty R2 bucket: the test passes with 0 items and ends", async () => {
      const e = testEnv();
      await backupNow(e, "kv/sessions");
      await backupNow(e, "r2/user-uploads");
      const kv = await restoreTestNow(e, "kv/sessions");
      expect(kv.result, JSON.stringify(kv.result)).toMatchObject({ passed: true, restoredCount: 0, manifestCount: 0, digestMatches: true });
      const bucket = await restoreTestNow(e, "r2/user-uploads");
      expect(bucket.result, JSON.stringify(bucket.result)).toMatchObject({ passed: true, restoredCount: 0, manifestCount: 0, digestMatches: true });
    });

    it("D1 holding schema only: restored, read back equal, passes; the source is not written", async () => {
      await env.D1_APP_DB.batch([env.D1_APP_DB.prepare("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)"), env.D1_APP_DB.prepare("CREATE INDEX users_email ON users(email)")]);
      const e = testEnv();
      await backupNow(e, "d1/app-db");
      const t = await restoreTestNow(e, "d1/app-db");
      expect(t.result, JSON.stringify(t.result)).toMatchObject({ passed: true, restoredCount: 0, manifestCount: 0, digestMatches: true });
      expect(await d1Objects(env.RESTORE_TEST_D1)).toBe(0);
      expect(await d1Objects(env.D1_APP_DB)).toBe(2);
    });

    it("KV keys that expire within the test's horizon are restored but kept out of the digests; the test passes", async () => {
      await seedSessions(env.KV_SESSIONS, 10);
      await env.KV_SESSIONS.put("soon", "gone in two minutes", { expirationTtl: 120 });
      const e = testEnv();
      await backupNow(e, "kv/sessions");
      const t = await restoreTestNow(e, "kv/sessions");
      expect(t.result, JSON.stringify(t.result)).toMatchObject({ passed: true, restoredCount: 11, manifestCount: 11, digestMatches: true });
      expect(await scratchKeys()).toEqual([]);
    });
  });
});
