/**
 * R2 mirror in workerd: objects with HTTP and custom metadata, an object larger than a step's
 * byte budget copied in ranges, unchanged objects reused from an earlier backup only when that
 * copy lives as long as the new backup.
 */
import { env, reset } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { backupNow, latest, r2, testEnv } from "./helpers";
import { BIG, bytes, materialize, seedUploads } from "./seeds";

describe("R2 backup", () => {
  beforeEach(async () => {
    await reset();
  });

  it("mirrors objects with their metadata; a big object is copied in ranges across steps", async () => {
    const source = await seedUploads(env.R2_USER_UPLOADS);
    const e = testEnv({ limits: { bytesPerStep: 256 * 1024 } });
    const run = await backupNow(e, "r2/user-uploads");
    expect(run.steps).toBeGreaterThanOrEqual(3);
    const { manifest } = await latest(e, "r2/user-uploads");
    expect(manifest.mode).toBe("mirror");
    const restored = await materialize(r2(e), manifest);
    expect([...restored.keys()].sort()).toEqual([...source.keys()].sort());
    for (const [key, body] of source) {
      expect(restored.get(key)?.body, key).toEqual(body);
      expect(restored.get(key)?.line.custom).toEqual({ owner: "user-1", path: key });
      expect(restored.get(key)?.line.http).toMatchObject({ cacheControl: "max-age=60" });
    }
    expect((restored.get("docs/contract.pdf")?.line.segs ?? []).length).toBeGreaterThanOrEqual(3);
  });

  it("reads small objects ahead without passing a step's operation or byte budget", async () => {
    const source = new Map<string, Uint8Array>();
    for (let i = 0; i < 60; i++) source.set(`u/${String(i).padStart(3, "0")}`, bytes(3000 + i * 97, i));
    for (const [k, v] of source) await env.R2_USER_UPLOADS.put(k, v);
    // 12 operations and 40 KB a step: the reads ahead must stop at both.
    const e = testEnv({ limits: { opsPerStep: 12, bytesPerStep: 40_000 } });
    const run = await backupNow(e, "r2/user-uploads");
    expect(run.invocations.map((i) => i.violation).filter(Boolean)).toEqual([]);
    const steps = run.invocations.slice(1, run.steps + 1);
    // A step's R2 operations: its source lists and reads (at most the budget) plus its own
    // bookkeeping (job state, manifest check, pack, inventory, commit).
    for (const st of steps) expect(st.counts.r2Operations, JSON.stringify(st.counts)).toBeLessThanOrEqual(12 + 12);
    expect(run.steps).toBeGreaterThanOrEqual(5);
    const { manifest } = await latest(e, "r2/user-uploads");
    for (const pack of manifest.artifacts.filter((a) => a.role === "r2-pack")) expect(pack.plaintextBytes).toBeLessThanOrEqual(40_000);
    const restored = await materialize(r2(e), manifest);
    expect([...restored.keys()]).toEqual([...source.keys()]);
    for (const [k, v] of source) expect(restored.get(k)?.body, k).toEqual(v);
  });

  it("reuses unchanged objects from the previous backup and copies changed ones", async () => {
    await seedUploads(env.R2_USER_UPLOADS);
    const e = testEnv();
    await backupNow(e, "r2/user-uploads", { now: () => new Date("2026-11-20T10:00:00Z") });
    const first = await latest(e, "r2/user-uploads");
    await env.R2_USER_UPLOADS.put("avatars/1.png", bytes(100, 9));
    await env.R2_USER_UPLOADS.delete("avatars/2.png");
    await backupNow(e, "r2/user-uploads", { now: () => new Date("2026-11-20T11:00:00Z") });
    const second = await latest(e, "r2/user-uploads");
    expect(second.manifest.tier).toBe("daily");
    expect(second.manifest.counts).toMatchObject({ objects: 4, copied: 1, reused: 3 });
    expect(second.manifest.dependsOn.map((r) => r.backupId)).toEqual([first.manifest.backupId]);
    const restored = await materialize(r2(e), second.manifest);
    expect(restored.get("avatars/1.png")?.body).toEqual(bytes(100, 9));
    expect(restored.has("avatars/2.png")).toBe(false);
    expect(restored.get("docs/contract.pdf")?.body).toEqual(bytes(BIG, 3));
  });

  it("copies everything again when the earlier copy would expire before the new backup", async () => {
    await seedUploads(env.R2_USER_UPLOADS);
    const e = testEnv();
    // A daily backup (kept 7 days), then the first backup of a new month (kept 93 days).
    await backupNow(e, "r2/user-uploads", { now: () => new Date("2026-11-20T10:00:00Z") });
    await backupNow(e, "r2/user-uploads", { now: () => new Date("2026-11-20T11:00:00Z") });
    await backupNow(e, "r2/user-uploads", { now: () => new Date("2026-12-01T00:30:00Z") });
    const monthly = await latest(e, "r2/user-uploads");
    expect(monthly.manifest.tier).toBe("monthly");
    // Only the empty object (no bytes, nothing that can expire) is carried over.
    expect(monthly.manifest.counts).toMatchObject({ copied: 4, reused: 1 });
    expect(monthly.manifest.dependsOn).toEqual([]);
  });
});
