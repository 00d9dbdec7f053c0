/**
 * The class, not the instance: whatever an adversary with write access to a store (but not the
 * key) does to an artifact or a manifest, it is never accepted as something it is not.
 *
 * Artifacts (.drpenc): any cut, any byte flip, any appended bytes, fed in any piece sizes,
 * fail decryption by the end of the stream, with and without the manifest's hashes; through a
 * directory store, `openArtifact` and `verify --read-data 100` report them.
 *
 * Manifests: any edit of any field (changed, removed, added, at any depth), re-serialised any
 * way, and any raw cut, flip or append of the file's bytes: verification accepts only content
 * identical to what was signed (whitespace and key order are not content), at its own key. Any
 * relocation (another backup id, tier, asset) is refused, and `resolveBackup` never returns a
 * manifest that is not a genuine one at its home.
 */
import fc from "fast-check";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openArtifact } from "../../lib/backup/artifacts";
import { readVerifiedManifest } from "../../lib/backup/catalog";
import { decryptArtifact, encryptArtifact } from "../../lib/format/artifactCipher";
import { importMasterKey, type MasterKey } from "../../lib/format/keys";
import { manifestKey, TIERS, type AssetKind, type Tier } from "../../lib/format/layout";
import { canonicalJson, ManifestError, type ArtifactEntry, type Manifest } from "../../lib/format/manifest";
import { resolveBackup } from "../../lib/restore/resolve";
import { verifyStore } from "../../lib/restore/verify";
import { DirStorage } from "../../lib/storage/dirStorage";
import { readAll } from "../../lib/storage/types";
import { propertyParams } from "../helpers/propertySeed";
import { backupIdAt, TEST_KEY_HEX, writeKvBackup, type WrittenBackup } from "../helpers/signedStore";

const ASSET = { kind: "kv" as const, name: "sessions" };
let master: MasterKey;
let root: string;
let store: DirStorage;
let older: WrittenBackup;
let newest: WrittenBackup;

beforeAll(async () => {
  master = await importMasterKey(TEST_KEY_HEX);
  root = mkdtempSync(path.join(tmpdir(), "drposture-tamper-"));
  store = new DirStorage(root);
  const entries = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`user:${i}`, `session value ${i} `.repeat(3)]));
  older = await writeKvBackup(store, master, { asset: ASSET, backupId: backupIdAt("2026-11-20T10:00:00.000Z", "00000001"), sourcePointInTime: "2026-11-20T10:00:00.000Z", entries, chunkSize: 256 });
  newest = await writeKvBackup(store, master, { asset: ASSET, backupId: backupIdAt("2026-11-21T10:00:00.000Z", "00000002"), sourcePointInTime: "2026-11-21T10:00:00.000Z", entries, chunkSize: 256 });
});

/** Runs `check` with a store file replaced by `bytes`, then puts the original back. */
async function withFile<T>(key: string, bytes: Uint8Array | string, check: () => Promise<T>): Promise<T> {
  const file = path.join(root, key);
  const original = readFileSync(file);
  writeFileSync(file, bytes);
  try {
    return await check();
  } finally {
    writeFileSync(file, original);
  }
}

// ---- byte-level mutations, shared by artifacts and manifest files ----

/** Where a mutation strikes, as a fraction of the length: independent of the bytes, so it shrinks. */
type Mutation = { kind: "cut"; at: number } | { kind: "flip"; at: number; mask: number } | { kind: "append"; extra: Uint8Array };

const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("cut" as const), at: fraction }),
  fc.record({ kind: fc.constant("flip" as const), at: fraction, mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant("append" as const), extra: fc.uint8Array({ minLength: 1, maxLength: 300 }) }),
);

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  if (m.kind === "append") return Buffer.concat([bytes, m.extra]);
  const at = Math.floor(m.at * bytes.byteLength);
  if (m.kind === "cut") return bytes.slice(0, at);
  const out = bytes.slice();
  out[at] = (out[at] as number) ^ m.mask;
  return out;
}

/** A stream of `bytes` in pieces of the given sizes (cycled), as a network would deliver it. */
function piecewise(bytes: Uint8Array, sizes: readonly number[]): ReadableStream<Uint8Array> {
  let at = 0;
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.byteLength) return c.close();
      const n = sizes[i++ % sizes.length] as number;
      c.enqueue(bytes.slice(at, at + n));
      at += n;
    },
  });
}

async function encrypt(plain: Uint8Array, chunkSize: number): Promise<Uint8Array> {
  const { stream } = encryptArtifact(master, { chunkSize });
  return readAll(piecewise(plain, [97]).pipeThrough(stream));
}

async function decrypts(bytes: Uint8Array, sizes: readonly number[], expected: Partial<ArtifactEntry> = {}): Promise<Uint8Array | Error> {
  const { stream } = decryptArtifact(master, expected, "artifact");
  return readAll(piecewise(bytes, sizes).pipeThrough(stream)).catch((err: Error) => err);
}

/** What a manifest entry records of an artifact: its sizes and both hashes. */
async function decryptStats(sealed: Uint8Array): Promise<Partial<ArtifactEntry>> {
  const { stream, stats } = decryptArtifact(master, {}, "artifact");
  await readAll(piecewise(sealed, [4096]).pipeThrough(stream));
  return stats;
}

describe("artifacts: cuts, flips and appended bytes never decrypt", () => {
  it("in memory, any piece sizes, with and without the manifest's hashes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 1200 }),
        fc.constantFrom(16, 100, 256, 1024),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 4 }),
        mutation,
        async (plain, chunkSize, sizes, m) => {
          const sealed = await encrypt(plain, chunkSize);
          expect(Buffer.from((await decrypts(sealed, sizes)) as Uint8Array)).toEqual(Buffer.from(plain));
          const tampered = mutate(sealed, m);
          expect(await decrypts(tampered, sizes)).toBeInstanceOf(Error);
          const stats = await decryptStats(sealed);
          expect(await decrypts(tampered, sizes, stats)).toBeInstanceOf(Error);
        },
      ),
      propertyParams(400),
    );
  });

  it("through a directory store: openArtifact and verify --read-data 100 report every one", async () => {
    const entry = newest.manifest.artifacts[0] as ArtifactEntry;
    const sealed = new Uint8Array(readFileSync(path.join(root, entry.key)));
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        await withFile(entry.key, mutate(sealed, m), async () => {
          const opened = await openArtifact(store, master, entry)
            .then(readAll)
            .catch((err: Error) => err);
          expect(opened).toBeInstanceOf(Error);
          const v = await verifyStore(store, master, { readDataPercent: 100 });
          expect(v.failures.map((f) => f.key)).toContain(entry.key);
        });
      }),
      propertyParams(60),
    );
  });
});

// ---- manifest edits: any field, any depth, re-serialised any way ----

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = Array<string | number>;

function nodes(v: Json, at: Path = []): Array<{ path: Path; value: Json }> {
  const here = [{ path: at, value: v }];
  if (Array.isArray(v)) return here.concat(v.flatMap((x, i) => nodes(x, [...at, i])));
  if (v && typeof v === "object") return here.concat(Object.entries(v).flatMap(([k, x]) => nodes(x, [...at, k])));
  return here;
}

type Edit = { op: "set"; pick: number; value: Json } | { op: "remove"; pick: number } | { op: "add"; pick: number; key: string; value: Json };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant("set" as const), pick: fc.nat(), value: fc.jsonValue() as fc.Arbitrary<Json> }),
  fc.record({ op: fc.constant("remove" as const), pick: fc.nat() }),
  fc.record({ op: fc.constant("add" as const), pick: fc.nat(), key: fc.string({ maxLength: 12 }), value: fc.jsonValue() as fc.Arbitrary<Json> }),
);

/** The document with the edit applied (a deep copy); the root itself is never replaced. */
function applyEdit(doc: Json, e: Edit): Json {
  const copy = structuredClone(doc);
  const all = nodes(copy).filter((n) => n.path.length > 0);
  const target = all[e.pick % all.length] as { path: Path; value: Json };
  const parent = target.path.slice(0, -1).reduce<Json>((v, k) => (v as Record<string, Json>)[k as string] as Json, copy) as Record<string | number, Json> | Json[];
  const last = target.path.at(-1) as string | number;
  if (e.op === "set") (parent as Record<string | number, Json>)[last] = e.value;
  else if (e.op === "remove") Array.isArray(parent) ? parent.splice(last as number, 1) : delete parent[last];
  else {
    const objects = [copy, ...all.map((n) => n.value)].filter((v): v is Record<string, Json> => !!v && typeof v === "object" && !Array.isArray(v));
    const obj = objects[e.pick % objects.length] as Record<string, Json>;
    Object.defineProperty(obj, e.key, { value: e.value, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/** Serialisations that keep content: indentation and key order (reversed at every level). */
function serialise(doc: Json, style: number): string {
  const reorder = (v: Json): Json => (Array.isArray(v) ? v.map(reorder) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reorder(x)])) : v);
  if (style === 0) return JSON.stringify(doc);
  if (style === 1) return JSON.stringify(doc, null, 2);
  if (style === 2) return JSON.stringify(reorder(doc), null, "\t");
  return canonicalJson(doc);
}

/** Accepted at `key`: the content must be exactly what was signed, and `key` its home. */
async function acceptedOnlyIfGenuine(key: string, original: Manifest): Promise<"accepted" | "rejected"> {
  try {
    const m = await readVerifiedManifest(store, master, key);
    expect(canonicalJson(m)).toBe(canonicalJson(original));
    expect(key).toBe(manifestKey(m.tier, m.asset, m.backupId));
    return "accepted";
  } catch (err) {
    if (err instanceof ManifestError) return "rejected";
    throw err;
  }
}

/** `latest` never yields anything but a genuine manifest at its home (or refuses). */
async function resolveIsGenuine(): Promise<void> {
  const genuine = new Map([older, newest].map((b) => [b.key, canonicalJson(b.manifest)]));
  try {
    const r = await resolveBackup(store, master, ASSET, "latest");
    expect(canonicalJson(r.manifest)).toBe(genuine.get(r.key));
  } catch (err) {
    expect(["ManifestError", "RestoreRefusedError", "RestoreInputError"]).toContain((err as Error).name);
  }
}

describe("manifests: edits, raw damage and relocation are never accepted", () => {
  it("any edit of any field, re-serialised any way, is rejected; re-serialising alone changes nothing", async () => {
    const doc = newest.manifest as unknown as Json;
    await fc.assert(
      fc.asyncProperty(fc.option(edit, { nil: undefined }), fc.integer({ min: 0, max: 3 }), async (e, style) => {
        const edited = e ? applyEdit(doc, e) : doc;
        const changed = canonicalJson(edited) !== canonicalJson(doc);
        const outcome = await withFile(newest.key, serialise(edited, style), async () => {
          const o = await acceptedOnlyIfGenuine(newest.key, newest.manifest);
          await resolveIsGenuine();
          return o;
        });
        expect(outcome).toBe(changed ? "rejected" : "accepted");
      }),
      propertyParams(180),
    );
  });

  it("any cut, flip or append of the file's bytes is rejected unless the content is untouched", async () => {
    const bytes = new Uint8Array(readFileSync(path.join(root, newest.key)));
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        await withFile(newest.key, mutate(bytes, m), async () => {
          await acceptedOnlyIfGenuine(newest.key, newest.manifest);
          await resolveIsGenuine();
        });
      }),
      propertyParams(150),
    );
  });

  it("a genuine manifest anywhere but its home (backup id, tier, asset) is refused, and never chosen", async () => {
    const place = fc.record({
      tier: fc.constantFrom<Tier>(...TIERS),
      kind: fc.constantFrom<AssetKind>("d1", "kv", "r2", "neon"),
      name: fc.constantFrom("sessions", "feature-flags", "orders"),
      at: fc.date({ min: new Date("2026-11-19T00:00:00Z"), max: new Date("2026-11-23T00:00:00Z"), noInvalidDate: true }),
      suffix: fc.stringMatching(/^[0-9a-f]{8}$/),
      which: fc.constantFrom("older", "newest"),
    });
    await fc.assert(
      fc.asyncProperty(place, async (p) => {
        const source = p.which === "older" ? older : newest;
        const key = manifestKey(p.tier, { kind: p.kind, name: p.name }, backupIdAt(p.at.toISOString(), p.suffix));
        fc.pre(key !== older.key && key !== newest.key);
        await store.put(key, readFileSync(path.join(root, source.key)));
        try {
          expect(await acceptedOnlyIfGenuine(key, source.manifest)).toBe("rejected");
          await resolveIsGenuine();
        } finally {
          await store.delete(key);
        }
      }),
      propertyParams(70),
    );
  });
});
