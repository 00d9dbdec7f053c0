/**
 * Backup health baselines in workerd: each committed manifest carries its duration, items and
 * bytes and those of the backups before it; the watchdog raises `backup-shrank` when items or
 * bytes fall by more than 50% against the previous backup and `backup-slow` when a backup takes
 * more than 3x the median of the last 10 of its mode, each naming both numbers, once per backup.
 * Thresholds are per asset (`healthAlerts`). The baseline lives in signed manifests, so deleting
 * the latest pointer or the watchdog's note cannot silence an alert.
 */
import { createScheduledController, env, reset } from "cloudflare:test";
import { beforeEach, describe, expect, inject, it } from "vitest";
import worker from "../../worker/index";
import { latestPointerKey } from "../../lib/backup/catalog";
import type { HealthThresholds } from "../../lib/backup/health";
import type { BackupPlan } from "../../lib/backup/plan";
import { destinations } from "../../worker/engine/destinations";
import type { Env } from "../../worker/env";
import { runWatchdog, type Finding } from "../../worker/watchdog";
import { backupNow, invocation, latest, master, testEnv } from "./helpers";
import { seedAppDb, seedSessions } from "./seeds";

/** The plan with one asset's thresholds changed. */
function withHealth(id: string, health: HealthThresholds): Env {
  const base = testEnv({ limits: { opsPerStep: 1000 } });
  const plan: BackupPlan = { ...base.BACKUP_PLAN, assets: base.BACKUP_PLAN.assets.map((a) => (`${a.kind}/${a.name}` === id ? { ...a, health } : a)) };
  return { ...base, BACKUP_PLAN: plan };
}

/** A clock for one backup: the job starts at `start` and every later reading is `seconds` on. */
function jobClock(start: Date, seconds: number): () => Date {
  let first = true;
  return () => {
    const t = first ? start : new Date(start.getTime() + seconds * 1000);
    first = false;
    return t;
  };
}

async function healthAlerts(e: Env, now: Date): Promise<Finding[]> {
  const findings = await invocation(e, "scheduled", async (limited) => runWatchdog(limited.BACKUP_PLAN, destinations(limited), await master(), { now, sample: "none" }));
  return findings.filter((f) => f.kind === "backup-shrank" || f.kind === "backup-slow");
}

const at = (iso: string) => new Date(iso);

describe("backup health baselines", () => {
  beforeEach(async () => {
    await reset();
  });

  it("a KV namespace that lost 60% of its keys raises backup-shrank naming both counts, once", async () => {
    await seedSessions(env.KV_SESSIONS, 200);
    const e = testEnv({ limits: { opsPerStep: 1000 } });
    await backupNow(e, "kv/sessions", { now: () => at("2026-11-20T08:00:00Z") });
    expect(await healthAlerts(e, at("2026-11-20T08:05:00Z"))).toEqual([]);

    const { keys } = await env.KV_SESSIONS.list({ limit: 120 });
    for (const k of keys) await env.KV_SESSIONS.delete(k.name);
    // A differential backup (same day): its listing still counts every key of the namespace.
    await backupNow(e, "kv/sessions", { now: () => at("2026-11-20T08:15:00Z") });
    const { manifest } = await latest(e, "kv/sessions");
    expect(manifest.mode).toBe("incremental");
    expect(manifest.health).toMatchObject({ items: 80, itemsLabel: "keys", bytes: null });
    expect(manifest.health?.history).toHaveLength(1);

    const alerts = await healthAlerts(e, at("2026-11-20T08:20:00Z"));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ kind: "backup-shrank", severity: "critical", asset: "kv/sessions" });
    expect(alerts[0]!.error).toMatch(/holds 80 keys, down 60% from 200 in backup \S+ \(alert above 50%\)/);
    // The next watchdog run (the next cron firing) does not repeat it.
    expect(await healthAlerts(e, at("2026-11-20T08:30:00Z"))).toEqual([]);
  });

  it("a D1 database that lost a third of its rows: quiet at the default 50%, alerts at a per-asset 30%, never when turned off", async () => {
    await seedAppDb(env.D1_APP_DB, 100);
    const base = testEnv({ limits: { opsPerStep: 1000 } });
    await backupNow(base, "d1/app-db", { now: () => at("2026-11-20T02:00:00Z") });
    const before = (await latest(base, "d1/app-db")).manifest.health?.items as number;
    await env.D1_APP_DB.prepare("DELETE FROM audit").run();
    await backupNow(base, "d1/app-db", { now: () => at("2026-11-20T03:00:00Z") });
    const after = (await latest(base, "d1/app-db")).manifest.health?.items as number;
    const drop = Math.round(((before - after) / before) * 1000) / 10;
    expect(drop).toBeGreaterThan(30);
    expect(drop).toBeLessThan(50);

    expect(await healthAlerts(base, at("2026-11-20T03:05:00Z"))).toEqual([]);
    const strict = await healthAlerts(withHealth("d1/app-db", { slowdownFactor: 3, shrinkPercent: 30 }), at("2026-11-20T03:05:00Z"));
    expect(strict.map((f) => f.error)).toContainEqual(expect.stringContaining(`holds ${after} rows, down ${drop}% from ${before} in backup`));
    expect(await healthAlerts(withHealth("d1/app-db", { slowdownFactor: 3, shrinkPercent: false }), at("2026-11-20T03:06:00Z"))).toEqual([]);
  });

  it("a backup over 3x the median of the last 10 raises backup-slow naming both durations; 2.5x does not", async () => {
    await seedAppDb(env.D1_APP_DB, 20);
    const e = testEnv({ limits: { opsPerStep: 1000 } });
    const durations = [100, 90, 110, 100, 95, 105, 100, 120, 80, 100, 250];
    for (const [i, seconds] of durations.entries()) {
      await backupNow(e, "d1/app-db", { now: jobClock(new Date(Date.UTC(2026, 10, 20, i)), seconds) });
    }
    const quiet = (await latest(e, "d1/app-db")).manifest;
    expect(quiet.health).toMatchObject({ durationSeconds: 250 });
    expect(quiet.health?.history).toHaveLength(10);
    expect(await healthAlerts(e, at("2026-11-20T10:10:00Z"))).toEqual([]);

    await backupNow(e, "d1/app-db", { now: jobClock(at("2026-11-20T11:00:00Z"), 400) });
    const slow = (await latest(e, "d1/app-db")).manifest;
    expect(slow.health?.history.map((s) => s.durationSeconds)).toEqual(durations.slice(1));
    const alerts = await healthAlerts(e, at("2026-11-20T11:10:00Z"));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ kind: "backup-slow", severity: "warning", asset: "d1/app-db" });
    // Median of 90,110,100,95,105,100,120,80,100,250 = 100.
    expect(alerts[0]!.error).toMatch(/took 6\.7 min, 4x the median 100 s of the last 10 logical backups \(alert above 3x\)/);
    // Off for this asset: nothing.
    expect(await healthAlerts(withHealth("d1/app-db", { slowdownFactor: false, shrinkPercent: 50 }), at("2026-11-20T11:10:00Z"))).toEqual([]);
  });

  it("an attacker who deletes the latest pointer and the watchdog's note cannot reset the baseline or silence the alert", async () => {
    await seedSessions(env.KV_SESSIONS, 100);
    const e = testEnv({ limits: { opsPerStep: 1000 } });
    await backupNow(e, "kv/sessions", { now: () => at("2026-11-20T08:00:00Z") });
    const { keys } = await env.KV_SESSIONS.list({ limit: 90 });
    for (const k of keys) await env.KV_SESSIONS.delete(k.name);
    // Emptying the source, then deleting the pointer so the next backup has "no previous".
    await env.BACKUP_R2.delete(latestPointerKey({ kind: "kv", name: "sessions" }));
    await backupNow(e, "kv/sessions", { now: () => at("2026-11-20T08:15:00Z") });
    const first = await healthAlerts(e, at("2026-11-20T08:20:00Z"));
    // Without the pointer the job took a full backup: keys and bytes both fell.
    expect(first.map((f) => f.error)).toEqual([expect.stringMatching(/holds 10 keys, down 90% from 100/), expect.stringMatching(/holds \d+ bytes, down [5-9]\d(\.\d)?% from \d+/)]);
    expect(await healthAlerts(e, at("2026-11-20T08:22:00Z"))).toEqual([]);
    // Deleting the note only repeats the alert.
    await env.BACKUP_R2.delete("_state/health/kv/sessions.json");
    expect(await healthAlerts(e, at("2026-11-20T08:25:00Z"))).toHaveLength(2);
  });

  it("through the Worker's cron handler: an alert whose delivery failed leaves no note, so the next run delivers it; once delivered it is not repeated", async () => {
    const receiver = inject("alertReceiver");
    const received = async () => ((await (await fetch(`${receiver}/received`)).json()) as Array<{ body: { kind: string; asset: string; error: string } }>).filter((a) => a.body.kind === "backup-shrank");
    await fetch(`${receiver}/received`, { method: "DELETE" });
    await seedSessions(env.KV_SESSIONS, 100);
    const e = testEnv({ limits: { opsPerStep: 1000 } });
    await backupNow(e, "kv/sessions", { now: () => at("2026-11-20T08:00:00Z") });
    const { keys } = await env.KV_SESSIONS.list({ limit: 70 });
    for (const k of keys) await env.KV_SESSIONS.delete(k.name);
    await backupNow(e, "kv/sessions", { now: () => at("2026-11-20T08:15:00Z") });
    // A cron that starts no backup: only the watchdog runs.
    const fire = (over: Record<string, unknown> = {}) => worker.scheduled(createScheduledController({ cron: "59 23 31 12 *", scheduledTime: Date.now() }), { ...env, ...over } as never);
    const note = () => env.BACKUP_R2.head("_state/health/kv/sessions.json");

    await expect(fire({ ALERT_WEBHOOK_URL: "http://127.0.0.1:9/refused" })).rejects.toThrow(/alert delivery failed/);
    expect(await note()).toBeNull();
    expect(await received()).toEqual([]);

    await fire();
    expect((await received()).map((a) => a.body.error)).toEqual([expect.stringMatching(/holds 30 keys, down 70% from 100/)]);
    expect(await note()).not.toBeNull();
    await fire();
    expect(await received()).toHaveLength(1);
    await fetch(`${receiver}/received`, { method: "DELETE" });
  });
});
