/**
 * Backup health baselines against someone who holds the R2 token of the backup bucket: they
 * can read, replay, plant and delete anything under _state/ (sealed, but not bound to time) and
 * plant new objects anywhere, but cannot sign a manifest. Emptying the source and then playing
 * with the bookkeeping must still end in a backup-shrank alert, never in silence.
 */
import { env, reset } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { latestPointerKey } from "../../lib/backup/catalog";
import { signManifest, type Manifest } from "../../lib/format/manifest";
import { SEALED_STATE_FORMAT } from "../../lib/format/sealedState";
import { destinations } from "../../worker/engine/destinations";
import { BackupRunner, findAsset } from "../../worker/engine/runner";
import type { Env, StepMessage } from "../../worker/env";
import { runWatchdog, type Finding } from "../../worker/watchdog";
import type { BackupStorage } from "../../lib/storage/types";
import { backupNow, drain, invocation, latest, master, r2, testEnv } from "./helpers";
import { seedAppDb, seedSessions } from "./seeds";

const SESSIONS = { kind: "kv", name: "sessions" } as const;
const pointerKey = latestPointerKey(SESSIONS);
const at = (iso: string) => new Date(iso);

async function healthAlerts(e: Env, now: Date): Promise<Finding[]> {
  const findings = await invocation(e, "scheduled", async (limited) => runWatchdog(limited.BACKUP_PLAN, destinations(limited), await master(), { now, sample: "none" }));
  return findings.filter((f) => f.kind === "backup-shrank" || f.kind === "backup-slow");
}

const pointerText = async () => (await env.BACKUP_R2.get(pointerKey))!.text();

/** Deletes all but `keep` keys of the sessions namespace (the attacker emptying the source). */
async function emptyTo(keep: number): Promise<void> {
  const { keys } = await env.KV_SESSIONS.list();
  for (const k of keys.slice(keep)) await env.KV_SESSIONS.delete(k.name);
}

describe("backup health baselines under attack through the R2 token", () => {
  beforeEach(async () => {
    await reset();
  });

  it("a replayed older latest pointer does not become the baseline: the backup is still compared with the newest one", async () => {
    const e = testEnv({ limits: { opsPerStep: 1000 } });
    await seedSessions(env.KV_SESSIONS, 20);
    await backupNow(e, "kv/sessions", { now: () => at("2026-11-20T08:00:00Z") });
    const small = await pointerText(); // kept by the attacker (sealed, but replayable)
    await seedSessions(env.KV_SESSIONS, 200);
    await backupNow(e, "kv/sessions", { now: () => at("2026-11-20T09:00:00Z") });
    expect(await healthAlerts(e, at("2026-11-20T09:05:00Z"))).toEqual([]);

    await emptyTo(20);
    await env.BACKUP_R2.put(pointerKey, small);
    await backupNow(e, "kv/sessions", { now: () => at("2026-11-20T10:00:00Z") });
    const { manifest } = await latest(e, "kv/sessions");
    expect(manifest.health?.history.map((s) => s.items)).toEqual([20, 200]);
    const alerts = await healthAlerts(e, at("2026-11-20T10:05:00Z"));
    expect(alerts.map((f) => f.error)).toContainEqual(expect.stringMatching(/holds 20 keys, down 90% from 200 in backup/));
  });

  it("a pointer replayed between a shrunk backup and the watchdog does not hide that backup from the watchdog", async () => {
    const e = testEnv({ limits: { opsPerStep: 1000 } });
    await seedSessions(env.KV_SESSIONS, 200);
    await backupNow(e, "kv/sessions", { now: () => at("2026-11-20T08:00:00Z") });
    const healthy = await pointerText();
    await emptyTo(20);
    await backupNow(e, "kv/sessions", { now: () => at("2026-11-20T08:15:00Z") });
    // Right after the commit, the pointer is put back to the healthy backup before it.
    await env.BACKUP_R2.put(pointerKey, healthy);
    const alerts = await healthAlerts(e, at("2026-11-20T08:20:00Z"));
    expect(alerts.map((f) => f.error)).toContainEqual(expect.stringMatching(/holds 20 keys, down 90% from 200 in backup/));
  });

  it("a pointer that breaks the reader (a sealed envelope with a deeply nested value) planted mid-job does not reset the baseline", async () => {
    const e = testEnv({ limits: { opsPerStep: 1000 } });
    await seedSessions(env.KV_SESSIONS, 200);
    await backupNow(e, "kv/sessions", { now: () => at("2026-11-20T08:00:00Z") });
    await emptyTo(20);

    const queue: StepMessage[] = [];
    const runnerIn = (limited: Env) => new BackupRunner(limited, { now: () => at("2026-11-20T08:15:00Z"), enqueue: async (m) => void queue.push(m) });
    await invocation(e, "scheduled", (limited) => runnerIn(limited).start(findAsset(e.BACKUP_PLAN, "kv/sessions")));
    // Between the job's start and its commit: every field the reader checks first is right
    // (the key id is public in any sealed object), the value nests deeper than a stack.
    const depth = 200_000;
    const poison = `{"format":${JSON.stringify(SEALED_STATE_FORMAT)},"purpose":"latest:kv/sessions","keyId":${JSON.stringify((await master()).id)},"mac":"AAAA","value":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    await env.BACKUP_R2.put(pointerKey, poison);
    expect(await drain(e, queue, runnerIn)).toContain("committed");

    const { manifest } = await latest(e, "kv/sessions");
    expect(manifest.health?.history.map((s) => s.items)).toEqual([200]);
    const alerts = await healthAlerts(e, at("2026-11-20T08:20:00Z"));
    expect(alerts.map((f) => f.error)).toContainEqual(expect.stringMatching(/holds 20 keys, down 90% from 200 in backup/));
  });

  it("a baseline that cannot be read fails the commit step (the queue retries it) instead of committing a backup with no baseline", async () => {
    const e = testEnv({ limits: { opsPerStep: 1000 } });
    await seedSessions(env.KV_SESSIONS, 200);
    await backupNow(e, "kv/sessions", { now: () => at("2026-11-20T08:00:00Z") });
    await emptyTo(20);

    let outage = false;
    const flaky = (inner: BackupStorage): BackupStorage => ({
      label: inner.label,
      put: (k, b, o) => inner.put(k, b, o),
      get: async (k, r) => {
        if (outage && k === pointerKey) throw new Error("injected R2 read failure");
        return inner.get(k, r);
      },
      head: (k) => inner.head(k),
      list: (p, o) => inner.list(p, o),
      delete: (k) => inner.delete(k),
    });
    const queue: StepMessage[] = [];
    const runnerIn = (limited: Env) => new BackupRunner(limited, { storage: flaky(r2(limited)), now: () => at("2026-11-20T08:15:00Z"), enqueue: async (m) => void queue.push(m) });
    await invocation(e, "scheduled", (limited) => runnerIn(limited).start(findAsset(e.BACKUP_PLAN, "kv/sessions")));
    outage = true;
    // The commit step fails; the queue keeps it (and anything queued after it) for a retry.
    const kept: StepMessage[] = [];
    await expect(
      (async () => {
        while (queue.length) {
          const msg = queue[0] as StepMessage;
          await invocation(e, "queue", (limited) => runnerIn(limited).continue(msg));
          queue.shift();
        }
      })(),
    ).rejects.toThrow(/injected R2 read failure/);
    kept.push(...queue);
    expect((await latest(e, "kv/sessions")).manifest.createdAt).toBe("2026-11-20T08:00:00.000Z");

    // The queue's retry, once R2 answers again, commits it with its baseline.
    outage = false;
    expect(await drain(e, kept, runnerIn)).toContain("committed");
    expect((await latest(e, "kv/sessions")).manifest.health?.history.map((s) => s.items)).toEqual([200]);
    expect((await healthAlerts(e, at("2026-11-20T08:20:00Z"))).map((f) => f.error)).toContainEqual(expect.stringMatching(/holds 20 keys, down 90% from 200/));
  });

  it("the first backup after the upgrade is compared with the last one written without health figures (its signed counts)", async () => {
    const e = testEnv({ limits: { opsPerStep: 1000 } });
    await seedAppDb(env.D1_APP_DB, 100);
    await backupNow(e, "d1/app-db", { now: () => at("2026-11-20T02:00:00Z") });
    // That backup as the Worker before health baselines wrote it: the same, signed, no `health`.
    const { manifest, key } = await latest(e, "d1/app-db");
    const { mac: _mac, health, ...rest } = manifest;
    const legacy: Manifest = await signManifest(await master(), rest);
    await env.BACKUP_R2.put(key, JSON.stringify(legacy, null, 2));
    await env.D1_APP_DB.prepare("DELETE FROM sessions").run();
    await env.D1_APP_DB.prepare("DELETE FROM users").run();
    await env.D1_APP_DB.prepare("DELETE FROM audit").run();
    await backupNow(e, "d1/app-db", { now: () => at("2026-11-20T03:00:00Z") });

    const now = (await latest(e, "d1/app-db")).manifest;
    expect(now.health?.history).toEqual([{ backupId: manifest.backupId, mode: "logical", durationSeconds: health?.durationSeconds, items: health?.items, bytes: health?.bytes }]);
    const alerts = await healthAlerts(e, at("2026-11-20T03:05:00Z"));
    expect(alerts.map((f) => f.error)).toContainEqual(expect.stringMatching(new RegExp(`holds ${now.health?.items} rows, down \\S+% from ${health?.items} in backup ${manifest.backupId}`)));
  });

  it("an unsigned manifest planted with a newer backup id, and another asset's manifest copied in, are reported and skipped: the baseline and the alert stand", async () => {
    const e = testEnv({ limits: { opsPerStep: 1000 } });
    await seedSessions(env.KV_SESSIONS, 200);
    await backupNow(e, "kv/sessions", { now: () => at("2026-11-20T08:00:00Z") });
    const real = (await latest(e, "kv/sessions")).manifest;
    // Claims a tiny namespace, so the real shrink would look like growth against it.
    const planted = `daily/kv/sessions/20991231T000000000Z-deadbeef/manifest.json`;
    await env.BACKUP_R2.put(planted, JSON.stringify({ ...real, backupId: "20991231T000000000Z-deadbeef", health: { ...real.health, items: 1 }, mac: "AAAA" }));
    await seedAppDb(env.D1_APP_DB, 10);
    await backupNow(e, "d1/app-db", { now: () => at("2026-11-20T08:01:00Z") });
    const d1 = await latest(e, "d1/app-db");
    const copied = d1.key.replace(/^(\w+)\/d1\/app-db\/[^/]+\//, "$1/kv/sessions/20991230T000000000Z-0000beef/");
    await env.BACKUP_R2.put(copied, JSON.stringify(d1.manifest));
    await emptyTo(20);
    await backupNow(e, "kv/sessions", { now: () => at("2026-11-20T08:15:00Z") });

    expect((await latest(e, "kv/sessions")).manifest.health?.history.map((s) => s.items)).toEqual([200]);
    const findings = await invocation(e, "scheduled", async (limited) => runWatchdog(limited.BACKUP_PLAN, destinations(limited), await master(), { now: at("2026-11-20T08:20:00Z"), sample: "none" }));
    const mine = findings.filter((f) => f.asset === "kv/sessions");
    expect(mine.filter((f) => f.kind === "verification-failed").map((f) => f.error)).toEqual(
      expect.arrayContaining([expect.stringContaining(planted), expect.stringContaining(copied)]),
    );
    expect(mine.filter((f) => f.kind === "backup-shrank").map((f) => f.error)).toContainEqual(expect.stringMatching(/holds 20 keys, down 90% from 200/));
  });
});
