/**
 * `drposture integrity` as an operator runs it after a restore: on real PostgreSQL 15 and on
 * local D1 (wrangler dev state, and a SQL script loaded into a throwaway D1), with the checks
 * the stack config declares. Exit 0 all pass, 1 any fails (named, with rows and samples),
 * 2 bad usage or config (with the config path), and nothing is written to the database checked.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { openLocalBindings } from "../../lib/local/localBindings";
import { runSql, startPgCluster, type PgCluster } from "../../lib/local/postgres";
import { withPgClient } from "../../lib/postgres/client";
import { APP_SCHEMA } from "../helpers/appSchema";
import { drposture } from "../helpers/cli";
import { backupD1Store } from "../restore/d1Store";
import { ROOT } from "../helpers/program";

let dir: string;
let pg: PgCluster;

const DECLARED = {
  postgres: [
    { name: "sessions-have-users", sql: "SELECT s.id, s.user_id FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE u.id IS NULL", expectRows: 0 },
    { name: "users-exist", sql: "SELECT id FROM users;", minRows: 1 },
  ],
  d1: { "app-db": [{ name: "has-users", sql: "WITH u AS (SELECT id FROM users) -- the rows\nSELECT id FROM u", minRows: 1 }] },
};

function stackFile(stack: string, integrity: unknown): void {
  const doc = YAML.parse(readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, unknown> };
  doc.config["drposture:integrity"] = integrity;
  writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), YAML.stringify(doc));
}

const integrity = (stack: string, ...args: string[]) => drposture(["integrity", "--cwd", dir, "--stack", stack, ...args]);


const PRISMA_TABLE = `CREATE TABLE "_prisma_migrations" ("id" VARCHAR(36) PRIMARY KEY, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ, "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0)`;

async function database(name: string, statements: string[]): Promise<string> {
  await runSql(pg.url(), [`CREATE DATABASE ${name}`]);
  await runSql(pg.url(name), statements);
  return pg.url(name);
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "drposture-integrity-test-"));
  copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  stackFile("itest", DECLARED);
  pg = await startPgCluster();
}, 120_000);
afterAll(async () => {
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("drposture integrity --postgres", () => {
  it("exits 0 on a healthy restored database, listing every check", async () => {
    const url = await database("good", [
      ...APP_SCHEMA,
      PRISMA_TABLE,
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at) VALUES
        ('ffffffff-0000-4000-8000-000000000001', 'c1', '20240101_init', '2024-01-01', '2024-01-01 00:00:01'),
        ('00000000-0000-4000-8000-000000000002', 'c2', '20240201_posts', '2024-02-01', '2024-02-01 00:00:01'),
        ('11111111-0000-4000-8000-000000000003', 'c3', '20240115_tags', '2024-01-15', '2024-01-15 00:00:01')`,
      // A failure that `prisma migrate resolve --rolled-back` and a successful re-run superseded.
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at, rolled_back_at, logs) VALUES
        ('22222222-0000-4000-8000-000000000004', 'c3', '20240115_tags', '2024-01-14', NULL, '2024-01-14 12:00:00', 'ERROR: relation exists')`,
      // Drizzle's table, ids out of applied order: read by created_at.
      "CREATE SCHEMA drizzle",
      "CREATE TABLE drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)",
      "INSERT INTO drizzle.__drizzle_migrations (id, hash, created_at) VALUES (1, 'h-newest', 1734300000000), (2, 'h-oldest', 1734200000000)",
      "SELECT setval('drizzle.__drizzle_migrations_id_seq', 2)",
    ]);
    const r = await integrity("itest", "--postgres", url);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("ok    postgres: foreign keys resolve");
    expect(r.stdout).toContain("ok    postgres: sequences continue");
    expect(r.stdout).toContain("ok    postgres: migrations public._prisma_migrations: 3 applied, last 20240201_posts");
    expect(r.stdout).toContain("ok    postgres: migrations drizzle.__drizzle_migrations: 2 applied, last h-newest at 1734300000000");
    expect(r.stdout).toContain("ok    postgres: sessions-have-users: 0 row(s), expected 0");
    expect(r.stdout).toContain("ok    postgres: users-exist: 2 row(s), expected at least 1");
    expect(r.stdout).toMatch(/all \d+ check\(s\) passed/);
  });

  it("exits 1 on a failed Prisma migration whose random id sorts first (once read as ok)", async () => {
    const url = await database("failedmig", [
      ...APP_SCHEMA,
      PRISMA_TABLE,
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at, logs) VALUES
        ('aaaaaaaa-0000-4000-8000-000000000001', 'c1', '20240101_init', '2024-01-01', '2024-01-01 00:00:01', NULL),
        ('bbbbbbbb-0000-4000-8000-000000000002', 'c2', '20240201_posts', '2024-02-01', '2024-02-01 00:00:01', NULL),
        ('ffffffff-0000-4000-8000-000000000003', 'c3', '20240301_add_index', '2024-03-01', NULL, 'ERROR: could not create unique index')`,
    ]);
    const r = await integrity("itest", "--postgres", url, "--json");
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { ok: boolean; checks: Array<{ name: string; ok: boolean; rows: number; sample: Array<Record<string, unknown>>; detail: string }> };
    expect(doc.ok).toBe(false);
    const mig = doc.checks.find((c) => c.name === "postgres: migrations public._prisma_migrations");
    expect(mig).toMatchObject({ ok: false, rows: 1, detail: "1 failed migration(s): 20240301_add_index (finished_at NULL)" });
    expect(mig?.sample[0]).toMatchObject({ migration_name: "20240301_add_index", finished_at: null });
    // Every other check passed: the failure is the migration, named.
    expect(doc.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(["postgres: migrations public._prisma_migrations"]);
  });

  it("exits 1 on orphaned rows and a sequence behind its column's max, naming both with samples", async () => {
    const url = await database("broken", [
      ...APP_SCHEMA,
      // A restore that loaded rows without their parents (triggers off: FKs not enforced).
      "SET session_replication_role = replica",
      "INSERT INTO posts (id, user_id, body) VALUES (10, 99, 'orphan')",
      "SET session_replication_role = origin",
      "SELECT setval('users_id_seq', 1)",
    ]);
    const r = await integrity("itest", "--postgres", url);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("FAIL  postgres: orphaned rows public.posts (posts_user_id_fkey): 1 row(s) of public.posts reference missing public.users (posts_user_id_fkey)");
    expect(r.stdout).toContain('{"id":10,"user_id":99,"body":"orphan"}');
    expect(r.stdout).toContain("FAIL  postgres: foreign keys resolve");
    expect(r.stdout).toContain("FAIL  postgres: sequences continue: public.users_id_seq at 1 < max 2");
    expect(r.stdout).toMatch(/\n\d+ of \d+ check\(s\) failed\n$/);
  });

  it("exits 1 when a declared check returns rows it must not, with up to five sample rows; writes nothing", async () => {
    const url = await database("declared", [...APP_SCHEMA, "INSERT INTO sessions (user_id) SELECT 100 + g FROM generate_series(1, 7) g"]);
    const r = await integrity("itest", "--postgres", url, "--json");
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { ok: boolean; checks: Array<{ name: string; ok: boolean; rows: number; sample: unknown[]; detail: string }> };
    const c = doc.checks.find((x) => x.name === "postgres: sessions-have-users");
    expect(c).toMatchObject({ ok: false, rows: 7, detail: "7 row(s), expected 0" });
    expect(c?.sample).toHaveLength(5);
    expect(c?.sample[0]).toMatchObject({ user_id: 101 });
    const counts = await withPgClient(url, async (cl) => (await cl.query("SELECT (SELECT count(*) FROM sessions)::int AS s, (SELECT count(*) FROM users)::int AS u")).rows[0]);
    expect(counts).toEqual({ s: 9, u: 2 });
  });

  it("runs a declared Postgres check read-only: a write in it (nextval) fails the check and changes nothing", async () => {
    stackFile("pgwrite", { postgres: [{ name: "sneaky", sql: "SELECT nextval('users_id_seq') AS n", expectRows: 1 }] });
    const url = await database("pgwrite", [...APP_SCHEMA]);
    const r = await integrity("pgwrite", "--postgres", url);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("FAIL  postgres: sneaky: the query failed: cannot execute nextval() in a read-only transaction");
    const n = await withPgClient(url, async (cl) => (await cl.query("SELECT last_value::int AS n FROM users_id_seq")).rows[0]);
    expect(n).toEqual({ n: 2 });
  });
});

describe("drposture integrity --d1", () => {
  let state: string;
  beforeAll(async () => {
    state = path.join(dir, "wrangler-state");
    const b = await openLocalBindings(state, "d1", "app-db-local");
    const db = await b.d1();
    await db.batch([
      db.prepare("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)"),
      db.prepare("CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), body TEXT)"),
      db.prepare("CREATE VIRTUAL TABLE posts_fts USING fts5(body)"),
      db.prepare("INSERT INTO users VALUES (1, 'a@example.com')"),
      db.prepare("INSERT INTO posts VALUES (1, 1, 'hello world')"),
      db.prepare("INSERT INTO posts_fts (rowid, body) VALUES (1, 'hello world')"),
      db.prepare("CREATE TABLE d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)"),
      db.prepare("INSERT INTO d1_migrations (name, applied_at) VALUES ('0002_posts.sql', '2024-02-01 00:00:00'), ('0001_init.sql', '2024-01-01 00:00:00')"),
    ]);
    await b.dispose();
  }, 60_000);

  it("exits 0 on wrangler dev state (local:), with FTS5, d1_migrations in applied order and the declared check", async () => {
    const r = await integrity("itest", "--d1", `local:${state}#app-db-local`, "--asset", "app-db");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("ok    d1: foreign keys resolve");
    expect(r.stdout).toContain("ok    d1: migrations d1_migrations: 2 applied, last 0002_posts.sql at 2024-02-01 00:00:00");
    expect(r.stdout).toContain("ok    d1: full-text index posts_fts: integrity-check passed, 1 indexed row(s)");
    expect(r.stdout).toContain("ok    d1: has-users: 1 row(s), expected at least 1");
  }, 60_000);

  it("exits 0 on the script `drposture restore d1 --to file:` writes from a real backup", async () => {
    const store = await backupD1Store({
      "app-db": [
        "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT)",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), body TEXT)",
        "CREATE VIRTUAL TABLE posts_fts USING fts5(body, content='posts', content_rowid='id')",
        "INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com')",
        "INSERT INTO posts VALUES (1, 1, 'hello world'), (2, 2, 'second; post')",
        "INSERT INTO posts_fts (posts_fts) VALUES ('rebuild')",
        "CREATE TABLE d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)",
        "INSERT INTO d1_migrations (name) VALUES ('0001_init.sql')",
      ],
    });
    const file = path.join(dir, "from-backup.sql");
    const restored = await drposture(["restore", "d1", "--store", store.store, "--key-file", store.keyFile, "--asset", "app-db", "--to", `file:${file}`]);
    expect(restored.code).toBe(0);
    const r = await integrity("itest", "--d1", `file:${file}`, "--asset", "app-db");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("ok    d1: load from-backup.sql");
    expect(r.stdout).toContain("ok    d1: full-text index posts_fts: integrity-check passed");
    expect(r.stdout).toContain("ok    d1: migrations d1_migrations: 1 applied, last 0001_init.sql");
    expect(r.stdout).toContain("ok    d1: has-users: 2 row(s), expected at least 1");
    rmSync(store.base, { recursive: true, force: true });
  }, 180_000);

  it("checks a SQL script (file:) in a throwaway D1: multi-line statements and triggers load; a dirty schema_migrations row and a failing declared check exit 1", async () => {
    const file = path.join(dir, "restored.sql");
    writeFileSync(
      file,
      [
        "PRAGMA defer_foreign_keys=TRUE;",
        "CREATE TABLE users (\n  id INTEGER PRIMARY KEY,\n  email TEXT -- the login; unique\n);",
        "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, note TEXT);",
        "CREATE TRIGGER users_audit AFTER INSERT ON users BEGIN INSERT INTO audit (note) VALUES ('user; added'); END;",
        "INSERT INTO audit (note) VALUES ('line one;\nline two');",
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, dirty INTEGER NOT NULL);",
        "INSERT INTO schema_migrations VALUES (3, 1);",
      ].join("\n"),
    );
    // Its own TMPDIR: the throwaway D1 (restored data) must be gone when the command ends.
    const tmp = mkdtempSync(path.join(dir, "tmp-"));
    const r = await drposture(["integrity", "--cwd", dir, "--stack", "itest", "--d1", `file:${file}`, "--json"], { env: { TMPDIR: tmp } });
    expect(r.code).toBe(1);
    expect(readdirSync(tmp)).toEqual([]);
    const doc = JSON.parse(r.stdout) as { ok: boolean; checks: Array<{ name: string; ok: boolean; rows: number; detail: string }> };
    expect(doc.checks.find((c) => c.name === "d1: load restored.sql")).toMatchObject({ ok: true, rows: 7 });
    expect(doc.checks.find((c) => c.name === "d1: migrations schema_migrations")).toMatchObject({ ok: false, rows: 1, detail: "1 dirty (failed) migration(s): 3" });
    expect(doc.checks.find((c) => c.name === "d1: has-users")).toMatchObject({ ok: false, rows: 0, detail: "0 row(s), expected at least 1" });
    expect(doc.ok).toBe(false);
  }, 60_000);
});

describe("usage and config errors exit 2", () => {
  const cases: Array<[string, unknown, string]> = [
    ["both", { postgres: [{ name: "x", sql: "SELECT 1", expectRows: 0, minRows: 1 }] }, "drposture:integrity.postgres[0].minRows: set exactly one of expectRows and minRows"],
    ["nod1", { d1: { "no-such-db": [{ name: "x", sql: "SELECT 1", minRows: 1 }] } }, "drposture:integrity.d1.no-such-db: is not a D1 asset of this stack (assets.d1 names: app-db)"],
    ["d1write", { d1: { "app-db": [{ name: "x", sql: "SELECT 1; DELETE FROM users", expectRows: 0 }] } }, "drposture:integrity.d1.app-db[0].sql: must be a single statement"],
    ["d1write2", { d1: { "app-db": [{ name: "x", sql: "WITH a AS (SELECT 1) DELETE FROM users", expectRows: 0 }] } }, "drposture:integrity.d1.app-db[0].sql: must only read: DELETE is not allowed in a D1 check"],
    ["dupes", { postgres: [{ name: "x", sql: "SELECT 1", minRows: 1 }, { name: "x", sql: "SELECT 2", minRows: 1 }] }, "drposture:integrity.postgres[1].name: duplicates the check named x"],
  ];
  for (const [stack, config, message] of cases) {
    it(`refuses ${stack} with the config path`, async () => {
      stackFile(stack, config);
      const r = await integrity(stack, "--postgres", "postgres://nobody@127.0.0.1:1/x");
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stdout).toBe("");
    });
  }

  it("refuses no target, two targets, a bad --d1 spec and a D1 state that is not there", async () => {
    expect((await integrity("itest")).stderr).toContain("exactly one of --postgres URL and --d1");
    expect((await integrity("itest", "--postgres", "postgres://x@127.0.0.1:1/x", "--d1", "file:x.sql")).code).toBe(2);
    const bad = await integrity("itest", "--d1", "s3://bucket/x");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--d1 s3://bucket/x: expected local:DIR#DATABASE_ID");
    const missing = await integrity("itest", "--d1", `local:${path.join(dir, "nowhere")}#x`);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no D1 state in");
    const asset = await integrity("itest", "--d1", `file:${path.join(dir, "x.sql")}`, "--asset", "sessions");
    expect(asset.code).toBe(2);
    expect(asset.stderr).toContain("--asset sessions: not a D1 asset of stack itest (D1 assets: app-db)");
    const pgAsset = await integrity("itest", "--postgres", "postgres://x@127.0.0.1:1/x", "--asset", "app-db");
    expect(pgAsset.code).toBe(2);
    expect(pgAsset.stderr).toContain("--asset app-db: not the Postgres asset of stack itest (neon/");
    const notUrl = await integrity("itest", "--postgres", "host=localhost");
    expect(notUrl.code).toBe(2);
    expect(notUrl.stderr).toContain("expected a postgres:// or postgresql:// connection URL");
  });
});
