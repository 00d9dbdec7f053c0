/**
 * The checks a runbook runs on a restored D1 database: foreign keys resolve
 * (PRAGMA foreign_key_check), every FTS5 index matches its content (FTS5's own
 * `INSERT INTO fts(fts) VALUES('integrity-check')`, https://sqlite.org/fts5.html#the_integrity_check_command),
 * the migration tables in applied order, and the operator's declared checks (single SELECTs,
 * refused otherwise: readOnlySql.ts).
 *
 * Migration tables: wrangler's `d1_migrations` (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT
 * UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP), as `wrangler d1 export` writes it
 * (public D1 exports found with the code search), read by applied_at then id; Drizzle's
 * `__drizzle_migrations` (id, hash, created_at) read by created_at; `schema_migrations` (version,
 * and golang-migrate's dirty flag: a migration that failed half-way) read by version.
 */
import type { D1Like } from "../restore/d1Restore";
import { judgeDeclared, refusedDeclared, type DeclaredCheck } from "./declaredChecks";
import { notASingleSelect, withoutTrailingSemicolon } from "./readOnlySql";
import { jsonRows, SAMPLE_ROWS, type IntegrityResult } from "./result";

type Rows = Array<Record<string, unknown>>;

const quote = (name: unknown) => `"${String(name).replace(/"/g, '""')}"`;

async function migrationChecks(all: (sql: string) => Promise<Rows>): Promise<IntegrityResult[]> {
  const out: IntegrityResult[] = [];
  const tables = new Set((await all("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('d1_migrations', '__drizzle_migrations', 'schema_migrations')")).map((r) => String(r.name)));
  if (tables.has("d1_migrations")) {
    const rows = await all("SELECT id, name, applied_at FROM d1_migrations ORDER BY applied_at ASC, id ASC");
    const last = rows[rows.length - 1];
    out.push({ check: "d1: migrations d1_migrations", ok: rows.length > 0, rows: 0, sample: [], detail: last ? `${rows.length} applied, last ${last.name} at ${last.applied_at}` : "the table is empty" });
  }
  if (tables.has("__drizzle_migrations")) {
    const rows = await all("SELECT id, hash, created_at FROM __drizzle_migrations ORDER BY created_at ASC, id ASC");
    const last = rows[rows.length - 1];
    out.push({ check: "d1: migrations __drizzle_migrations", ok: rows.length > 0, rows: 0, sample: [], detail: last ? `${rows.length} applied, last ${last.hash} at ${last.created_at}` : "the table is empty" });
  }
  if (tables.has("schema_migrations")) out.push(await schemaMigrations(all));
  return out;
}

async function schemaMigrations(all: (sql: string) => Promise<Rows>): Promise<IntegrityResult> {
  const columns = (await all("PRAGMA table_info(schema_migrations)")).map((c) => String(c.name));
  const order = columns.includes("version") ? "version" : (columns[0] as string);
  const rows = await all(`SELECT * FROM schema_migrations ORDER BY ${quote(order)} ASC`);
  const dirty = columns.includes("dirty") ? rows.filter((r) => Number(r.dirty) === 1) : [];
  const last = rows[rows.length - 1];
  const check = "d1: migrations schema_migrations";
  if (dirty.length) return { check, ok: false, rows: dirty.length, sample: jsonRows(dirty), detail: `${dirty.length} dirty (failed) migration(s): ${dirty.map((r) => String(r[order])).join(", ")}` };
  return { check, ok: rows.length > 0, rows: 0, sample: [], detail: last ? `${rows.length} applied, last ${String(last[order])}` : "the table is empty" };
}

async function ftsChecks(db: D1Like, all: (sql: string) => Promise<Rows>): Promise<IntegrityResult[]> {
  const out: IntegrityResult[] = [];
  for (const fts of await all("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%USING fts5%'")) {
    const q = quote(fts.name);
    // FTS5's own consistency check: fails if the index does not match the content.
    const problem = await db
      .prepare(`INSERT INTO ${q}(${q}) VALUES('integrity-check')`)
      .bind()
      .all()
      .then(
        () => null,
        (err: Error) => err.message,
      );
    const rows = await all(`SELECT count(*) AS n FROM ${q}`);
    out.push({ check: `d1: full-text index ${String(fts.name)}`, ok: problem === null, detail: problem ?? `integrity-check passed, ${rows[0]?.n} indexed row(s)` });
  }
  return out;
}

async function runDeclared(all: (sql: string) => Promise<Rows>, check: DeclaredCheck): Promise<IntegrityResult> {
  // The config schema refuses these already; checked again here because this runs the SQL.
  const why = notASingleSelect(check.sql);
  if (why) return { check: `d1: ${check.name}`, ok: false, rows: 0, sample: [], detail: `refused: the query ${why}` };
  const inner = withoutTrailingSemicolon(check.sql);
  try {
    const count = await all(`SELECT count(*) AS n FROM (\n${inner}\n) AS declared_check`);
    const sample = await all(`SELECT * FROM (\n${inner}\n) AS declared_check LIMIT ${SAMPLE_ROWS}`);
    return judgeDeclared("d1", check, Number(count[0]?.n ?? 0), sample);
  } catch (err) {
    return refusedDeclared("d1", check, err);
  }
}

export async function d1Integrity(db: D1Like, declared: readonly DeclaredCheck[] = []): Promise<IntegrityResult[]> {
  const all = async (sql: string) => (await db.prepare(sql).bind().all()).results as Rows;
  const out: IntegrityResult[] = [];
  const orphans = await all("PRAGMA foreign_key_check");
  out.push({
    check: "d1: foreign keys resolve",
    ok: orphans.length === 0,
    rows: orphans.length,
    sample: jsonRows(orphans),
    detail: orphans.length ? `${orphans.length} orphaned row(s): ${JSON.stringify(orphans.slice(0, 3))}` : "PRAGMA foreign_key_check: none",
  });
  out.push(...(await migrationChecks(all)));
  out.push(...(await ftsChecks(db, all)));
  for (const check of declared) out.push(await runDeclared(all, check));
  return out;
}
