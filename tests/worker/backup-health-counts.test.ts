/**
 * The health figures of backups that span many steps: every item and byte of the source is
 * counted once, however the job was cut. A KV step that stops inside a list page and resumes,
 * a differential over an unchanged namespace, an R2 object copied in ranges over several steps,
 * a D1 database dumped page by page: each must report what a one-step backup of the same
 * source reports, or the next backup's shrink check compares against a wrong number.
 */
import { env, reset } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { backupNow, latest, testEnv } from "./helpers";
import { BIG, seedAppDb, seedSessions, seedUploads } from "./seeds";

const at = (iso: string) => () => new Date(iso);

describe("health figures of multi-step backups", () => {
  beforeEach(async () => {
    await reset();
  });

  it("KV: steps that stop inside a list page count every key once, in the full and in a differential", async () => {
    await seedSessions(env.KV_SESSIONS, 80);
    // A byte budget of a few values: each step stops inside the page and resumes after its last key.
    const e = testEnv({ limits: { opsPerStep: 1000, bytesPerStep: 40 } });
    const full = await backupNow(e, "kv/sessions", { now: at("2026-11-20T08:00:00Z") });
    expect(full.steps).toBeGreaterThan(10);
    const f = (await latest(e, "kv/sessions")).manifest;
    expect(f.mode).toBe("full");
    expect(f.health).toMatchObject({ items: 80, itemsLabel: "keys" });

    const one = testEnv({ limits: { opsPerStep: 1000 } });
    await backupNow(one, "kv/sessions", { now: at("2026-11-20T09:00:00Z") });
    await backupNow(e, "kv/sessions", { now: at("2026-11-20T09:30:00Z") });
    const d = (await latest(e, "kv/sessions")).manifest;
    expect(d.mode).toBe("incremental");
    expect(d.health).toMatchObject({ items: 80, bytes: null });
    expect(d.health?.history.map((s) => s.items)).toEqual([80, 80]);
  });

  it("R2: an object copied in ranges over several steps counts once, its size once", async () => {
    const objects = await seedUploads(env.R2_USER_UPLOADS);
    const total = [...objects.values()].reduce((n, b) => n + b.byteLength, 0);
    const e = testEnv({ limits: { bytesPerStep: 128 * 1024 } });
    const r = await backupNow(e, "r2/user-uploads", { now: at("2026-11-20T08:00:00Z") });
    expect(r.steps).toBeGreaterThanOrEqual(Math.ceil(BIG / (128 * 1024)));
    const m = (await latest(e, "r2/user-uploads")).manifest;
    expect(m.health).toMatchObject({ items: objects.size, itemsLabel: "objects", bytes: total });
    // The next backup reuses every object: same figures.
    await backupNow(e, "r2/user-uploads", { now: at("2026-11-20T09:00:00Z") });
    expect((await latest(e, "r2/user-uploads")).manifest.health).toMatchObject({ items: objects.size, bytes: total });
  });

  it("D1: a paged dump over many steps counts the rows a one-batch snapshot counts", async () => {
    await seedAppDb(env.D1_APP_DB, 60);
    await backupNow(testEnv(), "d1/app-db", { now: at("2026-11-20T08:00:00Z") });
    const snap = (await latest(testEnv(), "d1/app-db")).manifest;
    expect(snap.details).toMatchObject({ consistency: "snapshot" });
    const e = testEnv({ limits: { d1SnapshotBytes: 0, d1PageRows: 7, opsPerStep: 3 } });
    const r = await backupNow(e, "d1/app-db", { now: at("2026-11-20T09:00:00Z") });
    expect(r.steps).toBeGreaterThan(5);
    const paged = (await latest(e, "d1/app-db")).manifest;
    expect(paged.details).toMatchObject({ consistency: "paged" });
    expect(paged.health?.items).toBe(snap.health?.items);
    expect(paged.health?.items).toBeGreaterThanOrEqual(60 * 2);
  });
});
