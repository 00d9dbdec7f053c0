/**
 * Postgres round trip through the backup format with a real PostgreSQL 15: every type a real
 * schema uses comes back, sequences continue, foreign keys resolve; a restore refuses a
 * non-empty target unless told otherwise; --validate-only writes nothing; pg_dump older than
 * the server, or a dump that dies, never produce a backup.
 */
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listBackups } from "../../lib/backup/catalog";
import { backupPostgres, PostgresBackupError } from "../../lib/backup/postgresBackup";
import { digestPostgres } from "../../lib/drill/digests";
import { sampleFixture } from "../../lib/drill/fixture";
import { postgresIntegrity } from "../../lib/integrity/postgres";
import { importMasterKey, type MasterKey } from "../../lib/format/keys";
import { startPgCluster, type PgCluster } from "../../lib/local/postgres";
import { RestoreRefusedError } from "../../lib/restore/modes";
import { restorePostgres } from "../../lib/restore/postgresRestore";
import { resolveBackup } from "../../lib/restore/resolve";
import { DirStorage } from "../../lib/storage/dirStorage";

const ASSET = { kind: "neon" as const, name: "app" };
const TIERS = { daily: 7, weekly: 28, monthly: 93 };

let pg: PgCluster;
let master: MasterKey;
let primary: DirStorage;
let copy: DirStorage;

async function run(url: string, statements: string[]): Promise<Array<Record<string, unknown>>> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    let last: Array<Record<string, unknown>> = [];
    for (const s of statements) last = (await c.query(s)).rows;
    return last;
  } finally {
    await c.end();
  }
}

const backup = (extra: Partial<Parameters<typeof backupPostgres>[0]> = {}) =>
  backupPostgres({ url: pg.url("src"), stores: [primary, copy], master, stack: "test", asset: ASSET, sourceId: "local", tierDays: TIERS, lockMode: "GOVERNANCE", ...extra });

beforeAll(async () => {
  pg = await startPgCluster();
  master = await importMasterKey("0f".repeat(32));
  const dir = mkdtempSync(path.join(tmpdir(), "drposture-pgtest-"));
  primary = new DirStorage(path.join(dir, "r2"));
  copy = new DirStorage(path.join(dir, "s3"));
  await run(pg.url(), ["CREATE DATABASE src", "CREATE DATABASE empty1", "CREATE DATABASE empty2", "CREATE DATABASE busy"]);
  await run(pg.url("src"), [
    ...(sampleFixture().postgres ?? []),
    "CREATE TABLE billing.edge (id serial PRIMARY KEY, big numeric(40,20), tz timestamptz, arr int[], nested jsonb, raw bytea, nul text)",
    "INSERT INTO billing.edge (big, tz, arr, nested, raw, nul) VALUES (12345678901234567890.12345678901234567890, '2026-03-29 01:30:00+01', '{1,2,NULL}', '{\"a\": [1, {\"b\": null}], \"u\": \"ünï 🎉\"}', '\\x00ff00', NULL)",
  ]);
  await run(pg.url("busy"), ["CREATE TABLE keep_me (id int)", "INSERT INTO keep_me VALUES (42)"]);
}, 120_000);

afterAll(async () => {
  await pg?.stop();
});

describe("Postgres backup and restore", () => {
  it("round-trips every type, keeps sequences and foreign keys, and commits to both stores", async () => {
    const { manifest, key } = await backup();
    expect(manifest.details).toMatchObject({ format: "custom" });
    expect(await copy.head(key)).not.toBeNull();
    const r = await resolveBackup(copy, master, ASSET, "latest");
    const report = await restorePostgres(copy, master, r, pg.url("empty1"), { mode: "fail", validateOnly: false, jobs: 2 });
    expect(report.restored).toBeGreaterThan(10);
    const before = await digestPostgres(pg.url("src"));
    const after = await digestPostgres(pg.url("empty1"));
    expect(after).toEqual(before);
    expect(before.details["billing.edge"]).toBe(1);
    expect((await postgresIntegrity(pg.url("empty1"))).every((c) => c.ok)).toBe(true);
    const [next] = await run(pg.url("empty1"), ["INSERT INTO customers (email) VALUES ('new@example.com') RETURNING id"]);
    const [max] = await run(pg.url("src"), ["SELECT max(id) AS m FROM customers"]);
    expect(BigInt(String(next?.id))).toBe(BigInt(String(max?.m)) + 1n);
    const [edge] = await run(pg.url("empty1"), ["SELECT big::text, arr, nested->>'u' AS u, encode(raw, 'hex') AS raw, nul FROM billing.edge"]);
    expect(edge).toEqual({ big: "12345678901234567890.12345678901234567890", arr: [1, 2, null], u: "ünï 🎉", raw: "00ff00", nul: null });
  });

  it("refuses a target that already has tables, and leaves it untouched", async () => {
    const r = await resolveBackup(primary, master, ASSET, "latest");
    await expect(restorePostgres(primary, master, r, pg.url("busy"), { mode: "fail", validateOnly: false })).rejects.toBeInstanceOf(RestoreRefusedError);
    expect(await run(pg.url("busy"), ["SELECT id FROM keep_me"])).toEqual([{ id: 42 }]);
    expect(await run(pg.url("busy"), ["SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'"])).toEqual([{ n: 1 }]);
  });

  it("--validate-only decrypts and reads the archive but writes nothing", async () => {
    const r = await resolveBackup(primary, master, ASSET, "latest");
    const report = await restorePostgres(primary, master, r, pg.url("empty2"), { mode: "fail", validateOnly: true });
    expect(report.validateOnly).toBe(true);
    expect(report.details.tocEntries).toBeGreaterThan(10);
    expect(await run(pg.url("empty2"), ["SELECT count(*)::int AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"])).toEqual([{ n: 0 }]);
  });

  it("--mode clear restores over existing objects", async () => {
    const r = await resolveBackup(primary, master, ASSET, "latest");
    await restorePostgres(primary, master, r, pg.url("empty1"), { mode: "clear", validateOnly: false });
    expect(await digestPostgres(pg.url("empty1"))).toEqual(await digestPostgres(pg.url("src")));
  });

  it("refuses, with the versions, when pg_dump is older than the server", async () => {
    const fake = path.join(mkdtempSync(path.join(tmpdir(), "drposture-fake-")), "pg_dump");
    writeFileSync(fake, '#!/bin/sh\necho "pg_dump (PostgreSQL) 13.14"\n');
    chmodSync(fake, 0o755);
    await expect(backup({ pgDump: fake })).rejects.toThrow(/pg_dump \(PostgreSQL\) 13\.14 is older than the server \(PostgreSQL 15\.\d+.*postgresql-client-15/);
  });

  it("a pg_dump that dies mid-way leaves no manifest", async () => {
    const before = (await listBackups(primary, ASSET)).length;
    const fake = path.join(mkdtempSync(path.join(tmpdir(), "drposture-fake-")), "pg_dump");
    writeFileSync(fake, '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) 15.18"; exit 0; fi\nhead -c 200000 /dev/urandom\necho "pg_dump: error: connection lost" >&2\nexit 1\n');
    chmodSync(fake, 0o755);
    await expect(backup({ pgDump: fake })).rejects.toBeInstanceOf(PostgresBackupError);
    expect((await listBackups(primary, ASSET)).length).toBe(before);
    expect((await listBackups(copy, ASSET)).length).toBe(before);
  });
});
