/**
 * `drposture restore kv` into a `wrangler kv bulk put` file and into the `wrangler dev` state,
 * at the edges of what KV accepts (https://developers.cloudflare.com/kv/platform/limits/: keys
 * up to 512 bytes, values up to 25 MiB, metadata up to 1,024 bytes of serialized JSON; and
 * expiration), from a directory store of real backups; and an --only prefix that matches no
 * key: exit 2, saying so, with nothing written or deleted.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Miniflare } from "miniflare";
import { beforeAll, describe, expect, it } from "vitest";
import { WORKER_COMPATIBILITY_DATE } from "../../lib/local/localWorker";
import { drposture } from "../helpers/cli";
import { backupKvR2, KV_ASSET, type KvR2Store, type KvSeed } from "../helpers/kvR2Backups";

const KEY = "2b".repeat(32);
const enc = (s: string) => new TextEncoder().encode(s);
const FAR = Math.floor(Date.now() / 1000) + 90 * 86400;
const METADATA_1024 = { note: "m".repeat(1024 - JSON.stringify({ note: "" }).length) };
const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);
const BIG = new Uint8Array(25 * 1024 * 1024).map((_, i) => (i * 31) & 0xff);
const SEEDS: KvSeed[] = [
  { key: "k".repeat(509) + "é", value: enc("a 511-byte key"), metadata: { k: "long" } },
  { key: "ü".repeat(256), value: enc("a 512-byte unicode key") },
  { key: "meta:max", value: enc("metadata of exactly 1,024 bytes"), metadata: METADATA_1024, expiration: FAR },
  { key: "meta:scalars", value: enc("falsy metadata"), metadata: 0 },
  { key: "bin:all-bytes", value: ALL_BYTES, metadata: { contentType: "application/octet-stream" } },
  { key: "bin:empty", value: new Uint8Array(0) },
  { key: "big:25MiB", value: BIG, expiration: FAR },
  { key: "sp ace/\u00a0\ttab\n", value: enc("whitespace in a key") },
];

let base: string;
let s: KvR2Store;
const args = (to: string, ...extra: string[]) => ["restore", "kv", "--asset", KV_ASSET, "--to", to, "--store", s.store, "--key-file", s.keyFile, ...extra];
/** Values compared by digest: a deep equality over 25 MiB element by element takes minutes. */
const digest = (b: Uint8Array) => `${b.byteLength}:${createHash("sha256").update(b).digest("hex")}`;
const sorted = (xs: readonly KvSeed[]) => [...xs].sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));

beforeAll(async () => {
  base = mkdtempSync(path.join(tmpdir(), "drposture-kv-targets-"));
  expect(Buffer.byteLength(JSON.stringify(METADATA_1024))).toBe(1024);
  expect(Buffer.byteLength(SEEDS[1]?.key as string)).toBe(512);
  s = await backupKvR2(path.join(base, "backups"), KEY, { kv: SEEDS, r2: [] });
}, 180_000);

describe("restore kv at KV's limits", () => {
  it("into a bulk-put file: every key, value, metadata and expiration as wrangler reads them", async () => {
    const file = path.join(base, "bulk.json");
    const r = await drposture(args(`file:${file}`, "--json"));
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ restored: SEEDS.length, skipped: 0 });
    const items = JSON.parse(readFileSync(file, "utf8")) as Array<{ key: string; value: string; base64: boolean; metadata?: unknown; expiration?: number }>;
    expect(items.map((i) => ({ key: i.key, value: digest(Buffer.from(i.value, "base64")), metadata: i.metadata, expiration: i.expiration, base64: i.base64 }))).toEqual(
      sorted(SEEDS).map((e) => ({ key: e.key, value: digest(e.value), metadata: e.metadata, expiration: e.expiration, base64: true })),
    );
  }, 60_000);

  it("into the wrangler dev state: read back through Miniflare, byte for byte", async () => {
    const dev = path.join(base, "dev");
    const r = await drposture(args(`local:${dev}#ns`));
    expect(r.code, r.stderr).toBe(0);
    const mf = new Miniflare({ modules: true, script: "export default {}", compatibilityDate: WORKER_COMPATIBILITY_DATE, kvNamespaces: { NS: "ns" }, kvPersist: path.join(dev, "v3", "kv") });
    try {
      const ns = await mf.getKVNamespace("NS");
      const listed = new Map((await ns.list()).keys.map((k) => [k.name, k]));
      const back = [];
      for (const e of sorted(SEEDS)) {
        const got = await ns.getWithMetadata(e.key, "arrayBuffer");
        back.push({ key: e.key, value: digest(new Uint8Array(got.value as ArrayBuffer)), metadata: got.metadata ?? undefined, expiration: listed.get(e.key)?.expiration });
      }
      expect(back).toEqual(sorted(SEEDS).map((e) => ({ key: e.key, value: digest(e.value), metadata: e.metadata, expiration: e.expiration })));
    } finally {
      await mf.dispose();
    }
  }, 60_000);

  it("--only with a prefix no key has: exit 2, saying so; no file written, nothing cleared", async () => {
    const file = path.join(base, "none.json");
    const r = await drposture(args(`file:${file}`, "--only", "nosuch:"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^drposture: --only "nosuch:": no key of backup \S+ \(8 key\(s\)\) starts with it; nothing restored$/m);
    expect(existsSync(file)).toBe(false);
    const dev = path.join(base, "dev");
    const c = await drposture(args(`local:${dev}#ns`, "--only", "nosuch:", "--mode", "clear", "--json"));
    expect(c.code).toBe(2);
    expect(JSON.parse(c.stdout)).toMatchObject({ error: { code: "RestoreInputError" } });
    const again = await drposture(args(`local:${dev}#ns`, "--mode", "skip", "--json"));
    expect(JSON.parse(again.stdout)).toMatchObject({ restored: 0, skipped: SEEDS.length });
  }, 60_000);
  it("into a file in a missing directory: exit 2, one line, nothing created", async () => {
    const out = path.join(base, "no-such-dir", "sessions.json");
    const r = await drposture(args(`file:${out}`));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n").at(-1)).toBe(`drposture: --to file:${out}: the directory ${path.dirname(out)} does not exist (create it first)`);
    expect(existsSync(path.dirname(out))).toBe(false);
  });

  it("a restore into a file that fails midway leaves no file (a partial bulk file would upload as whole)", { timeout: 180_000 }, async () => {
    // Many small entries over several encrypted chunks, the last chunk's tag broken: the
    // entries of the earlier chunks are written, then decryption fails.
    const many: KvSeed[] = Array.from({ length: 3000 }, (_, i) => ({ key: `user:${String(i).padStart(5, "0")}`, value: enc(`session ${i} `.repeat(8)) }));
    const small = await backupKvR2(path.join(base, "many"), KEY, { kv: many, r2: [] });
    const broken = small.store;
    const artifacts = readdirSync(broken, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".drpenc")).map((f) => path.join(broken, f));
    const largest = artifacts.sort((a, b) => statSync(b).size - statSync(a).size)[0] as string;
    const bytes = readFileSync(largest);
    bytes.writeUInt8((bytes.at(-100) as number) ^ 0x01, bytes.length - 100);
    writeFileSync(largest, bytes);
    const out = path.join(base, "broken.json");
    const r = await drposture(["restore", "kv", "--asset", KV_ASSET, "--to", `file:${out}`, "--store", broken, "--key-file", small.keyFile]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(readdirSync(base).filter((f) => f.startsWith("broken.json") || f.startsWith(".broken.json"))).toEqual([]);
  });
});
