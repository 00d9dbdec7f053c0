/**
 * D1, KV and R2 restores of backups taken by the real Worker bundle (workerd via Miniflare),
 * into real empty bindings: equal digests, and the restore modes: refuse by default, skip,
 * overwrite, clear, --validate-only writes nothing, --only restores one table or prefix.
 * Also the file targets for remote restores (SQL for wrangler d1 execute, JSON for wrangler kv
 * bulk put) and a differential KV backup.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openArtifact, readLines } from "../../lib/backup/artifacts";
import { DEFAULT_LIMITS, type BackupPlan } from "../../lib/backup/plan";
import { localPlan } from "../../lib/local/localPlan";
import { digestD1, digestKv, digestR2 } from "../../lib/drill/digests";
import { sampleFixture } from "../../lib/drill/fixture";
import { fromBase64 } from "../../lib/format/bytes";
import { importMasterKey, type MasterKey } from "../../lib/format/keys";
import { LocalWorker } from "../../lib/local/localWorker";
import { bindingSink, restoreD1, type D1Like } from "../../lib/restore/d1Restore";
import { sqlFileSink } from "../../lib/restore/d1ScriptSink";
import { bindingKvSink, restoreKv } from "../../lib/restore/kvRestore";
import { wranglerBulkFileSink } from "../../lib/restore/kvFileSink";
import { RestoreRefusedError, type RestoreMode } from "../../lib/restore/modes";
import { bindingR2Sink, restoreR2, storageR2Sink } from "../../lib/restore/r2Restore";
import { resolveBackup } from "../../lib/restore/resolve";
import { DirStorage } from "../../lib/storage/dirStorage";
import type { BackupStorage } from "../../lib/storage/types";

const KEY = "5a".repeat(32);
const fixture = sampleFixture();
let w: LocalWorker;
let master: MasterKey;
let store: BackupStorage;

const plan: BackupPlan = localPlan({
  stack: "restore-test",
  assets: [
    { kind: "d1", name: "app-db", sourceId: "00000000-0000-4000-8000-0000000000d1", binding: "D1_SRC", rpoMinutes: 60, cron: "0 * * * *", priority: 1 },
    { kind: "kv", name: "sessions", sourceId: "000000000000000000000000000000b1", binding: "KV_SRC", rpoMinutes: 15, cron: "*/15 * * * *", priority: 2 },
    { kind: "r2", name: "user-uploads", sourceId: "uploads-src", binding: "R2_SRC", rpoMinutes: 60, cron: "0 * * * *", priority: 3 },
  ],
  destinations: { r2: { bucketName: "restore-test-backups" } },
  limits: { ...DEFAULT_LIMITS, opsPerStep: 60, bytesPerStep: 512 * 1024 },
});

const opts = (mode: RestoreMode = "fail", extra: { validateOnly?: boolean; only?: string } = {}) => ({ mode, validateOnly: false, ...extra });
const d1 = async (b: string) => (await w.mf.getD1Database(b)) as unknown as D1Like & { exec(sql: string): Promise<unknown> };
const kv = (b: string) => w.mf.getKVNamespace(b);
const r2 = (b: string) => w.mf.getR2Bucket(b);

async function* d1Lines(asset = "app-db") {
  const r = await resolveBackup(store, master, { kind: "d1", name: asset }, "latest");
  for (const a of r.manifest.artifacts) yield* readLines(await openArtifact(store, master, a));
}

async function backupAll(previous: Record<string, string | null> = {}): Promise<void> {
  await w.runCron("0 * * * *");
  await w.runCron("*/15 * * * *");
  for (const a of plan.assets) await w.waitForBackup(a, previous[`${a.kind}/${a.name}`] ?? null);
}

beforeAll(async () => {
  w = await LocalWorker.start({
    plan,
    keyHex: KEY,
    alertWebhookUrl: "http://127.0.0.1:9/nowhere",
    extra: { d1: ["D1_A", "D1_B", "D1_C", "D1_SQL"], kv: ["KV_A", "KV_B", "KV_C"], r2: ["R2_A", "R2_B"] },
  });
  master = await importMasterKey(KEY);
  store = await w.backupStorage();
  const db = await d1("D1_SRC");
  const stmts = fixture.d1?.["app-db"] ?? [];
  for (let i = 0; i < stmts.length; i += 100) await db.batch(stmts.slice(i, i + 100).map((s) => db.prepare(s)));
  const k = await kv("KV_SRC");
  for (const e of (fixture.kv?.sessions ?? []).slice(0, 120)) await k.put(e.key, e.base64 !== undefined ? fromBase64(e.base64) : (e.value as string), { ...(e.metadata !== undefined ? { metadata: e.metadata } : {}), ...(e.expiration ? { expiration: e.expiration } : {}) });
  const b = await r2("R2_SRC");
  for (const o of fixture.r2?.["user-uploads"] ?? []) await b.put(o.key, o.base64 !== undefined ? fromBase64(o.base64) : new TextEncoder().encode(o.text ?? ""), { ...(o.httpMetadata ? { httpMetadata: o.httpMetadata } : {}), ...(o.customMetadata ? { customMetadata: o.customMetadata } : {}) });
  await backupAll();
}, 180_000);

afterAll(async () => {
  await w?.dispose();
});

describe("D1 restore", () => {
  it("rebuilds an identical database (schema, rows, counters, FTS) in an empty target", async () => {
    const report = await restoreD1(d1Lines(), bindingSink(await d1("D1_A"), "D1_A"), opts());
    expect(report.restored).toBe(2863);
    expect(await digestD1(await d1("D1_A"))).toEqual(await digestD1(await d1("D1_SRC")));
    const hits = (await (await d1("D1_A")).prepare("SELECT title FROM product_search WHERE product_search MATCH 'green' ORDER BY rowid").bind().all()).results;
    expect(hits.length).toBe(20);
  });

  it("refuses a non-empty target by default and writes nothing", async () => {
    const before = await digestD1(await d1("D1_A"));
    await expect(restoreD1(d1Lines(), bindingSink(await d1("D1_A"), "D1_A"), opts())).rejects.toBeInstanceOf(RestoreRefusedError);
    expect(await digestD1(await d1("D1_A"))).toEqual(before);
  });

  it("--validate-only reads everything and writes nothing", async () => {
    const report = await restoreD1(d1Lines(), bindingSink(await d1("D1_B"), "D1_B"), opts("fail", { validateOnly: true }));
    expect(report.restored).toBe(2863);
    expect((await digestD1(await d1("D1_B"))).count).toBe(0);
  });

  it("--only restores one table; --mode skip adds back deleted rows; --mode clear replaces everything", async () => {
    await restoreD1(d1Lines(), bindingSink(await d1("D1_B"), "D1_B"), opts("fail", { only: "users" }));
    const b = await digestD1(await d1("D1_B"));
    expect(b.details).toEqual({ users: 400 });
    const a = await d1("D1_A");
    // (A table without triggers: rows inserted by a skip restore fire the target's triggers.)
    await a.prepare("DELETE FROM audit_log WHERE id > 1000").bind().all();
    await restoreD1(d1Lines(), bindingSink(a, "D1_A"), opts("skip"));
    expect(await digestD1(a)).toEqual(await digestD1(await d1("D1_SRC")));
    await a.prepare("UPDATE users SET name = 'changed'").bind().all();
    await restoreD1(d1Lines(), bindingSink(a, "D1_A"), opts("clear"));
    expect(await digestD1(a)).toEqual(await digestD1(await d1("D1_SRC")));
  });

  it("writes a SQL script that rebuilds the same database", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "drposture-sql-")), "app-db.sql");
    const sink = sqlFileSink(file, "fail");
    await restoreD1(d1Lines(), sink, opts());
    await sink.close?.();
    const script = readFileSync(file, "utf8");
    expect(script).toMatch(/^PRAGMA defer_foreign_keys = ON;/);
    expect(script).toContain("CREATE VIRTUAL TABLE product_search USING fts5(title, description);");
    const target = await d1("D1_SQL");
    await target.exec(script.split("\n").filter((l) => l.trim()).join("\n"));
    expect(await digestD1(target)).toEqual(await digestD1(await d1("D1_SRC")));
    expect(() => sqlFileSink(file, "fail")).toThrow(RestoreRefusedError);
  });
});

describe("KV restore", () => {
  it("restores keys with binary values, metadata and expiration; refuses a non-empty target", async () => {
    const r = await resolveBackup(store, master, { kind: "kv", name: "sessions" }, "latest");
    await restoreKv(store, master, r, bindingKvSink(await kv("KV_A"), "KV_A"), opts());
    expect(await digestKv((await kv("KV_A")) as never)).toEqual(await digestKv((await kv("KV_SRC")) as never));
    await expect(restoreKv(store, master, r, bindingKvSink(await kv("KV_A"), "KV_A"), opts())).rejects.toBeInstanceOf(RestoreRefusedError);
    const v = await restoreKv(store, master, r, bindingKvSink(await kv("KV_B"), "KV_B"), opts("fail", { validateOnly: true }));
    expect(v.restored).toBe(120);
    expect((await (await kv("KV_B")).list()).keys).toEqual([]);
  });

  it("applies a differential backup over its full backup", async () => {
    const src = await kv("KV_SRC");
    const keys = (await src.list()).keys.map((k) => k.name);
    await src.delete(keys[0] as string);
    await src.put(keys[1] as string, new Uint8Array([9, 9, 9]), { metadata: { changed: true } });
    await src.put("zz:new", "hello");
    const before = (await resolveBackup(store, master, { kind: "kv", name: "sessions" }, "latest")).manifest.backupId;
    await w.runCron("*/15 * * * *");
    await w.waitForBackup({ kind: "kv", name: "sessions" }, before);
    const r = await resolveBackup(store, master, { kind: "kv", name: "sessions" }, "latest");
    expect(r.manifest.mode).toBe("incremental");
    expect(r.dependencies.size).toBe(1);
    await restoreKv(store, master, r, bindingKvSink(await kv("KV_C"), "KV_C"), opts());
    expect(await digestKv((await kv("KV_C")) as never)).toEqual(await digestKv(src as never));
  });

  it("--only restores a key prefix, and writes `wrangler kv bulk put` JSON", async () => {
    const r = await resolveBackup(store, master, { kind: "kv", name: "sessions" }, "latest");
    const file = path.join(mkdtempSync(path.join(tmpdir(), "drposture-kv-")), "sessions.json");
    const report = await restoreKv(store, master, r, wranglerBulkFileSink(file, "fail"), opts("fail", { only: "user:" }));
    const items = JSON.parse(readFileSync(file, "utf8")) as Array<{ key: string; value: string; base64: boolean; metadata?: unknown }>;
    expect(items.length).toBe(report.restored);
    expect(items.length).toBe(12);
    expect(items.every((i) => i.key.startsWith("user:") && i.base64 === true)).toBe(true);
    expect(items[0]?.metadata).toEqual({ contentType: "image/webp" });
  });

  it("into a bulk-put file, skip leaves out the keys `wrangler kv key list` says exist, and refuses without them", async () => {
    const r = await resolveBackup(store, master, { kind: "kv", name: "sessions" }, "latest");
    const dir = mkdtempSync(path.join(tmpdir(), "drposture-kv-"));
    const all = path.join(dir, "all.json");
    await restoreKv(store, master, r, wranglerBulkFileSink(all, "fail"), opts("fail", { only: "user:" }));
    const keys = (JSON.parse(readFileSync(all, "utf8")) as Array<{ key: string }>).map((i) => i.key);
    const present = keys.slice(0, 5);
    const file = path.join(dir, "gaps.json");
    const report = await restoreKv(store, master, r, wranglerBulkFileSink(file, "skip", present), opts("skip", { only: "user:" }));
    expect(report).toMatchObject({ restored: keys.length - 5, skipped: 5 });
    expect((JSON.parse(readFileSync(file, "utf8")) as Array<{ key: string }>).map((i) => i.key)).toEqual(keys.slice(5));
    // Without the namespace's keys, skip would overwrite live keys: refused, no file written.
    const refused = path.join(dir, "refused.json");
    expect(() => wranglerBulkFileSink(refused, "skip")).toThrow(/--present-keys/);
    expect(() => wranglerBulkFileSink(refused, "clear")).toThrow(RestoreRefusedError);
    // fail with present keys refuses before writing anything.
    await expect(restoreKv(store, master, r, wranglerBulkFileSink(refused, "fail", present), opts("fail", { only: "user:" }))).rejects.toThrow(RestoreRefusedError);
    expect(existsSync(refused)).toBe(false);
  });
});

describe("R2 restore", () => {
  it("restores every object with its bytes and metadata; refuses a non-empty target; skip fills gaps", async () => {
    const r = await resolveBackup(store, master, { kind: "r2", name: "user-uploads" }, "latest");
    await restoreR2(store, master, r, bindingR2Sink((await r2("R2_A")) as never, "R2_A"), opts());
    const src = await digestR2((await r2("R2_SRC")) as never);
    expect(await digestR2((await r2("R2_A")) as never)).toEqual(src);
    await expect(restoreR2(store, master, r, bindingR2Sink((await r2("R2_A")) as never, "R2_A"), opts())).rejects.toBeInstanceOf(RestoreRefusedError);
    await (await r2("R2_A")).delete(["avatars/3.png", "invoices/2026/11/INV-0001.pdf"]);
    const skip = await restoreR2(store, master, r, bindingR2Sink((await r2("R2_A")) as never, "R2_A"), opts("skip"));
    expect(skip).toMatchObject({ restored: 2, skipped: 31 });
    expect(await digestR2((await r2("R2_A")) as never)).toEqual(src);
  });

  it("--only a prefix, into a directory through the storage interface", async () => {
    const r = await resolveBackup(store, master, { kind: "r2", name: "user-uploads" }, "latest");
    const dir = new DirStorage(mkdtempSync(path.join(tmpdir(), "drposture-r2dir-")));
    const report = await restoreR2(store, master, r, storageR2Sink(dir), opts("fail", { only: "invoices/" }));
    expect(report.restored).toBe(1);
    const info = await dir.head("invoices/2026/11/INV-0001.pdf");
    expect(info?.size).toBe(1_500_000);
  });
});
