/**
 * Migration tables read in the order the migrations were APPLIED, and failed ones flagged:
 * a restore that lands before or inside a failed migration must say so.
 *
 * Table shapes (checked against public sources):
 * - Prisma `_prisma_migrations` (id varchar(36) random uuid, checksum, finished_at, migration_name,
 *   logs, rolled_back_at, started_at, applied_steps_count), e.g. the table as `prisma migrate`
 *   creates it in github.com/lamehillbilly/crypto-expense-tracker prisma/migration.sql. The id is
 *   a random uuid, so ordering by it (as the drill used to: `ORDER BY 1`) says nothing; a row with
 *   finished_at NULL is a migration that started and failed, rolled_back_at is set by
 *   `prisma migrate resolve --rolled-back`, and logs hold the failure's output.
 * - Drizzle `__drizzle_migrations` (id serial, hash text, created_at bigint ms), in schema
 *   "drizzle" on Postgres, e.g. github.com/henry-kimani/ftrade
 *   supabase/migrations/20250614195713_remote_schema.sql. Drizzle applies in one transaction and
 *   records no failures; the table is read by created_at.
 * - `schema_migrations` (Rails: version; golang-migrate: version, dirty — dirty = a migration
 *   that failed half-way). Read by version; dirty rows are failures.
 */
import { quoteIdent, type PgReader, type Row } from "./pgReader";
import { jsonRows, type IntegrityResult } from "./result";

interface TableRef {
  readonly schema: string;
  readonly name: string;
  readonly columns: string[];
}

const q = (t: TableRef) => `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;

async function migrationTables(db: PgReader): Promise<TableRef[]> {
  return db.rows<TableRef>(`
    SELECT n.nspname AS schema, cl.relname AS name, array_agg(a.attname::text ORDER BY a.attnum) AS columns
    FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
    JOIN pg_attribute a ON a.attrelid = cl.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE cl.relkind IN ('r', 'p') AND cl.relname IN ('_prisma_migrations', '__drizzle_migrations', 'schema_migrations')
    GROUP BY n.nspname, cl.relname ORDER BY 1, 2`);
}

async function prisma(db: PgReader, t: TableRef): Promise<IntegrityResult> {
  // A row failed unless it finished, was not rolled back and logged nothing — and a failure that
  // a later successful run of the same migration superseded is history, not a problem.
  const rows = await db.rows(`
      SELECT migration_name, started_at, finished_at, rolled_back_at, left(logs, 200) AS logs,
             (finished_at IS NULL OR rolled_back_at IS NOT NULL OR coalesce(logs, '') <> '')
               AND NOT EXISTS (SELECT 1 FROM ${q(t)} later WHERE later.migration_name = m.migration_name
                               AND later.finished_at IS NOT NULL AND later.rolled_back_at IS NULL AND coalesce(later.logs, '') = '') AS failed
      FROM ${q(t)} m ORDER BY finished_at ASC NULLS LAST, started_at ASC`);
  const failed = rows.filter((r) => r.failed).map(({ failed: _f, ...r }) => r);
  const applied = rows.filter((r) => r.finished_at !== null && r.rolled_back_at === null);
  const last = applied[applied.length - 1];
  const where = `${t.schema}._prisma_migrations`;
  if (failed.length) {
    const names = failed.map((r) => `${r.migration_name} (${r.finished_at === null ? "finished_at NULL" : r.rolled_back_at !== null ? "rolled back" : "logged a failure"})`);
    return { check: `postgres: migrations ${where}`, ok: false, rows: failed.length, sample: jsonRows(failed), detail: `${failed.length} failed migration(s): ${names.join(", ")}` };
  }
  return { check: `postgres: migrations ${where}`, ok: rows.length > 0, rows: 0, sample: [], detail: rows.length ? `${applied.length} applied, last ${last?.migration_name}` : "the table is empty" };
}

async function drizzle(db: PgReader, t: TableRef): Promise<IntegrityResult> {
  const rows: Row[] = await db.rows(`SELECT id, hash, created_at FROM ${q(t)} ORDER BY created_at ASC NULLS FIRST, id ASC`);
  const last = rows[rows.length - 1];
  return { check: `postgres: migrations ${t.schema}.__drizzle_migrations`, ok: rows.length > 0, rows: 0, sample: [], detail: last ? `${rows.length} applied, last ${last.hash} at ${last.created_at}` : "the table is empty" };
}

async function schemaMigrations(db: PgReader, t: TableRef): Promise<IntegrityResult> {
  const order = t.columns.includes("version") ? "version" : t.columns[0] as string;
  const rows: Row[] = await db.rows(`SELECT * FROM ${q(t)} ORDER BY ${quoteIdent(order)} ASC`);
  const dirty = t.columns.includes("dirty") ? rows.filter((r) => r.dirty === true) : [];
  const last = rows[rows.length - 1];
  const check = `postgres: migrations ${t.schema}.schema_migrations`;
  if (dirty.length) return { check, ok: false, rows: dirty.length, sample: jsonRows(dirty), detail: `${dirty.length} dirty (failed) migration(s): ${dirty.map((r) => String(r[order])).join(", ")}` };
  return { check, ok: rows.length > 0, rows: 0, sample: [], detail: last ? `${rows.length} applied, last ${String(last[order])}` : "the table is empty" };
}

export async function postgresMigrationChecks(db: PgReader): Promise<IntegrityResult[]> {
  const out: IntegrityResult[] = [];
  for (const t of await migrationTables(db)) {
    if (t.name === "_prisma_migrations") out.push(await prisma(db, t));
    else if (t.name === "__drizzle_migrations") out.push(await drizzle(db, t));
    else out.push(await schemaMigrations(db, t));
  }
  return out;
}
