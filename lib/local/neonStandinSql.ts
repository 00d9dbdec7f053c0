/**
 * STAND-IN, NOT NEON: the SQL-over-HTTP endpoint of the Neon stand-in (lib/local/neonStandin.ts),
 * backed by a local PostgreSQL cluster (lib/local/postgres.ts), and the branches' data.
 *
 * Protocol, as @neondatabase/serverless 1.2.0's `neon()` speaks it (read from its index.mjs,
 * function `neon` / `execute`; https://github.com/neondatabase/serverless/blob/main/CONFIG.md):
 *  - POST {fetchEndpoint}, by default `https://api.<rest of the endpoint host>/sql`; a custom
 *    host is the documented `neonConfig.fetchEndpoint` option ("This may be useful for local
 *    development"), which the stand-in's users set to `${standin.url}/sql`.
 *  - headers `Neon-Connection-String` (the whole postgresql:// URL: role, password, endpoint host,
 *    database), `Neon-Raw-Text-Output: true`, `Neon-Array-Mode: true`; for a batch
 *    (`transaction()`) also `Neon-Batch-Isolation-Level` (ReadUncommitted | ReadCommitted |
 *    RepeatableRead | Serializable), `Neon-Batch-Read-Only`, `Neon-Batch-Deferrable`.
 *  - body `{query, params}` or `{queries: [{query, params}, …]}`; params are text or null.
 *  - answer 200 `{command, rowCount, rows, fields: [{name, dataTypeID, …}], rowAsArray}` (rows as
 *    arrays of text values, which the driver parses by dataTypeID) or `{results: [that, …]}`;
 *    a failure is HTTP 400 `{message, code, severity, detail, hint, position, …}`, from which the
 *    driver builds its NeonDbError (any other status becomes "Server error (HTTP status N)").
 * What the stand-in enforces, as Neon does:
 *  - the endpoint named by the host must exist (a deleted branch's endpoints are gone) and not be
 *    disabled; the role and the password must be the branch's (the driver surfaces Neon's refusal as
 *    "NeonDbError: password authentication failed for user '…'", e.g. neondatabase/website
 *    content/docs/guides/neon-authorize-troubleshooting.md; SQLSTATE 28P01 as PostgreSQL's);
 *    the database must exist (3D000).
 *  - a read_only endpoint (a Neon read replica: a hot standby) refuses every write: each request
 *    runs in a READ ONLY transaction that has taken its snapshot before the caller's first
 *    statement, so `SET transaction_read_only = off` cannot undo it either.
 *  - a batch runs in one transaction with the isolation and read-only mode asked for; each query
 *    goes over the extended protocol (one statement, `…; DELETE …` is refused), as Neon's proxy
 *    sends parameterised queries.
 *  - scale to zero is not modelled: an endpoint answers at once, as an idle Neon compute does once
 *    woken ("When you connect to an idle compute, Neon automatically activates it",
 *    https://neon.com/docs/introduction/compute-lifecycle), so a suspended endpoint is not
 *    refused; a disabled one (Endpoint.disabled, set on `state.endpoints` by a test) is.
 * NOT like Neon: the SQL runs as the local cluster's superuser (the role/password check is done
 * at the HTTP layer), and there is no WAL to replay. A branch's data is a PostgreSQL database
 * copied with CREATE DATABASE … TEMPLATE: from the newest state a test recorded with
 * `recordPointInTime()` at or before the branch's parent_timestamp, or, when none was recorded,
 * from the parent's data as it is at branch creation (not as of parent_timestamp).
 */
import type { IncomingHttpHeaders } from "node:http";
import { Client, type FieldDef } from "pg";
import type { StandinEndpoint } from "./neonStandinBranches";
import { STANDIN_DATABASE, STANDIN_ROLE } from "./neonStandinBranches";

export interface StandinPostgres {
  /** postgres:// URL of a database of the local cluster (lib/local/postgres.ts PgCluster.url). */
  url(database?: string): string;
  /** The database holding the default branch's data. */
  readonly database: string;
}

interface StandinSqlDeps {
  readonly postgres?: StandinPostgres;
  readonly defaultBranchId: string;
  readonly endpoints: StandinEndpoint[];
  readonly passwords: Record<string, string>;
}

/** Neon's error body (the driver copies these fields onto its NeonDbError). */
class SqlError extends Error {
  constructor(message: string, readonly fields: Record<string, unknown> = {}) {
    super(message);
  }
}

const PG_ERROR_FIELDS = ["severity", "code", "detail", "hint", "position", "internalPosition", "internalQuery", "where", "schema", "table", "column", "dataType", "constraint", "file", "line", "routine"] as const;
const ISOLATION: Record<string, string> = { ReadUncommitted: "READ UNCOMMITTED", ReadCommitted: "READ COMMITTED", RepeatableRead: "REPEATABLE READ", Serializable: "SERIALIZABLE" };
/** Values stay the text PostgreSQL sent: the driver parses them itself (Neon-Raw-Text-Output). */
const RAW_TEXT = { getTypeParser: () => (v: string) => v };

interface SqlQuery {
  query: string;
  params?: unknown[];
}

export function standinSql(d: StandinSqlDeps) {
  /** Branch id → its database in the local cluster. */
  const databases = new Map<string, string>();
  if (d.postgres) databases.set(d.defaultBranchId, d.postgres.database);
  const history: Array<{ atMs: number; database: string }> = [];
  let serial = 0;

  async function admin(statements: string[]): Promise<void> {
    const c = new Client({ connectionString: (d.postgres as StandinPostgres).url("postgres") });
    c.on("error", () => undefined);
    await c.connect();
    try {
      for (const s of statements) await c.query(s);
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  function connectionTarget(raw: string | string[] | undefined): { endpoint: StandinEndpoint; database: string } {
    if (typeof raw !== "string") throw new SqlError("missing Neon-Connection-String header", { code: "08P01" });
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new SqlError("Neon-Connection-String is not a valid connection string", { code: "08P01" });
    }
    const epId = url.hostname.split(".")[0]?.replace(/-pooler$/, "");
    const endpoint = d.endpoints.find((e) => e.id === epId);
    if (!endpoint) throw new SqlError(`stand-in: endpoint ${epId} not found (deleted, or never created)`, { code: "XX000" });
    if (endpoint.disabled) throw new SqlError(`stand-in: endpoint ${epId} is disabled`, { code: "XX000" });
    const user = decodeURIComponent(url.username);
    if (user !== STANDIN_ROLE || decodeURIComponent(url.password) !== d.passwords[endpoint.branch_id]) {
      throw new SqlError(`password authentication failed for user '${user}'`, { code: "28P01", severity: "FATAL" });
    }
    const dbName = decodeURIComponent(url.pathname.replace(/^\//, ""));
    if (dbName !== STANDIN_DATABASE) throw new SqlError(`database "${dbName}" does not exist`, { code: "3D000", severity: "FATAL" });
    const database = databases.get(endpoint.branch_id);
    if (!database || !d.postgres) throw new SqlError("stand-in: no PostgreSQL behind this stand-in (start it with `postgres`)", { code: "XX000" });
    return { endpoint, database };
  }

  function view(r: { command: string; rowCount: number | null; rows: unknown[]; fields: FieldDef[] }) {
    const fields = r.fields.map((f) => ({ name: f.name, tableID: f.tableID, columnID: f.columnID, dataTypeID: f.dataTypeID, dataTypeSize: f.dataTypeSize, dataTypeModifier: f.dataTypeModifier, format: "text" }));
    return { command: r.command, rowCount: r.rowCount, rows: r.rows, fields, rowAsArray: true };
  }

  async function run(headers: IncomingHttpHeaders, body: unknown): Promise<unknown> {
    const { endpoint, database } = connectionTarget(headers["neon-connection-string"]);
    const batch = Array.isArray((body as { queries?: unknown })?.queries);
    const queries = (batch ? (body as { queries: SqlQuery[] }).queries : [body as SqlQuery]).filter(Boolean);
    if (!queries.length || queries.some((q) => typeof q?.query !== "string")) throw new SqlError("request body must be {query, params} or {queries: [...]}", { code: "08P01" });
    const readOnly = endpoint.type === "read_only" || (batch && headers["neon-batch-read-only"] === "true");
    const isolation = batch ? ISOLATION[String(headers["neon-batch-isolation-level"])] : undefined;
    const deferrable = batch && headers["neon-batch-deferrable"] === "true";
    const inTransaction = batch || readOnly;
    const c = new Client({ connectionString: (d.postgres as StandinPostgres).url(database), types: RAW_TEXT });
    c.on("error", () => undefined);
    await c.connect();
    try {
      if (inTransaction) {
        await c.query(`BEGIN${isolation ? ` ISOLATION LEVEL ${isolation}` : ""}${readOnly ? " READ ONLY" : ""}${deferrable ? " DEFERRABLE" : ""}`);
        // The snapshot is taken now: read-write mode can no longer be set in this transaction.
        if (readOnly) await c.query("SELECT 1");
      }
      const results = [];
      for (const q of queries) {
        const config = { text: q.query, values: q.params ?? [], rowMode: "array" as const, queryMode: "extended" };
        results.push(view(await c.query(config as unknown as { text: string; values: unknown[]; rowMode: "array" })));
      }
      if (inTransaction) await c.query("COMMIT");
      return batch ? { results } : results[0];
    } catch (err) {
      if (inTransaction) await c.query("ROLLBACK").catch(() => undefined);
      const e = err as Error & Record<string, unknown>;
      throw new SqlError(e.message, Object.fromEntries(PG_ERROR_FIELDS.filter((k) => e[k] !== undefined).map((k) => [k, e[k]])));
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  return {
    /** Answers POST /sql: [status, body] in Neon's shapes. */
    async handle(headers: IncomingHttpHeaders, body: unknown): Promise<[number, unknown]> {
      try {
        return [200, await run(headers, body)];
      } catch (err) {
        if (!(err instanceof SqlError)) throw err;
        return [400, { message: err.message, ...err.fields }];
      }
    },

    /** Records the default branch's data as it is now, as the data of moment `at` (default: now;
     * a test may date it in the past to stand for history): a branch created at a
     * parent_timestamp at or after `at` (and before the next recorded moment) serves it. */
    async recordPointInTime(at: Date = new Date()): Promise<Date> {
      if (!d.postgres) throw new Error("stand-in: no PostgreSQL behind this stand-in");
      const database = `standin_pitr_${++serial}_${at.getTime()}`;
      await admin([`CREATE DATABASE ${database} TEMPLATE ${d.postgres.database}`]);
      history.push({ atMs: at.getTime(), database });
      history.sort((a, b) => a.atMs - b.atMs);
      return at;
    },

    /** Gives a new branch its database (see the header for which data). */
    async branchCreated(b: { id: string; parent_id: string; parent_timestamp?: string }): Promise<void> {
      if (!d.postgres) return;
      const parentDb = databases.get(b.parent_id);
      if (!parentDb) throw new Error(`parent branch ${b.parent_id} has no data in the stand-in`);
      const at = b.parent_timestamp ? Date.parse(b.parent_timestamp) : Number.NaN;
      const recorded = b.parent_id === d.defaultBranchId && !Number.isNaN(at) ? history.filter((h) => h.atMs <= at).pop() : undefined;
      const database = `standin_${b.id.replace(/[^a-z0-9]/g, "_")}`;
      await admin([`CREATE DATABASE ${database} TEMPLATE ${recorded?.database ?? parentDb}`]);
      databases.set(b.id, database);
    },

    async branchDeleted(branchId: string): Promise<void> {
      const database = databases.get(branchId);
      if (!database || !d.postgres || branchId === d.defaultBranchId) return;
      databases.delete(branchId);
      await admin([`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`]);
    },

    /** Branch id → database name, for tests that look behind the stand-in. */
    databases: databases as ReadonlyMap<string, string>,
  };
}
