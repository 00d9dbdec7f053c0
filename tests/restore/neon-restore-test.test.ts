/**
 * The Neon point-in-time restore test (lib/neon/restoreTest.ts) against the Neon stand-in
 * (STAND-IN, NOT NEON: lib/local/neonStandin*.ts) backed by a real PostgreSQL 15 cluster, with
 * the real @neondatabase/serverless driver speaking real HTTP to the stand-in's SQL endpoint.
 * The stand-in cannot replay WAL: a branch serves the newest state a test recorded at or before
 * its parent_timestamp (recordPointInTime), else the parent's data at branch creation.
 */
import { neonConfig } from "@neondatabase/serverless";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { PlanAsset } from "../../lib/backup/plan";
import type { DeclaredCheck } from "../../lib/integrity/declaredChecks";
import { startNeonStandin, type NeonStandin } from "../../lib/local/neonStandin";
import { runSql, startPgCluster, type PgCluster } from "../../lib/local/postgres";
import { WINDOW_EDGE_MARGIN_MS, runNeonRestoreTest } from "../../lib/neon/restoreTest";
import { withPgClient } from "../../lib/postgres/client";
import { APP_SCHEMA } from "../helpers/appSchema";

let pg: PgCluster;
let neon: NeonStandin | undefined;
let dbSerial = 0;

const PROJECT = "standin-project-000001";
const MAIN = "br-prod-main";
const ASSET: PlanAsset = { kind: "neon", name: "prod-db", sourceId: PROJECT, rpoMinutes: 60, cron: "0 * * * *", priority: 1, rtoMinutes: 30 };
const DECLARED: DeclaredCheck[] = [
  { name: "sessions-have-users", sql: "SELECT s.id, s.user_id FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE u.id IS NULL", expectRows: 0 },
  { name: "users-exist", sql: "SELECT id FROM users;", minRows: 1 },
];
const APP = [
  ...APP_SCHEMA,
  `CREATE TABLE "_prisma_migrations" ("id" VARCHAR(36) PRIMARY KEY, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ, "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0)`,
  `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at) VALUES
    ('ffffffff-0000-4000-8000-000000000001', 'c1', '20240101_init', '2024-01-01', '2024-01-01 00:00:01')`,
];
const FAILED_MIGRATION = `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at, logs) VALUES
  ('00000000-0000-4000-8000-000000000002', 'c2', '20240301_bad', '2024-03-01', NULL, 'ERROR: column exists')`;

/** A stand-in whose default branch holds a fresh database built by `statements`. */
async function standin(statements: string[], opts: { historyRetentionSeconds?: number } = {}): Promise<NeonStandin> {
  const database = `prod_${++dbSerial}`;
  await runSql(pg.url(), [`CREATE DATABASE ${database}`]);
  await runSql(pg.url(database), statements);
  neon = await startNeonStandin({ apiKey: "neon-key", projectId: PROJECT, branchId: MAIN, historyRetentionSeconds: opts.historyRetentionSeconds ?? 86_400, postgres: { url: (db) => pg.url(db), database } });
  return neon;
}

const plan = (n: NeonStandin) => ({ projectId: PROJECT, branchId: MAIN, apiUrl: n.url, restoreWindowDays: 7 });

/** The branches Neon (here: the stand-in) lists, through its API. */
async function branchesOf(n: NeonStandin): Promise<string[]> {
  const r = await fetch(`${n.url}/projects/${PROJECT}/branches`, { headers: { authorization: "Bearer neon-key" } });
  return ((await r.json()) as { branches: Array<{ id: string }> }).branches.map((b) => b.id);
}

/** Databases in the cluster that back stand-in branches (dropped with their branch). */
const branchDatabases = () => withPgClient(pg.url(), async (c) => (await c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'standin_br_%'")).rows.map((r) => r.datname));

beforeAll(async () => {
  pg = await startPgCluster();
  // The driver's documented option for a non-Neon host: every query goes to the stand-in.
  neonConfig.fetchEndpoint = () => (neon as NeonStandin).sqlEndpoint;
}, 120_000);
afterEach(async () => {
  await neon?.close();
  neon = undefined;
});
afterAll(async () => {
  await pg?.stop();
});

describe("Neon restore test (against the stand-in)", () => {
  it("passes on a good database: a read_only branch at a point inside the window, checked over HTTP, then deleted", async () => {
    const n = await standin(APP);
    const now = new Date();
    const r = await runNeonRestoreTest({ neon: plan(n), apiKey: "neon-key", asset: ASSET, checks: DECLARED, now });
    expect(r.error).toBeUndefined();
    expect(r.passed).toBe(true);
    expect(r.integrity.map((c) => `${c.ok ? "ok" : "FAIL"} ${c.check}`)).toEqual([
      "ok postgres: foreign keys resolve",
      "ok postgres: sequences continue",
      "ok postgres: migrations public._prisma_migrations",
      "ok postgres: sessions-have-users",
      "ok postgres: users-exist",
    ]);
    expect(r).toMatchObject({ asset: "prod-db", rtoTargetSeconds: 1800 });
    expect(r.seconds).toBeGreaterThan(0);
    const t = Date.parse(r.pointInTime);
    expect(t).toBeGreaterThanOrEqual(now.getTime() - 86_400_000 + WINDOW_EDGE_MARGIN_MS - 1000);
    expect(t).toBeLessThanOrEqual(now.getTime() - WINDOW_EDGE_MARGIN_MS);
    const create = n.state.requests.find((q) => q.method === "POST" && q.path.endsWith("/branches"));
    expect(create?.body).toEqual({
      branch: { parent_id: MAIN, name: expect.stringMatching(/^drposture-restore-test-\d{8}T\d{6}Z$/), parent_timestamp: r.pointInTime },
      endpoints: [{ type: "read_only", suspend_timeout_seconds: 60 }],
    });
    expect(n.state.requests.some((q) => q.method === "DELETE" && q.path === `/projects/${PROJECT}/branches/${r.branchId}`)).toBe(true);
    expect(await branchesOf(n)).toEqual([MAIN]);
    expect(await branchDatabases()).toEqual([]);
  });

  it("serves the data as of parent_timestamp (recorded history): passes before a bad migration, fails after it", async () => {
    const n = await standin(APP);
    const now = new Date();
    await n.sql.recordPointInTime(new Date(now.getTime() - 3 * 3_600_000));
    await runSql(pg.url([...n.sql.databases.values()][0]), [FAILED_MIGRATION]);
    await n.sql.recordPointInTime(new Date(now.getTime() - 3_600_000));
    // random r picks earliest + r * (latest - earliest): aim at 2 h ago, then at 30 min ago.
    const earliest = now.getTime() - 86_400_000 + WINDOW_EDGE_MARGIN_MS;
    const latest = now.getTime() - WINDOW_EDGE_MARGIN_MS;
    const aim = (msAgo: number) => () => (now.getTime() - msAgo - earliest) / (latest - earliest);
    const before = await runNeonRestoreTest({ neon: plan(n), apiKey: "neon-key", asset: ASSET, checks: DECLARED, now, random: aim(2 * 3_600_000) });
    expect(before.passed).toBe(true);
    const after = await runNeonRestoreTest({ neon: plan(n), apiKey: "neon-key", asset: ASSET, checks: DECLARED, now: new Date(now.getTime() + 1000), random: aim(30 * 60_000) });
    expect(after.passed).toBe(false);
    expect(after.integrity.find((c) => !c.ok)?.check).toBe("postgres: migrations public._prisma_migrations");
    expect(await branchesOf(n)).toEqual([MAIN]);
  });

  it("fails on a failed _prisma_migrations row, naming it with its row, and still deletes the branch", async () => {
    const n = await standin([...APP, FAILED_MIGRATION]);
    const r = await runNeonRestoreTest({ neon: plan(n), apiKey: "neon-key", asset: ASSET, checks: DECLARED, now: new Date() });
    expect(r.passed).toBe(false);
    expect(r.error).toBeUndefined();
    const failed = r.integrity.filter((c) => !c.ok);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ check: "postgres: migrations public._prisma_migrations", rows: 1, detail: "1 failed migration(s): 20240301_bad (finished_at NULL)" });
    expect(failed[0]?.sample?.[0]).toMatchObject({ migration_name: "20240301_bad", logs: "ERROR: column exists" });
    expect(r.branchId).toMatch(/^br-/);
    expect(await branchesOf(n)).toEqual([MAIN]);
    expect(await branchDatabases()).toEqual([]);
  });

  it("fails when a declared check fails, naming it with its row count and sample rows, and deletes the branch", async () => {
    const n = await standin([...APP, "INSERT INTO sessions (user_id) VALUES (101), (102), (103)"]);
    const r = await runNeonRestoreTest({ neon: plan(n), apiKey: "neon-key", asset: ASSET, checks: DECLARED, now: new Date() });
    expect(r.passed).toBe(false);
    const c = r.integrity.find((x) => x.check === "postgres: sessions-have-users");
    expect(c).toMatchObject({ ok: false, rows: 3, detail: "3 row(s), expected 0" });
    expect(c?.sample).toEqual([
      { id: 3, user_id: 101 },
      { id: 4, user_id: 102 },
      { id: 5, user_id: 103 },
    ]);
    expect(await branchesOf(n)).toEqual([MAIN]);
  });

  it("fails on orphaned rows, naming the broken foreign key among several, with samples", async () => {
    const n = await standin([
      ...APP,
      "CREATE TABLE comments (id serial PRIMARY KEY, post_id int NOT NULL REFERENCES posts(id), author_id int REFERENCES users(id))",
      "INSERT INTO comments (post_id, author_id) VALUES (1, 1), (2, NULL)",
      "SET session_replication_role = replica",
      "INSERT INTO comments (id, post_id, author_id) VALUES (10, 99, 1)",
      "SET session_replication_role = origin",
      "SELECT setval('comments_id_seq', 10)",
    ]);
    const r = await runNeonRestoreTest({ neon: plan(n), apiKey: "neon-key", asset: ASSET, checks: [], now: new Date() });
    expect(r.passed).toBe(false);
    expect(r.integrity.filter((c) => !c.ok)).toEqual([
      { check: "postgres: orphaned rows public.comments (comments_post_id_fkey)", ok: false, rows: 1, sample: [{ id: 10, post_id: 99, author_id: 1 }], detail: "1 row(s) of public.comments reference missing public.posts (comments_post_id_fkey)" },
      { check: "postgres: foreign keys resolve", ok: false, rows: 1, detail: "3 foreign key(s), 1 orphaned row(s)" },
    ]);
    expect(await branchesOf(n)).toEqual([MAIN]);
  });

  it("refuses a write attempted by a declared check (read-only transaction on a read-only endpoint): the check fails", async () => {
    const n = await standin(APP);
    const sneaky: DeclaredCheck[] = [
      { name: "sneaky-nextval", sql: "SELECT nextval('users_id_seq') AS n", expectRows: 1 },
      { name: "sneaky-cte", sql: "WITH gone AS (DELETE FROM users RETURNING id) SELECT id FROM gone", expectRows: 0 },
    ];
    const r = await runNeonRestoreTest({ neon: plan(n), apiKey: "neon-key", asset: ASSET, checks: sneaky, now: new Date() });
    expect(r.passed).toBe(false);
    expect(r.integrity.find((c) => c.check === "postgres: sneaky-nextval")?.detail).toBe("the query failed: cannot execute nextval() in a read-only transaction");
    expect(r.integrity.find((c) => c.check === "postgres: sneaky-cte")?.detail).toMatch(/^the query failed: (cannot execute DELETE in a read-only transaction|WITH clause containing a data-modifying statement must be at the top level)/);
    expect(await branchesOf(n)).toEqual([MAIN]);
  });

  it("a branch-create refusal (point in time no longer in Neon's history) → passed:false with the API's message, nothing left behind", async () => {
    const n = await standin(APP);
    // Someone shortens the retention between our GET /projects and our POST /branches.
    const racing: typeof fetch = async (input, init) => {
      if (init?.method === "POST" && String(input).endsWith("/branches")) n.state.historyRetentionSeconds = 600;
      return fetch(input, init);
    };
    const r = await runNeonRestoreTest({ neon: plan(n), apiKey: "neon-key", asset: ASSET, checks: DECLARED, now: new Date(), fetch: racing, random: () => 0 });
    expect(r.passed).toBe(false);
    expect(r.branchId).toBeNull();
    expect(r.error).toBe(`Neon API POST /projects/${PROJECT}/branches: HTTP 400: parent_timestamp is outside the history retention window`);
    expect(r.integrity).toEqual([]);
    expect(await branchesOf(n)).toEqual([MAIN]);
    expect(await branchDatabases()).toEqual([]);
  });

  it("a branch that cannot be deleted is named in the error", async () => {
    const n = await standin(APP);
    const noDelete: typeof fetch = async (input, init) =>
      init?.method === "DELETE" ? new Response(JSON.stringify({ code: "", message: "internal error" }), { status: 500 }) : fetch(input, init);
    const r = await runNeonRestoreTest({ neon: plan(n), apiKey: "neon-key", asset: ASSET, checks: DECLARED, now: new Date(), fetch: noDelete });
    expect(r.passed).toBe(false);
    expect(r.integrity.every((c) => c.ok)).toBe(true);
    expect(r.error).toBe(
      `restore-test branch ${r.branchId} (${n.state.branches[1]?.name}) was left behind: Neon API DELETE /projects/${PROJECT}/branches/${r.branchId}: HTTP 500: internal error; delete it with DELETE /projects/${PROJECT}/branches/${r.branchId}`,
    );
    expect(await branchesOf(n)).toEqual([MAIN, r.branchId]);
    await fetch(`${n.url}/projects/${PROJECT}/branches/${r.branchId}`, { method: "DELETE", headers: { authorization: "Bearer neon-key" } });
  });

  it("a wrong API key → passed:false with a clear message, no branch", async () => {
    const n = await standin(APP);
    const r = await runNeonRestoreTest({ neon: plan(n), apiKey: "wrong-key", asset: ASSET, checks: DECLARED, now: new Date() });
    expect(r).toMatchObject({ passed: false, branchId: null, pointInTime: "", integrity: [] });
    expect(r.error).toBe(`Neon API GET /projects/${PROJECT}: HTTP 401: authentication required; the Neon API key was refused (is NEON_API_KEY current?)`);
    expect(await branchesOf(n)).toEqual([MAIN]);
  });

  it("a window too short to test → passed:false saying so, no branch", async () => {
    const n = await standin(APP, { historyRetentionSeconds: 300 });
    const r = await runNeonRestoreTest({ neon: plan(n), apiKey: "neon-key", asset: ASSET, checks: DECLARED, now: new Date() });
    expect(r).toMatchObject({ passed: false, branchId: null });
    expect(r.error).toContain("the restore window (300 s of history on Neon, 7 day(s) declared) leaves no point in time to test");
    expect(n.state.requests.some((q) => q.method === "POST")).toBe(false);
  });
});
