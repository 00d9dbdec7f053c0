/**
 * `drposture restore r2 --to DIR` as an operator runs it, from a directory store of real
 * backups: every key R2 accepts lands in its own file, bytes and metadata intact — `folder/`
 * next to `folder/child.txt`, `a` next to `a/b`, a key ending `.meta.json` next to the object
 * whose metadata the old layout kept in that very name, `.`, `..`, empty segments, `%2F`,
 * unicode, a 1,024-byte key (R2's limit) and a segment past the file system's 255 bytes. An
 * object the directory cannot take fails the command (exit 1) naming it, after the others are
 * written; an --only prefix that matches nothing is an input error (exit 2) that writes nothing.
 * Backup stores written by the previous layout (plain paths, `.meta.json` and `.partial-*`
 * files beside them) still verify and restore.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { DirStorage } from "../../lib/storage/dirStorage";
import { readAll } from "../../lib/storage/types";
import { drposture } from "../helpers/cli";
import { backupKvR2, R2_ASSET, type KvR2Store, type R2Seed } from "../helpers/kvR2Backups";

const KEY = "4d".repeat(32);
const enc = (s: string) => new TextEncoder().encode(s);
const KEYS_1024 = `${"k".repeat(200)}/${"é".repeat(411)}`; // 200 + 1 + 822 = 1,023 bytes, one segment past 255
const OBJECTS: R2Seed[] = [
  { key: "folder/", body: enc("a folder marker"), http: { contentType: "application/x-directory" } },
  { key: "folder/child.txt", body: enc("the child"), custom: { owner: "bob" } },
  { key: "a", body: enc("a file named a") },
  { key: "a/b", body: enc("a file under a/") },
  { key: "x", body: enc("x has metadata"), http: { contentType: "text/plain", cacheControl: "max-age=60" }, custom: { who: "x" } },
  { key: "x.meta.json", body: enc('{"not":"a sidecar"}'), custom: { who: "x.meta.json" } },
  { key: ".", body: enc("dot") },
  { key: "..", body: enc("dotdot") },
  { key: "../../escape.txt", body: enc("stays inside") },
  { key: "a//b", body: enc("empty segment") },
  { key: "/lead", body: enc("leading slash") },
  { key: "%2F", body: enc("percent two F") },
  { key: "dir.v1/file", body: enc("dotted directory, dot-free file") },
  { key: "unicode/日本語/ß→✓.txt", body: enc("unicode") },
  { key: "ctrl/\u0001\t\n.bin", body: new Uint8Array([1, 2, 3]) },
  { key: "x.partial-00000000", body: enc("looks like an old upload") },
  { key: `${"k".repeat(1023)}z`, body: enc("1,024-byte key") },
  { key: KEYS_1024, body: enc("long segment") },
  { key: "empty.bin", body: new Uint8Array(0) },
];

let base: string;
let s: KvR2Store;
const args = (to: string, ...extra: string[]) => ["restore", "r2", "--asset", R2_ASSET, "--to", to, "--store", s.store, "--key-file", s.keyFile, ...extra];

async function readBack(dir: string) {
  const d = new DirStorage(dir);
  const out = [];
  for await (const info of d.list("")) {
    out.push({ key: info.key, body: await readAll((await d.get(info.key)) as ReadableStream<Uint8Array>), http: info.httpMetadata, custom: info.customMetadata });
  }
  return out;
}

const expected = (objects: readonly R2Seed[]) =>
  [...objects]
    .sort((x, y) => Buffer.compare(Buffer.from(x.key), Buffer.from(y.key)))
    .map((o) => ({ key: o.key, body: o.body, http: o.http, custom: o.custom }));

beforeAll(async () => {
  base = mkdtempSync(path.join(tmpdir(), "drposture-r2dir-"));
  s = await backupKvR2(path.join(base, "backups"), KEY, { kv: [], r2: OBJECTS });
}, 120_000);

describe("restore r2 --to DIR", () => {
  it("writes every key to its own file with its bytes and metadata, and reads them all back", async () => {
    const dir = path.join(base, "all");
    const r = await drposture(args(dir, "--json"));
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ kind: "r2", restored: OBJECTS.length, skipped: 0 });
    expect(await readBack(dir)).toEqual(expected(OBJECTS));
    expect(existsSync(path.join(base, "escape.txt"))).toBe(false);
    // Backup-shaped keys keep plain, readable paths.
    expect(existsSync(path.join(dir, "folder", "child.txt"))).toBe(true);
    expect(existsSync(path.join(dir, "unicode", "日本語", "ß→✓.txt"))).toBe(true);
  });

  it("an object the directory cannot take fails the restore (exit 1) naming it; the others are written", async () => {
    const dir = path.join(base, "blocked");
    // Something else already sits where folder/child.txt goes: a directory, not a file.
    mkdirSync(path.join(dir, "folder", "child.txt", "in-the-way"), { recursive: true });
    const r = await drposture(args(dir, "--mode", "overwrite"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^drposture: restore incomplete: 1 of 19 object\(s\) could not be written to dir:.*\(18 restored\): "folder\/child.txt": /m);
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(/^drposture: restore incomplete/);
    expect((await readBack(dir)).map((o) => o.key)).toEqual(expected(OBJECTS).map((o) => o.key).filter((k) => k !== "folder/child.txt"));
  });

  it("--only with a prefix no key has fails with exit 2 and writes nothing", async () => {
    const dir = path.join(base, "only-nothing");
    const r = await drposture(args(dir, "--only", "nosuch/"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--only "nosuch\/": no object of backup \S+ \(19 object\(s\)\) has a key starting with it; nothing restored/);
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    // --mode clear with such a prefix deletes nothing either.
    const full = path.join(base, "all");
    const c = await drposture(args(full, "--only", "nosuch/", "--mode", "clear"));
    expect(c.code).toBe(2);
    expect((await readBack(full)).length).toBe(OBJECTS.length);
  });

  it("--only a prefix restores just those keys", async () => {
    const dir = path.join(base, "only-folder");
    const r = await drposture(args(dir, "--only", "folder/", "--json"));
    expect(r.code, r.stderr).toBe(0);
    expect((await readBack(dir)).map((o) => o.key)).toEqual(["folder/", "folder/child.txt"]);
  });

  it("a backup store in the previous layout (old sidecars and uploads beside the objects) still verifies and restores", async () => {
    const old = path.join(base, "old-store");
    cpSync(s.store, old, { recursive: true });
    const manifests: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else if (e.name === "manifest.json") manifests.push(path.join(d, e.name));
      }
    };
    walk(old);
    expect(manifests.length).toBeGreaterThan(0);
    for (const m of manifests) {
      writeFileSync(`${m}.meta.json`, JSON.stringify({ tags: { kind: "manifest" } }));
      writeFileSync(`${m}.partial-1a2b3c4d`, "half an upload");
    }
    const v = await drposture(["verify", "--store", old, "--key-file", s.keyFile, "--read-data", "100", "--json"]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    const dir = path.join(base, "from-old");
    const r = await drposture(["restore", "r2", "--asset", R2_ASSET, "--to", dir, "--store", old, "--key-file", s.keyFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(await readBack(dir)).toEqual(expected(OBJECTS));
  });
});
