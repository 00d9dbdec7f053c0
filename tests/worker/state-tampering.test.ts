/**
 * What a holder of the R2 writer token can do to the backup bucket, and why it cannot hide or
 * forge a backup. R2 has no put-only permission: "Object Read & Write" also deletes
 * (https://developers.cloudflare.com/r2/api/tokens/), and bucket locks protect only the tier
 * prefixes (https://developers.cloudflare.com/r2/buckets/bucket-locks/). So _state/ can be
 * rewritten and new keys can be added under the tiers. The Worker therefore seals its
 * bookkeeping, and trusts a manifest only where its signed content says it belongs.
 */
import { env, reset } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { latestPointerKey, readManifest } from "../../lib/backup/catalog";
import { manifestKey, STATE_PREFIX } from "../../lib/format/layout";
import { BackupRunner, findAsset, TamperedStateError } from "../../worker/engine/runner";
import { destinations } from "../../worker/engine/destinations";
import { runWatchdog } from "../../worker/watchdog";
import type { StepMessage } from "../../worker/env";
import { backupNow, latest, master, testEnv } from "./helpers";
import { seedSessions, seedUploads } from "./seeds";

const T1 = new Date("2026-11-03T10:00:00Z");
const T2 = new Date("2026-11-03T10:15:00Z");

async function findings(now: Date) {
  const e = testEnv();
  return (await runWatchdog(e.BACKUP_PLAN, destinations(e), await master(), { now })).filter((f) => f.asset === "kv/sessions");
}

describe("a tampered backup bucket", () => {
  beforeEach(async () => {
    await reset();
    await seedSessions(env.KV_SESSIONS, 10);
    await backupNow(testEnv(), "kv/sessions", { now: () => T1 });
    await env.KV_SESSIONS.put("session:00001", "newer");
    await backupNow(testEnv(), "kv/sessions", { now: () => T2 });
  });

  it("ignores a forged latest pointer: the watchdog reports it and still finds the newest backup", async () => {
    const newest = await latest(testEnv(), "kv/sessions");
    const first = (await env.BACKUP_R2.list({ prefix: "monthly/kv/sessions/" })).objects.find((o) => o.key.endsWith("manifest.json"))!.key;
    // Plain JSON, as anyone with the token could write: "latest is the first backup".
    const forged = { asset: "kv/sessions", latest: { key: first, backupId: "x", tier: "monthly", createdAt: T1.toISOString(), sourcePointInTime: T1.toISOString() }, byTier: {} };
    await env.BACKUP_R2.put(latestPointerKey({ kind: "kv", name: "sessions" }), JSON.stringify(forged));
    const f = await findings(new Date(T2.getTime() + 60_000));
    expect(f.map((x) => x.kind)).toEqual(["verification-failed"]);
    expect(f[0]?.error).toMatch(/not sealed state/);
    expect((await latest(testEnv(), "kv/sessions")).key).toBe(newest.key);
  });

  it("refuses a valid manifest copied under a newer backup id (a rollback attempt)", async () => {
    const first = (await env.BACKUP_R2.list({ prefix: "monthly/kv/sessions/" })).objects.find((o) => o.key.endsWith("manifest.json"))!.key;
    const old = await readManifest(destinations(testEnv()).r2, first);
    const fakeKey = manifestKey("daily", { kind: "kv", name: "sessions" }, "20261103T235959000Z-ffffffff");
    await env.BACKUP_R2.put(fakeKey, JSON.stringify(old));
    await env.BACKUP_R2.delete(latestPointerKey({ kind: "kv", name: "sessions" })); // force the listing
    const f = await findings(new Date(T2.getTime() + 60_000));
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ kind: "verification-failed" });
    expect(f[0]?.error).toContain(`belongs at ${first}, not ${fakeKey}`);
    const newest = await latest(testEnv(), "kv/sessions");
    expect(newest.key).not.toBe(fakeKey);
    expect(newest.manifest.createdAt).toBe(T2.toISOString());
  });

  it("refuses a forged or swapped job cursor instead of following it into a manifest", async () => {
    const e = testEnv();
    const asset = findAsset(e.BACKUP_PLAN, "kv/sessions");
    const stateKey = `${STATE_PREFIX}jobs/kv/sessions.json`;
    // A cursor naming an old artifact: followed, it would be signed into the next manifest.
    const { manifest } = await latest(e, "kv/sessions");
    await env.BACKUP_R2.put(stateKey, JSON.stringify({ version: 1, phase: "backup", asset: "kv/sessions", backupId: "20261103T110000000Z-00000000", step: 2, artifacts: manifest.artifacts, updatedAt: new Date().toISOString() }));
    await expect(new BackupRunner(e).start(asset)).rejects.toThrow(TamperedStateError);
    expect(await env.BACKUP_R2.head(stateKey)).toBeNull(); // dropped, so the next run starts clean
    // A genuine sealed cursor of another asset, moved under this one, is refused too.
    await env.D1_APP_DB.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
    const queue: unknown[] = [];
    await new BackupRunner(e, { enqueue: async (m) => void queue.push(m) }).start(findAsset(e.BACKUP_PLAN, "d1/app-db"));
    const d1State = await env.BACKUP_R2.get(`${STATE_PREFIX}jobs/d1/app-db.json`);
    await env.BACKUP_R2.put(stateKey, await d1State!.text());
    await expect(new BackupRunner(e).start(asset)).rejects.toThrow(/sealed for "job:d1\/app-db"/);
    expect((await backupNow(e, "kv/sessions")).outcomes.at(-1)).toBe("replicated");
  });
  it("a manifest planted at an in-progress backup's key is not adopted as its commit: the job is abandoned", async () => {
    const e = testEnv({ limits: { opsPerStep: 4 } }); // 10 keys: several steps
    const asset = findAsset(e.BACKUP_PLAN, "kv/sessions");
    const queue: StepMessage[] = [];
    const runner = new BackupRunner(e, { now: () => new Date(T2.getTime() + 3600_000), enqueue: async (m) => void queue.push(m) });
    await runner.start(asset);
    await runner.continue(queue.shift() as StepMessage);
    // The writer token lists the new backup's prefix and plants an old genuine manifest there.
    const pending = queue.find((m) => !m.task) as StepMessage;
    const prefix = `daily/kv/sessions/${pending.backupId}/`;
    const { manifest: old } = await latest(e, "kv/sessions");
    await env.BACKUP_R2.put(`${prefix}manifest.json`, JSON.stringify(old));
    await expect(runner.continue(pending)).rejects.toThrow(/abandoned: the object at its manifest key is not its manifest .*belongs at/);
    expect(await env.BACKUP_R2.head(`${STATE_PREFIX}jobs/kv/sessions.json`)).toBeNull();
    // The pointer still names the genuine newest backup, not the planted one.
    expect((await latest(e, "kv/sessions")).manifest.backupId).toBe(old.backupId);
  });

  it("an edited previous R2 manifest is not trusted for reuse: the next backup copies everything", async () => {
    await seedUploads(env.R2_USER_UPLOADS);
    const e = testEnv();
    await backupNow(e, "r2/user-uploads", { now: () => new Date("2026-11-20T10:00:00Z") });
    const first = await latest(e, "r2/user-uploads");
    // Any edit breaks the MAC; this one keeps the inventory, so only verification tells it apart.
    await env.BACKUP_R2.put(first.key, JSON.stringify({ ...first.manifest, details: { ...first.manifest.details, edited: true } }));
    await backupNow(e, "r2/user-uploads", { now: () => new Date("2026-11-20T11:00:00Z") });
    const second = await latest(e, "r2/user-uploads");
    expect(second.manifest.counts).toMatchObject({ objects: 5, copied: 5, reused: 0 });
    expect(second.manifest.dependsOn).toEqual([]);
  });
});
