/**
 * R2 mirror in workerd: objects with HTTP and custom metadata, an object larger than a step's
 * byte budget copied in ranges, unchanged objects reused from an earlier backup only when that
 * copy lives as long as the new backup.
 */
import { env, reset } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { openArtifact } from "../../lib/backup/artifacts";
import type { InventoryLine } from "../../lib/backup/r2Records";
import type { Manifest } from "../../lib/format/manifest";
import { readAll, type BackupStorage } from "../../lib/storage/types";
import { backupNow, latest, linesOf, master, r2, testEnv } from "./helpers";

const BIG = 600 * 1024;

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + seed) & 0xff;
  return out;
}

export async function seedUploads(bucket: R2Bucket): Promise<Map<string, Uint8Array>> {
  const objects = new Map<string, Uint8Array>([
    ["avatars/1.png", bytes(3000, 1)],
    ["avatars/2.png", bytes(5000, 2)],
    ["docs/contract.pdf", bytes(BIG, 3)],
    ["docs/empty.txt", new Uint8Array(0)],
    ["ünïcode/名前.txt", new TextEncoder().encode("hello 🌍")],
  ]);
  for (const [key, body] of objects) {
    await bucket.put(key, body, {
      httpMetadata: { contentType: key.endsWith(".png") ? "image/png" : "application/octet-stream", cacheControl: "max-age=60" },
      customMetadata: { owner: "user-1", path: key },
    });
  }
  return objects;
}

/** Rebuilds every object of a backup from its inventory and packs. */
export async function materialize(storage: BackupStorage, m: Manifest): Promise<Map<string, { line: InventoryLine; body: Uint8Array }>> {
  const key = await master();
  const inventory = (await linesOf(storage, m, "r2-inventory")) as InventoryLine[];
  const packs = new Map<string, Uint8Array>();
  const out = new Map<string, { line: InventoryLine; body: Uint8Array }>();
  for (const line of inventory) {
    const parts: Uint8Array[] = [];
    for (const s of line.segs) {
      if (!packs.has(s.a)) {
        const holder = JSON.parse(new TextDecoder().decode(await readAll((await storage.get(s.m)) as ReadableStream<Uint8Array>))) as Manifest;
        const entry = holder.artifacts.find((a) => a.key === s.a);
        if (!entry) throw new Error(`pack ${s.a} not in ${s.m}`);
        packs.set(s.a, await readAll(await openArtifact(storage, key, entry)));
      }
      parts.push((packs.get(s.a) as Uint8Array).subarray(s.o, s.o + s.n));
    }
    const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      body.set(p, at);
      at += p.length;
    }
    out.set(line.k, { line, body });
  }
  return out;
}

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
