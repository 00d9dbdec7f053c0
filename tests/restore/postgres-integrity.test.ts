/**
 * `restore postgres` never hands pg_restore a dump that did not authenticate in full: the
 * decryption (in a worker thread, see lib/restore/offThreadDecrypt.ts) checks every chunk and,
 * at the end, the manifest's sizes and hashes before pg_restore starts. A backup of several
 * MiB (dozens of 64 KiB chunks, several 1 MiB batches to the worker) is damaged in the places
 * that matter: a chunk in the middle, the last chunk, the end cut off. Each restore fails with
 * exit 1 and one line naming the artifact; the target stays empty and no decrypted data is left.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSql } from "../../lib/local/postgres";
import { importMasterKey } from "../../lib/format/keys";
import { decryptDumpTo } from "../../lib/restore/postgresRestore";
import { resolveBackup } from "../../lib/restore/resolve";
import { DirStorage } from "../../lib/storage/dirStorage";
import type { BackupStorage } from "../../lib/storage/types";
import { drposture } from "../helpers/cli";
import { rowsIn, startPgBackupFixture, type PgBackupFixture } from "../helpers/pgBackupFixture";

const HEADER_BYTES = 37;
const SEALED_CHUNK = 64 * 1024 + 16;

let f: PgBackupFixture;
let pristine: string;
let n = 0;

function dumpFile(store: string): string {
  const found = (readdirSync(store, { recursive: true }) as string[]).find((p) => p.includes(`${path.sep}big${path.sep}`) && path.basename(p).startsWith("dump-") && p.endsWith(".drpenc"));
  if (!found) throw new Error("no dump artifact of asset big in the store");
  return path.join(store, found);
}

/** A copy of the backup store with its dump artifact changed by `damage`. */
function damagedStore(damage: (bytes: Buffer) => Buffer): string {
  const store = path.join(f.dir, `damaged-${++n}`);
  cpSync(pristine, store, { recursive: true });
  const file = dumpFile(store);
  writeFileSync(file, damage(readFileSync(file)));
  return store;
}

async function restoreFrom(store: string): Promise<{ code: number; stderr: string; db: string; leftInTmp: string[] }> {
  const db = `t${n}`;
  await f.createDb(db);
  // A private TMPDIR: whatever the restore decrypted to disk must be gone when it exits.
  const tmp = mkdtempSync(path.join(tmpdir(), "drposture-integrity-tmp-"));
  try {
    const r = await drposture(["restore", "postgres", "--asset", "big", "--store", store, "--key-file", f.keyFile, "--to", f.url(db)], { env: { TMPDIR: tmp } });
    return { code: r.code, stderr: r.stderr, db, leftInTmp: readdirSync(tmp) };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  f = await startPgBackupFixture();
  // ~6 MiB of random bytes: incompressible, so the dump has about 100 chunks.
  await f.createDb("big");
  await runSql(f.pg.url("big"), ["CREATE EXTENSION pgcrypto", "CREATE TABLE blobs (id int PRIMARY KEY, body bytea NOT NULL)", "INSERT INTO blobs SELECT g, (SELECT string_agg(gen_random_bytes(1024), ''::bytea) FROM generate_series(1, 4) WHERE g > 0) FROM generate_series(1, 1536) g"]);
  pristine = path.join(f.dir, "big-store");
  const b = await drposture(["backup", "postgres", "--url", f.url("big"), "--store", pristine, "--key-file", f.keyFile, "--asset", "big", "--stack", "prod"]);
  if (b.code !== 0) throw new Error(`backup failed: ${b.stderr}`);
}, 120_000);

afterAll(async () => {
  await f?.stop();
});

describe("a damaged dump never reaches pg_restore", () => {
  it("the backup is large enough to span many chunks and several worker batches", () => {
    expect(statSync(dumpFile(pristine)).size).toBeGreaterThan(80 * SEALED_CHUNK);
  });

  it("the undamaged backup restores (the control)", async () => {
    const r = await restoreFrom(pristine);
    expect(r.code, r.stderr).toBe(0);
    expect(await rowsIn(f, r.db)).toEqual({ "public.blobs": 1536 });
    expect(r.leftInTmp).toEqual([]);
  });

  const cases: Array<[string, (b: Buffer) => Buffer, RegExp]> = [
    ["a flipped bit in a chunk in the middle", (b) => flip(b, HEADER_BYTES + 40 * SEALED_CHUNK + 1234), /chunk 40 failed authentication/],
    ["a flipped bit in the last chunk", (b) => flip(b, b.byteLength - 20), /chunk \d+ failed authentication/],
    ["the final chunk cut off", (b) => b.subarray(0, HEADER_BYTES + Math.floor((b.byteLength - HEADER_BYTES) / SEALED_CHUNK) * SEALED_CHUNK), /truncated after chunk \d+/],
  ];
  for (const [what, damage, message] of cases) {
    it(`${what}: exit 1, one line naming the artifact, the target empty, nothing decrypted left`, async () => {
      const r = await restoreFrom(damagedStore(damage));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/dump-[0-9a-f]{6}\.drpenc/);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(r.stderr.trim().split("\n").filter((l) => l.startsWith("drposture:"))).toHaveLength(1);
      expect(await rowsIn(f, r.db)).toEqual({});
      expect(r.leftInTmp).toEqual([]);
    });
  }
});

describe("the worker-thread decryption of a remote store's dump refuses the same damage", () => {
  // A store that is not a local directory (as S3 and R2 are) takes the worker-thread path.
  const remote = (dir: string): BackupStorage => {
    const d = new DirStorage(dir);
    return { label: `remote(${dir})`, put: (k, b, o) => d.put(k, b, o), get: (k, r) => d.get(k, r), head: (k) => d.head(k), list: (p) => d.list(p), delete: (k) => d.delete(k) };
  };
  const decrypt = async (dir: string) => {
    const store = remote(dir);
    const master = await importMasterKey(readFileSync(f.keyFile, "utf8").trim());
    const r = await resolveBackup(store, master, { kind: "neon", name: "big" }, "latest");
    const out = path.join(mkdtempSync(path.join(tmpdir(), "drposture-worker-decrypt-")), "dump");
    try {
      return await decryptDumpTo(store, master, r, out);
    } finally {
      rmSync(path.dirname(out), { recursive: true, force: true });
    }
  };

  it("the undamaged dump decrypts to its recorded size", async () => {
    expect(await decrypt(pristine)).toBeGreaterThan(80 * 65536);
  });

  const damages: Array<[string, (b: Buffer) => Buffer, RegExp]> = [
    ["a flipped bit in a chunk in the middle", (b) => flip(b, HEADER_BYTES + 40 * SEALED_CHUNK + 1234), /chunk 40 failed authentication/],
    ["the final chunk cut off", (b) => b.subarray(0, HEADER_BYTES + Math.floor((b.byteLength - HEADER_BYTES) / SEALED_CHUNK) * SEALED_CHUNK), /truncated after chunk \d+/],
  ];
  for (const [what, damage, message] of damages) {
    it(`${what}: an ArtifactIntegrityError`, async () => {
      const err = await decrypt(damagedStore(damage)).then(() => null, (e: unknown) => e as Error);
      expect(err?.name).toBe("ArtifactIntegrityError");
      expect(err?.message).toMatch(message);
    });
  }
});

function flip(bytes: Buffer, at: number): Buffer {
  const out = Buffer.from(bytes);
  out[at] = (out[at] as number) ^ 0x01;
  return out;
}
