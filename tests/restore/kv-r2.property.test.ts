/**
 * Property-based: random KV keys, values, metadata and expirations and random R2 keys, bodies
 * and metadata — always with the keys that broke restores before (`a`, `a/`, `a/b`, `x` next
 * to `x.meta.json`, `%2F`, `.`, `..`, `a//b`, unicode, 512- and 1,024-byte keys) — come back
 * byte for byte, metadata included:
 *   - the directory layout maps every key to valid, distinct names that decode back, and no
 *     object's file is another's directory (pure, many runs);
 *   - DirStorage round-trips random objects with their metadata (file system, tens of runs);
 *   - a backup taken by the real Worker in workerd and restored by the CLI into a
 *     `wrangler kv bulk put` file, the `wrangler dev` state (local:) and a directory.
 * Fixed seed in CI; DRPOSTURE_FC_SEED=random explores (tests/helpers/propertySeed.ts).
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { Miniflare } from "miniflare";
import { describe, expect, it } from "vitest";
import { WORKER_COMPATIBILITY_DATE } from "../../lib/local/localWorker";
import { decodeComponent, encodeKey, MAX_COMPONENT_BYTES } from "../../lib/storage/dirKeys";
import { DirStorage } from "../../lib/storage/dirStorage";
import { readAll } from "../../lib/storage/types";
import { drposture } from "../helpers/cli";
import { backupKvR2, KV_ASSET, R2_ASSET, type KvSeed, type R2Seed } from "../helpers/kvR2Backups";
import { propertyParams } from "../helpers/propertySeed";

const bytes = (k: string) => Buffer.byteLength(k);
const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const digest = (b: Uint8Array) => `${b.byteLength}:${createHash("sha256").update(b).digest("hex")}`;

/** Keys that broke directory restores, and R2's and KV's longest. */
const R2_ALWAYS = ["a", "a/", "a/b", "x", "x.meta.json", "%2F", ".", "..", "a//b", "/a", "日本/ß→✓.txt", "k".repeat(1024), "é".repeat(512), `${"d".repeat(300)}/f`];
const KV_ALWAYS = ["a", "a/", "a/b", "x", "x.meta.json", "%2F", "a//b", "日本/ß→✓", "k".repeat(512), "ü".repeat(256)];

const segment = fc.oneof(
  fc.constantFrom("", ".", "..", "a", "x.meta.json", "y.partial-0a1b2c3d", "%", "%2F", "%_", "%h", "README", "v1.2", "a%", "\uFEFFbom"),
  fc.string({ unit: fc.constantFrom("a", "b", ".", "%", "é", "日", "\u0001", " ", "_", "h", "2", "F"), maxLength: 8 }),
  fc.string({ unit: "binary", maxLength: 10 }).map((s) => s.replaceAll("/", "")),
);
const anyKey = fc
  .array(segment, { minLength: 1, maxLength: 5 })
  .map((s) => s.join("/"))
  .filter((k) => k.length > 0 && !/[\uD800-\uDFFF]/u.test(k)); // well-formed UTF-16: R2 keys are UTF-8
const r2Key = anyKey.filter((k) => bytes(k) <= 1024);
const kvKey = anyKey.filter((k) => bytes(k) <= 512 && k !== "." && k !== "..");

const body = fc.uint8Array({ maxLength: 2048 });
const http = fc.record(
  { contentType: fc.constantFrom("text/plain", "application/json", "image/png"), cacheControl: fc.constantFrom("no-store", "max-age=60"), contentLanguage: fc.constantFrom("en", "de-CH"), contentDisposition: fc.constantFrom("inline", 'attachment; filename="x.bin"') },
  { requiredKeys: [] },
);
const custom = fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), fc.string({ maxLength: 20 }), { maxKeys: 3 });
const r2Object = (key: fc.Arbitrary<string>) =>
  fc.record({ key, body, http, custom }).map(({ key, body, http, custom }): R2Seed => ({ key, body, ...(Object.keys(http).length ? { http } : {}), ...(Object.keys(custom).length ? { custom } : {}) }));
const metadata = fc.jsonValue({ maxDepth: 2 }).filter((m) => m !== null && bytes(JSON.stringify(m)) <= 1024);
const now = Math.floor(Date.now() / 1000);
const kvEntry = (key: fc.Arbitrary<string>) =>
  fc
    .record({ key, value: body, metadata: fc.option(metadata, { nil: undefined }), expiration: fc.option(fc.integer({ min: now + 86400, max: now + 365 * 86400 }), { nil: undefined }) })
    .map((e): KvSeed => ({ key: e.key, value: e.value, ...(e.metadata !== undefined ? { metadata: e.metadata } : {}), ...(e.expiration !== undefined ? { expiration: e.expiration } : {}) }));

/** Random items plus one for each always-present key, unique by key. */
function withAlways<T extends { key: string }>(item: (k: fc.Arbitrary<string>) => fc.Arbitrary<T>, key: fc.Arbitrary<string>, always: string[], max: number): fc.Arbitrary<T[]> {
  return fc.tuple(fc.tuple(...always.map((k) => item(fc.constant(k)))), fc.uniqueArray(item(key), { selector: (x) => x.key, maxLength: max })).map(([fixed, random]) => {
    const taken = new Set(always);
    return [...fixed, ...random.filter((x) => !taken.has(x.key))];
  });
}

describe("directory layout", () => {
  it("maps every key to valid, distinct names that decode back; no object's file is another's directory", () => {
    fc.assert(
      fc.property(fc.uniqueArray(r2Key, { maxLength: 30 }), (random) => {
        const keys = [...new Set([...R2_ALWAYS, ...random])];
        const paths = new Map<string, string>();
        for (const key of keys) {
          const components = encodeKey(key);
          components.forEach((c, i) => {
            expect(c).not.toMatch(/^\.\.?$|[/\0]/);
            expect(c.length).toBeGreaterThan(0);
            expect(bytes(c)).toBeLessThanOrEqual(MAX_COMPONENT_BYTES + 1);
            const decoded = decodeComponent(c, i === components.length - 1 ? "file" : "dir");
            expect(decoded === "hashed" || decoded === key.split("/")[i]).toBe(true);
          });
          const p = components.join("/");
          expect(paths.get(p), `${JSON.stringify(key)} and ${JSON.stringify(paths.get(p))} share ${p}`).toBeUndefined();
          paths.set(p, key);
        }
        const all = [...paths.keys()];
        for (const p of all) for (const q of all) expect(q.startsWith(`${p}/`), `${p} is a file and a directory of ${q}`).toBe(false);
      }),
      propertyParams(300),
    );
  });

  it("DirStorage round-trips random objects with their metadata, listing them in key order", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "drposture-dirprop-"));
    let n = 0;
    await fc.assert(
      fc.asyncProperty(withAlways(r2Object, r2Key, R2_ALWAYS, 20), fc.string({ maxLength: 2 }), async (objects, prefix) => {
        const d = new DirStorage(path.join(root, String(n++)));
        for (const o of objects) await d.put(o.key, o.body, { ...(o.http ? { httpMetadata: o.http } : {}), ...(o.custom ? { customMetadata: o.custom } : {}) });
        const back = [];
        for await (const info of d.list("")) back.push({ key: info.key, body: await readAll((await d.get(info.key)) as ReadableStream<Uint8Array>), http: info.httpMetadata, custom: info.customMetadata });
        expect(back).toEqual([...objects].sort((a, b) => byUtf8(a.key, b.key)).map((o) => ({ key: o.key, body: o.body, http: o.http, custom: o.custom })));
        const listed = [];
        for await (const info of d.list(prefix)) listed.push(info.key);
        expect(listed).toEqual(back.map((o) => o.key).filter((k) => k.startsWith(prefix)));
      }),
      propertyParams(30),
    );
    rmSync(root, { recursive: true, force: true });
  }, 60_000);
});

describe("backup by the Worker, restore by the CLI", () => {
  it("random KV entries and R2 objects come back byte for byte into file:, local: and a directory", async () => {
    await fc.assert(
      fc.asyncProperty(withAlways(kvEntry, kvKey, KV_ALWAYS, 30), withAlways(r2Object, r2Key, R2_ALWAYS, 30), async (kv, r2) => {
        const base = mkdtempSync(path.join(tmpdir(), "drposture-kvr2prop-"));
        try {
          const s = await backupKvR2(path.join(base, "backups"), "6a".repeat(32), { kv, r2 });
          const run = async (kind: string, asset: string, to: string) => {
            const r = await drposture(["restore", kind, "--asset", asset, "--to", to, "--store", s.store, "--key-file", s.keyFile, "--json"]);
            expect(r.code, r.stderr).toBe(0);
            expect(JSON.parse(r.stdout)).toMatchObject({ restored: kind === "kv" ? kv.length : r2.length, skipped: 0 });
          };
          const dev = path.join(base, "dev");
          await Promise.all([run("kv", KV_ASSET, `file:${path.join(base, "kv.json")}`), run("r2", R2_ASSET, path.join(base, "r2dir"))]);
          await run("kv", KV_ASSET, `local:${dev}#ns`);
          await run("r2", R2_ASSET, `local:${dev}#bucket`);
          const kvWant = [...kv].sort((a, b) => byUtf8(a.key, b.key)).map((e) => ({ key: e.key, value: digest(e.value), metadata: JSON.stringify(e.metadata), expiration: e.expiration }));
          const r2Want = [...r2].sort((a, b) => byUtf8(a.key, b.key)).map((o) => ({ key: o.key, body: digest(o.body), http: o.http ?? {}, custom: o.custom ?? {} }));

          const bulk = JSON.parse(readFileSync(path.join(base, "kv.json"), "utf8")) as Array<{ key: string; value: string; metadata?: unknown; expiration?: number }>;
          expect(bulk.map((i) => ({ key: i.key, value: digest(Buffer.from(i.value, "base64")), metadata: JSON.stringify(i.metadata), expiration: i.expiration }))).toEqual(kvWant);

          const dir = new DirStorage(path.join(base, "r2dir"));
          const fromDir = [];
          for await (const info of dir.list("")) fromDir.push({ key: info.key, body: digest(await readAll((await dir.get(info.key)) as ReadableStream<Uint8Array>)), http: info.httpMetadata ?? {}, custom: info.customMetadata ?? {} });
          expect(fromDir).toEqual(r2Want);

          const mf = new Miniflare({ modules: true, script: "export default {}", compatibilityDate: WORKER_COMPATIBILITY_DATE, kvNamespaces: { NS: "ns" }, kvPersist: path.join(dev, "v3", "kv"), r2Buckets: { B: "bucket" }, r2Persist: path.join(dev, "v3", "r2") });
          try {
            const ns = await mf.getKVNamespace("NS");
            const expirations = new Map<string, number | undefined>();
            let cursor: string | undefined;
            do {
              const page = await ns.list(cursor ? { cursor } : {});
              for (const k of page.keys) expirations.set(k.name, k.expiration);
              cursor = page.list_complete ? undefined : page.cursor;
            } while (cursor);
            const fromLocal = [];
            for (const e of kvWant) {
              const got = await ns.getWithMetadata(e.key, "arrayBuffer");
              fromLocal.push({ key: e.key, value: digest(new Uint8Array(got.value as ArrayBuffer)), metadata: JSON.stringify(got.metadata ?? undefined), expiration: expirations.get(e.key) });
            }
            expect(fromLocal).toEqual(kvWant);
            expect(expirations.size).toBe(kv.length);
            const bucket = await mf.getR2Bucket("B");
            const r2Local = [];
            for (const o of r2Want) {
              const got = await bucket.get(o.key);
              r2Local.push({ key: o.key, body: digest(new Uint8Array(await (got as NonNullable<typeof got>).arrayBuffer())), http: got?.httpMetadata ?? {}, custom: got?.customMetadata ?? {} });
            }
            expect(r2Local).toEqual(r2Want);
          } finally {
            await mf.dispose();
          }
        } finally {
          rmSync(base, { recursive: true, force: true });
        }
      }),
      propertyParams(1),
    );
  }, 180_000);
});
