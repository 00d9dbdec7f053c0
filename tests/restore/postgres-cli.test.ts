/**
 * `restore postgres` and `backup postgres` as operators meet them (issue #9 items 8, 13, 14):
 * --only must name a table of the backup; the report counts the rows the target holds; bad
 * --jobs, wrong connection details and pg_restore/pg_dump failures are one line with an exit
 * code; a password in the connection string works without ever reaching pg_restore's argv.
 */
import { chmodSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listBackups } from "../../lib/backup/catalog";
import { DirStorage } from "../../lib/storage/dirStorage";
import { drposture } from "../helpers/cli";
import { PASSWORD, rowsIn, startPgBackupFixture, type PgBackupFixture } from "../helpers/pgBackupFixture";

let f: PgBackupFixture;
let n = 0;
/** A fresh, empty database. */
async function emptyDb(): Promise<string> {
  const name = `t${++n}`;
  await f.createDb(name);
  return name;
}
const tablesIn = async (db: string) => Object.keys(await rowsIn(f, db));

function oneLine(stderr: string): void {
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toMatch(/unexpected error/);
  expect(stderr.trim().split("\n").filter((l) => l.startsWith("drposture:"))).toHaveLength(1);
}

beforeAll(async () => {
  f = await startPgBackupFixture();
}, 120_000);

afterAll(async () => {
  await f?.stop();
});

describe("--only", () => {
  it("a table the backup does not have: exit 2 listing some of its tables, nothing written", async () => {
    const db = await emptyDb();
    const r = await f.restore(["--to", f.url(db), "--only", "nosuch"]);
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/--only nosuch: the backup has no such table \(it has 5: .*public\.customers.*\); name one as TABLE or SCHEMA\.TABLE/);
    expect(await tablesIn(db)).toEqual([]);
  });

  it("one table: restores it and reports the rows the target holds, not TOC entries", async () => {
    const db = await emptyDb();
    const r = await f.restore(["--to", f.url(db), "--only", "schema_migrations", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(await rowsIn(f, db)).toEqual({ "public.schema_migrations": 2 });
    expect(report.restored).toBe(2);
    expect(report.details["public.schema_migrations"]).toBe(2);
  });

  it("SCHEMA.TABLE with quoted names, over an existing copy with --mode clear", async () => {
    const db = await emptyDb();
    expect((await f.restore(["--to", f.url(db)])).code).toBe(0);
    await f.query(db, 'DELETE FROM "My Schema"."Order Items" WHERE id = 1');
    const r = await f.restore(["--to", f.url(db), "--only", "My Schema.Order Items", "--mode", "clear", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).restored).toBe(2);
    expect((await rowsIn(f, db))["My Schema.Order Items"]).toBe(2);
  });
});

describe("the report counts what the target holds", () => {
  it("a full restore reports the rows of every restored table, counted in the target", async () => {
    const db = await emptyDb();
    const r = await f.restore(["--to", f.url(db), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    const rows = await rowsIn(f, db);
    expect(rows).toEqual(await rowsIn(f, "src"));
    expect(report.restored).toBe(Object.values(rows).reduce((a, b) => a + b, 0));
    for (const [t, count] of Object.entries(rows)) expect(report.details[t]).toBe(count);
  });

  it("--validate-only reports the rows the backup would restore and writes nothing", async () => {
    const db = await emptyDb();
    const r = await f.restore(["--to", f.url(db), "--validate-only", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.validateOnly).toBe(true);
    expect(report.restored).toBe(Object.values(await rowsIn(f, "src")).reduce((a, b) => a + b, 0));
    expect(await tablesIn(db)).toEqual([]);
  });
});

describe("bad input and failures are one line", () => {
  it.each(["0", "abc", "-1", "2.5"])("--jobs %s: exit 2 naming --jobs, nothing written", async (jobs) => {
    const db = await emptyDb();
    const r = await f.restore(["--to", f.url(db), "--jobs", jobs]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--jobs <n>.*expected a whole number from 1/);
    expect(await tablesIn(db)).toEqual([]);
  });

  it.each([
    ["a wrong password", () => f.url("postgres", "wrong"), /PostgreSQL: password authentication failed for user "pwuser" \(check the user and password/],
    ["a missing database", () => f.url("nosuchdb"), /PostgreSQL: database "nosuchdb" does not exist \(the database does not exist; create it first\)/],
    ["a port nothing listens on", () => f.url("postgres").replace(`:${f.pg.port}/`, ":1/"), /127\.0\.0\.1:1: connection refused/],
  ])("restore into %s: exit 1, one line", async (_what, target, message) => {
    const r = await f.restore(["--to", target()]);
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(message);
  });

  it("backup from a wrong password: exit 1, one line, no backup", async () => {
    const before = (await listBackups(new DirStorage(f.store), { kind: "neon", name: "app" })).length;
    const r = await drposture(["backup", "postgres", "--url", f.url("src", "wrong"), "--store", f.store, "--key-file", f.keyFile, "--asset", "app"]);
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/password authentication failed/);
    expect((await listBackups(new DirStorage(f.store), { kind: "neon", name: "app" })).length).toBe(before);
  });

  it("a failing pg_restore is a PostgresRestoreError: one line, exit 1", async () => {
    const db = await emptyDb();
    expect((await f.restore(["--to", f.url(db)])).code).toBe(0);
    // orders is referenced by billing.payments: pg_restore --clean cannot drop it (and must not cascade).
    const r = await f.restore(["--to", f.url(db), "--only", "orders", "--mode", "clear", "--json"]);
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: "PostgresRestoreError", message: expect.stringMatching(/^pg_restore failed: .*cannot drop table public\.orders because other objects depend on it/) });
    expect((await rowsIn(f, db))["billing.payments"]).toBe(1500);
  });

  it("a pg_dump that dies is a PostgresBackupError: one line, exit 1", async () => {
    const fake = path.join(f.dir, "pg_dump");
    writeFileSync(fake, '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) 15.18"; exit 0; fi\necho "pg_dump: error: connection lost" >&2\nexit 1\n');
    chmodSync(fake, 0o755);
    const r = await drposture(["backup", "postgres", "--url", f.url("src"), "--store", f.store, "--key-file", f.keyFile, "--asset", "app", "--pg-dump", fake, "--json"]);
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: "PostgresBackupError", message: expect.stringMatching(/pg_dump exited with 1: pg_dump: error: connection lost/) });
  });
});

describe("credentials", () => {
  it("a password in the connection string reaches pg_restore and pg_dump through their environment", async () => {
    // scram-sha-256 for pwuser: had the password been dropped, both would fail to connect.
    const db = await emptyDb();
    const r = await f.restore(["--to", f.url(db)]);
    expect(r.code, r.stderr).toBe(0);
    expect(await rowsIn(f, db)).toEqual(await rowsIn(f, "src"));
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });
});

describe("backup health: the dump's size against the previous one", () => {
  it("a database that lost most of its rows: the second backup records the drop and `list` flags it with both sizes", async () => {
    const db = await emptyDb();
    await f.query(db, "CREATE TABLE events (id int PRIMARY KEY, body text)");
    await f.query(db, "INSERT INTO events SELECT i, md5(i::text) || md5((i * 7)::text) || md5((i * 13)::text) FROM generate_series(1, 20000) i");
    const store = path.join(f.dir, `health-${db}`);
    const backup = () => drposture(["backup", "postgres", "--url", f.url(db), "--store", store, "--key-file", f.keyFile, "--asset", "app", "--stack", "prod", "--json"]);
    expect((await backup()).code).toBe(0);
    await f.query(db, "DELETE FROM events WHERE id > 4000");
    expect((await backup()).code).toBe(0);

    const text = await drposture(["list", "--store", store, "--key-file", f.keyFile]);
    expect(text.code).toBe(0);
    const health = /HEALTH neon\/app: backup (\S+) holds (\d+) bytes, down ([\d.]+)% from (\d+) in backup (\S+) \(alert above 50%\)/.exec(text.stdout);
    expect(health, text.stdout).not.toBeNull();
    const [, newer, now, drop, before, older] = health as unknown as string[];
    expect(Number(drop)).toBeGreaterThan(50);
    expect(Number(now)).toBeLessThan(Number(before) / 2);
    expect(newer! > older!).toBe(true);

    const json = JSON.parse((await drposture(["list", "--store", store, "--key-file", f.keyFile, "--json"])).stdout) as Array<{ backupId: string; health?: { bytes: number; warnings: string[] } }>;
    expect(json.map((r) => r.health?.bytes)).toEqual([Number(before), Number(now)]);
    expect(json.map((r) => r.health?.warnings.length)).toEqual([0, 1]);
  });
});
