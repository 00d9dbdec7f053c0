/**
 * The Worker as Cloudflare runs it: the scheduled handler for a cron starts the backups due,
 * every step runs in its own invocation of the queue handler (the real queue, in Miniflare),
 * the backup lands in the tier prefix its date calls for on both R2 and S3, and the watchdog
 * alerts on assets that have no fresh backup.
 */
import { createScheduledController, env, reset } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { chooseTier, objectExists } from "../../lib/backup/catalog";
import { verifyManifest } from "../../lib/format/manifest";
import worker from "../../worker/index";
import { backupNow, latest, linesOf, manifestKeys, master, r2, s3, testEnv, until } from "./helpers";
import { seedSessions } from "./seeds";

async function received(): Promise<Array<{ path: string; body: any }>> {
  return (await fetch(`${inject("alertReceiver")}/received`)).json();
}

describe("scheduled backups", () => {
  beforeEach(async () => {
    await reset();
    await fetch(`${inject("alertReceiver")}/received`, { method: "DELETE" });
  });
  afterEach(async () => {
    await fetch(`${inject("alertReceiver")}/received`, { method: "DELETE" });
  });

  it("a cron run backs up a namespace bigger than one step through the queue, to R2 and S3, and alerts on stale assets", async () => {
    await seedSessions(env.KV_SESSIONS, 200); // 40 ops per step: pages of 30 keys, 7 tasks
    await worker.scheduled(createScheduledController({ cron: "*/15 * * * *", scheduledTime: Date.now() }), env as never);

    const committed = await until("the backup to commit", async () => {
      const keys = (await manifestKeys(r2())).filter((k) => k.includes("/kv/sessions/"));
      return keys.length ? keys : undefined;
    });
    expect(committed).toHaveLength(1);
    const { manifest, key } = await latest(testEnv(), "kv/sessions");
    await verifyManifest(await master(), manifest);
    expect(manifest.artifacts.filter((a) => a.role === "kv-entries")).toHaveLength(7);
    expect((await linesOf(r2(), manifest, "kv-entries")).length).toBe(200);
    // The copy on S3 commits the same way: artifacts, then the manifest.
    const onS3 = await until("the S3 copy", async () => ((await objectExists(s3(), key)) ? true : undefined));
    expect(onS3).toBe(true);
    expect((await linesOf(s3(), manifest, "kv-entries")).length).toBe(200);

    // The watchdog ran in the same invocation, when no asset had a committed backup yet (the
    // KV backup was still on the queue): each is reported, with no last good backup.
    const alerts = await received();
    const stale = alerts.filter((a) => a.body.kind === "backup-stale").map((a) => a.body.asset).sort();
    expect(stale).toEqual(["d1/app-db", "kv/sessions", "r2/user-uploads"]);
    expect(alerts[0]?.body).toMatchObject({ source: "drposture", stack: "test", severity: "critical", lastGoodBackup: null, error: "no committed backup exists" });
  });

  it("lands each backup in the tier its date calls for, on both destinations", async () => {
    await seedSessions(env.KV_SESSIONS, 5);
    const e = testEnv();
    const runs = ["2026-11-02T10:00:00Z", "2026-11-02T10:15:00Z", "2026-11-09T00:05:00Z", "2026-11-09T00:20:00Z", "2026-12-01T00:05:00Z"];
    for (const t of runs) await backupNow(e, "kv/sessions", { now: () => new Date(t) });
    const keys = (await manifestKeys(r2())).map((k) => `${k.split("/")[0]} ${k.split("/")[3]?.slice(0, 13)}`).sort((a, b) => (a.split(" ")[1]! < b.split(" ")[1]! ? -1 : 1));
    expect(keys).toEqual(["monthly 20261102T1000", "daily 20261102T1015", "weekly 20261109T0005", "daily 20261109T0020", "monthly 20261201T0005"]);
    for (const k of await manifestKeys(r2())) expect(await objectExists(s3(), k), k).not.toBeNull();
  });

  it("chooses tiers by what exists, so a missed first run is made up", () => {
    const at = (iso: string) => ({ createdAt: iso }) as never;
    expect(chooseTier(new Date("2026-11-05T00:00:00Z"), null)).toBe("monthly");
    expect(chooseTier(new Date("2026-11-05T00:00:00Z"), { byTier: { monthly: at("2026-11-01T00:00:00Z") } })).toBe("weekly");
    expect(chooseTier(new Date("2026-11-05T12:00:00Z"), { byTier: { monthly: at("2026-11-01T00:00:00Z"), weekly: at("2026-11-02T00:00:00Z") } })).toBe("daily");
    // November 1st was a Sunday: the monthly backup does not cover the week starting Monday the 2nd.
    expect(chooseTier(new Date("2026-11-02T00:00:00Z"), { byTier: { monthly: at("2026-11-01T00:00:00Z") } })).toBe("weekly");
  });
});
