/**
 * What the Neon stand-in (STAND-IN, NOT NEON: lib/local/neonStandin*.ts) enforces for the restore
 * test, checked with the real @neondatabase/serverless driver over real HTTP and the documented
 * API calls: the SQL endpoint authenticates by the connection string, a read_only endpoint
 * refuses every write, a batch runs read-only when asked, errors come back in Neon's shape, and
 * DELETE of a branch follows Neon's rules (not the default branch, 423 while an operation runs,
 * the deleted branch's endpoint and data gone).
 */
import { neon as neonSql, neonConfig, NeonDbError } from "@neondatabase/serverless";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { neonHttpReader } from "../../lib/integrity/neonHttp";
import { postgresChecks } from "../../lib/integrity/postgresChecks";
import { startNeonStandin, type NeonStandin } from "../../lib/local/neonStandin";
import { runSql, startPgCluster, type PgCluster } from "../../lib/local/postgres";
import { withPgClient } from "../../lib/postgres/client";

const PROJECT = "standin-project-000001";
const MAIN = "br-prod-main";
let pg: PgCluster;
let neon: NeonStandin | undefined;
let serial = 0;

async function standin(operations?: { runningPolls: number }): Promise<NeonStandin> {
  const database = `standin_main_${++serial}`;
  await runSql(pg.url(), [`CREATE DATABASE ${database}`]);
  await runSql(pg.url(database), ["CREATE TABLE users (id serial PRIMARY KEY, email text)", "INSERT INTO users (email) VALUES ('a@example.com')"]);
  neon = await startNeonStandin({ apiKey: "k", projectId: PROJECT, branchId: MAIN, postgres: { url: (db) => pg.url(db), database }, ...(operations ? { operations } : {}) });
  return neon;
}

async function api(n: NeonStandin, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, any> }> {
  const r = await fetch(`${n.url}/projects/${PROJECT}${path}`, { method, headers: { authorization: "Bearer k", "content-type": "application/json" }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: r.status, json: (await r.json()) as Record<string, any> };
}

/** A branch with one endpoint of `type`, and its connection string. */
async function branchWith(n: NeonStandin, type: "read_only" | "read_write"): Promise<{ branchId: string; uri: string }> {
  const created = await api(n, "POST", "/branches", { branch: { parent_id: MAIN }, endpoints: [{ type, suspend_timeout_seconds: 60 }] });
  expect(created.status).toBe(201);
  const branchId = created.json.branch.id as string;
  const ep = created.json.endpoints[0].id as string;
  const uri = await api(n, "GET", `/connection_uri?branch_id=${branchId}&endpoint_id=${ep}&database_name=neondb&role_name=neondb_owner`);
  return { branchId, uri: uri.json.uri as string };
}

const failure = (p: Promise<unknown>) => p.then(() => { throw new Error("expected the query to fail"); }, (e: unknown) => e as NeonDbError);

beforeAll(async () => {
  pg = await startPgCluster();
  neonConfig.fetchEndpoint = () => (neon as NeonStandin).sqlEndpoint;
}, 120_000);
afterEach(async () => {
  await neon?.close();
  neon = undefined;
});
afterAll(async () => {
  await pg?.stop();
});

describe("Neon stand-in SQL endpoint (driven by @neondatabase/serverless)", () => {
  it("serves the branch's copy of the parent's data; a read_only endpoint refuses every write, however it is sent", async () => {
    const n = await standin();
    const { uri } = await branchWith(n, "read_only");
    const sql = neonSql(uri);
    expect(await sql.query("SELECT id, email FROM users")).toEqual([{ id: 1, email: "a@example.com" }]);
    expect((await failure(sql.query("INSERT INTO users (email) VALUES ('x')"))).message).toBe("cannot execute INSERT in a read-only transaction");
    const reopened = await failure(sql.transaction([sql.query("SET transaction_read_only = off"), sql.query("DELETE FROM users")]));
    expect(reopened.message).toBe("transaction read-write mode must be set before any query");
    expect((await failure(sql.query("SELECT 1; DELETE FROM users"))).message).toBe("cannot insert multiple commands into a prepared statement");
    expect(await sql.query("SELECT count(*)::int AS n FROM users")).toEqual([{ n: 1 }]);
  });

  it("on a read_write endpoint, writes go through, and a readOnly transaction() batch is refused them", async () => {
    const n = await standin();
    const { uri } = await branchWith(n, "read_write");
    const sql = neonSql(uri);
    await sql.query("INSERT INTO users (email) VALUES ($1)", ["b@example.com"]);
    const err = await failure(sql.transaction([sql.query("SELECT 1"), sql.query("DELETE FROM users")], { readOnly: true }));
    expect(err).toBeInstanceOf(NeonDbError);
    expect(err.code).toBe("25006");
    expect(await sql.transaction([sql.query("SELECT count(*)::int AS n FROM users")], { readOnly: true, isolationLevel: "RepeatableRead" })).toEqual([[{ n: 2 }]]);
    // The parent's database is untouched by the branch's write.
    const main = n.sql.databases.get(MAIN) as string;
    expect(await withPgClient(pg.url(main), async (c) => (await c.query("SELECT count(*)::int AS n FROM users")).rows[0])).toEqual({ n: 1 });
  });

  it("the integrity checks' HTTP reader runs declared checks read-only even on a read_write endpoint", async () => {
    const n = await standin();
    const { uri } = await branchWith(n, "read_write");
    const results = await postgresChecks(neonHttpReader(uri), [{ name: "sneaky", sql: "SELECT nextval('users_id_seq') AS n", expectRows: 1 }]);
    expect(results.find((c) => c.check === "postgres: sneaky")?.detail).toBe("the query failed: cannot execute nextval() in a read-only transaction");
    expect(await neonSql(uri).query("SELECT last_value::int AS n FROM users_id_seq")).toEqual([{ n: 1 }]);
  });

  it("refuses a wrong password, an unknown database, and errors come back in Neon's shape (code, position)", async () => {
    const n = await standin();
    const { uri } = await branchWith(n, "read_only");
    const wrong = new URL(uri);
    wrong.password = "not-the-password";
    const auth = await failure(neonSql(wrong.toString()).query("SELECT 1"));
    expect(auth.message).toBe("password authentication failed for user 'neondb_owner'");
    expect(auth.code).toBe("28P01");
    const otherDb = new URL(uri);
    otherDb.pathname = "/postgres";
    expect((await failure(neonSql(otherDb.toString()).query("SELECT 1"))).message).toBe('database "postgres" does not exist');
    const syntax = await failure(neonSql(uri).query("SELECT FROM nowhere_at_all"));
    expect(syntax).toMatchObject({ message: 'relation "nowhere_at_all" does not exist', code: "42P01", position: "13" });
    (n.state.endpoints[0] as { disabled: boolean }).disabled = true;
    expect((await failure(neonSql(uri).query("SELECT 1"))).message).toMatch(/^stand-in: endpoint ep-[0-9a-f]+ is disabled$/);
  });
});

describe("Neon stand-in DELETE /branches/{id}", () => {
  it("deletes the branch: its endpoint refuses connections, its database is dropped, its operations can be polled", async () => {
    const n = await standin();
    const { branchId, uri } = await branchWith(n, "read_only");
    const db = n.sql.databases.get(branchId) as string;
    const del = await api(n, "DELETE", `/branches/${branchId}`);
    expect(del.status).toBe(200);
    expect(del.json.operations.map((o: { action: string }) => o.action)).toEqual(["suspend_compute", "delete_timeline"]);
    const polled = await api(n, "GET", `/operations/${del.json.operations[1].id}`);
    expect(polled.json.operation).toMatchObject({ action: "delete_timeline", status: "finished", branch_id: branchId });
    expect((await api(n, "GET", "/operations")).json.operations.length).toBeGreaterThanOrEqual(4);
    expect((await api(n, "GET", `/branches/${branchId}`)).status).toBe(404);
    expect((await failure(neonSql(uri).query("SELECT 1"))).message).toMatch(/^stand-in: endpoint ep-[0-9a-f]+ not found/);
    const left = await withPgClient(pg.url(), async (c) => (await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [db])).rowCount);
    expect(left).toBe(0);
  });

  it("refuses the default branch and a branch with a child (400), and answers 423 while an operation runs", async () => {
    const n = await standin();
    expect(await api(n, "DELETE", `/branches/${MAIN}`)).toMatchObject({ status: 400, json: { message: `branch ${MAIN} is the project's default branch and cannot be deleted` } });
    const { branchId } = await branchWith(n, "read_only");
    const child = await api(n, "POST", "/branches", { branch: { parent_id: branchId, name: "child" } });
    expect((await api(n, "DELETE", `/branches/${branchId}`)).json.message).toBe(`branch ${branchId} has child branch ${child.json.branch.id}; delete it first`);
    n.state.operationBehaviour = { runningPolls: Infinity, runningMs: 0, endStatus: "finished" };
    await api(n, "DELETE", `/branches/${child.json.branch.id}`);
    const locked = await api(n, "DELETE", `/branches/${branchId}`);
    expect(locked.status).toBe(423);
    expect((await api(n, "GET", "/branches")).json.branches.map((b: { id: string }) => b.id)).toEqual([MAIN, branchId]);
  });

  it("validates suspend_timeout_seconds as Neon's API spec does", async () => {
    const n = await standin();
    const bad = await api(n, "POST", "/branches", { branch: { parent_id: MAIN }, endpoints: [{ type: "read_only", suspend_timeout_seconds: 30 }] });
    expect(bad).toMatchObject({ status: 400, json: { message: "suspend_timeout_seconds must be -1, 0, or 60 to 604800" } });
    expect((await api(n, "GET", "/branches")).json.branches).toHaveLength(1);
  });
});
