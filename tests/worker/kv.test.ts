/**
 * KV backup in workerd: binary-safe values, metadata and expiration; full then differential
 * backups chained to the day's full; large namespaces across steps within the op budget.
 */
import { env, reset } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { KvEntryRecord, KvIndexLine } from "../../lib/backup/kvRecords";
import { fromBase64 } from "../../lib/format/bytes";
import { backupNow, latest, linesOf, r2, testEnv } from "./helpers";
import { seedSessions } from "./seeds";

describe("KV backup", () => {
  beforeEach(async () => {
    await reset();
  });

  it("backs up every key with its binary value, metadata and expiration", async () => {
    const source = await seedSessions(env.KV_SESSIONS, 60);
    const e = testEnv({ limits: { opsPerStep: 1000 } });
    await backupNow(e, "kv/sessions");
    const { manifest } = await latest(e, "kv/sessions");
    expect(manifest.mode).toBe("full");
    expect(manifest.counts.keys).toBe(60);
    const entries = (await linesOf(r2(e), manifest, "kv-entries")) as KvEntryRecord[];
    expect(entries).toHaveLength(60);
    for (const rec of entries) {
      const src = source.get(rec.k);
      expect(src, rec.k).toBeDefined();
      expect(fromBase64(rec.v as string)).toEqual(src?.value);
      expect(rec.m).toEqual(src?.metadata);
      expect(rec.e).toEqual(src?.expiration);
    }
  });

  it("fans a namespace out into one task per list page, each within the budget of reads", async () => {
    await seedSessions(env.KV_SESSIONS, 95);
    const e = testEnv({ limits: { opsPerStep: 21 } }); // pages of 21 - 10 = 11 keys
    const run = await backupNow(e, "kv/sessions");
    expect(run.outcomes.filter((o) => o === "task")).toHaveLength(9); // ceil(95 / 11) pages
    for (const i of run.invocations) expect(i.counts.kvOperations, JSON.stringify(i)).toBeLessThanOrEqual(21);
    expect(run.invocations.map((i) => i.violation).filter(Boolean)).toEqual([]);
    const { manifest } = await latest(e, "kv/sessions");
    expect(manifest.artifacts.filter((a) => a.role === "kv-index")).toHaveLength(9);
    expect(manifest.artifacts.some((a) => a.key.startsWith("_state/"))).toBe(false);
    const left: string[] = [];
    for await (const o of r2(e).list("_state/tasks/")) left.push(o.key);
    expect(left).toEqual([]);
    expect(manifest.counts.keys).toBe(95);
    const index = (await linesOf(r2(e), manifest, "kv-index")) as KvIndexLine[];
    expect(index.map((l) => l[0])).toEqual([...index.map((l) => l[0])].sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : 1)));
    expect(new Set(index.map((l) => l[0])).size).toBe(95);
  });

  it("takes a differential backup chained to the day's full: changes, additions and deletions only", async () => {
    await seedSessions(env.KV_SESSIONS, 40);
    const e = testEnv({ limits: { opsPerStep: 11 } });
    const t0 = new Date("2026-11-20T08:00:00Z");
    await backupNow(e, "kv/sessions", { now: () => t0 });
    const full = await latest(e, "kv/sessions");

    await env.KV_SESSIONS.put("session:00001", "changed value");
    await env.KV_SESSIONS.put("session:00002", new Uint8Array([1, 2, 3]), { metadata: { changed: true } });
    await env.KV_SESSIONS.delete("session:00003");
    await env.KV_SESSIONS.delete("user:30:ключ:🔑");
    await env.KV_SESSIONS.put("zz-new", "hello");
    await backupNow(e, "kv/sessions", { now: () => new Date("2026-11-20T08:15:00Z") });
    const diff = await latest(e, "kv/sessions");

    expect(diff.manifest).toMatchObject({ mode: "incremental", tier: "daily" });
    expect(diff.manifest.dependsOn).toEqual([{ backupId: full.manifest.backupId, tier: full.manifest.tier, key: full.key }]);
    const entries = (await linesOf(r2(e), diff.manifest, "kv-entries")) as KvEntryRecord[];
    expect(entries.map((x) => [x.k, x.deleted ? "deleted" : "put"]).sort()).toEqual(
      [
        ["session:00001", "put"],
        ["session:00002", "put"],
        ["session:00003", "deleted"],
        ["user:30:ключ:🔑", "deleted"],
        ["zz-new", "put"],
      ].sort(),
    );
    expect(diff.manifest.counts).toMatchObject({ keys: 39, written: 3, deleted: 2 });
  });

  it("takes a full backup again on a new day", async () => {
    await seedSessions(env.KV_SESSIONS, 10);
    const e = testEnv();
    await backupNow(e, "kv/sessions", { now: () => new Date("2026-11-20T23:50:00Z") });
    await backupNow(e, "kv/sessions", { now: () => new Date("2026-11-21T00:05:00Z") });
    const { manifest } = await latest(e, "kv/sessions");
    expect(manifest.mode).toBe("full");
    expect(manifest.dependsOn).toEqual([]);
  });
});

describe("KV backup of large values", () => {
  beforeEach(async () => {
    await reset();
  });

  /** Index of the first differing byte, or -1 (vitest's deep equality is too slow for MiBs). */
  const firstDifference = (a: Uint8Array, b: Uint8Array | undefined) => {
    if (!b || a.length !== b.length) return 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
    return -1;
  };

  /** A value of `mib` MiB whose bytes depend on `seed` (so a change is a real change). */
  const big = (mib: number, seed: number) => {
    const v = new Uint8Array(mib * 1024 * 1024);
    for (let i = 0; i < v.length; i += 4096) v[i] = (i / 4096 + seed) & 255;
    return v;
  };

  it("streams values of several MiB, a step stopping at its byte budget inside a list page", async () => {
    const values = new Map<string, Uint8Array>();
    for (let i = 0; i < 4; i++) values.set(`blob:${i}`, big(3, i)); // 3 MiB each
    for (let i = 0; i < 30; i++) values.set(`small:${String(i).padStart(2, "0")}`, new TextEncoder().encode(`v${i}`));
    for (const [k, v] of values) await env.KV_SESSIONS.put(k, v, { metadata: { k } });
    const e = testEnv({ limits: { opsPerStep: 1000, bytesPerStep: 4 * 1024 * 1024 } });
    const run = await backupNow(e, "kv/sessions");
    // One list page of 34 keys; the byte budget ends a step after each pair of 3 MiB values.
    expect(run.steps).toBeGreaterThanOrEqual(2);
    expect(run.invocations.map((i) => i.violation).filter(Boolean)).toEqual([]);
    // Each backup step (invocations after the scheduled start, up to the commit) reads at most
    // its budget plus the one value that crossed it.
    const budget = e.BACKUP_PLAN.limits.bytesPerStep + 3 * 1024 * 1024;
    const backupSteps = run.invocations.slice(1, run.steps + 1);
    expect(Math.max(...backupSteps.map((i) => i.counts.sourceBytes))).toBeLessThanOrEqual(budget);
    const { manifest } = await latest(e, "kv/sessions");
    const entries = (await linesOf(r2(e), manifest, "kv-entries")) as KvEntryRecord[];
    expect(entries.map((x) => x.k).sort()).toEqual([...values.keys()].sort());
    for (const rec of entries) {
      expect(firstDifference(fromBase64(rec.v as string), values.get(rec.k)), rec.k).toBe(-1);
      expect(rec.m).toEqual({ k: rec.k });
    }
  });

  it("a differential backup writes a changed large value once and skips an unchanged one", async () => {
    await env.KV_SESSIONS.put("blob:a", big(2, 1));
    await env.KV_SESSIONS.put("blob:b", big(2, 2));
    const e = testEnv({ limits: { opsPerStep: 1000, bytesPerStep: 64 * 1024 * 1024 } });
    await backupNow(e, "kv/sessions", { now: () => new Date("2026-11-20T08:00:00Z") });
    const changed = big(2, 9);
    await env.KV_SESSIONS.put("blob:b", changed);
    await backupNow(e, "kv/sessions", { now: () => new Date("2026-11-20T08:15:00Z") });
    const { manifest } = await latest(e, "kv/sessions");
    expect(manifest.mode).toBe("incremental");
    const entries = (await linesOf(r2(e), manifest, "kv-entries")) as KvEntryRecord[];
    expect(entries.map((x) => x.k)).toEqual(["blob:b"]);
    expect(firstDifference(fromBase64(entries[0]?.v as string), changed)).toBe(-1);
  });
});
