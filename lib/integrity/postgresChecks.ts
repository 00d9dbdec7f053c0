/**
 * The checks a runbook runs on a restored PostgreSQL database, beyond equal data: no orphaned
 * rows (every foreign key resolves), sequences continue where they were, the migration tables
 * say every migration applied (postgresMigrations.ts), and the operator's declared checks.
 * Each returns what it found; ok false = the restore needs attention. Worker-safe: the checks
 * speak to the database only through a PgReader (pgReader.ts).
 */
import { judgeDeclared, refusedDeclared, type DeclaredCheck } from "./declaredChecks";
import { quoteIdent, type PgReader } from "./pgReader";
import { postgresMigrationChecks } from "./postgresMigrations";
import { withoutTrailingSemicolon } from "./readOnlySql";
import { jsonRows, SAMPLE_ROWS, type IntegrityResult } from "./result";

/** A declared check's query may not run longer than this. */
export const CHECK_TIMEOUT_MS = 120_000;

/** A declared check: its row count and first rows, in one read-only transaction. */
async function runDeclared(db: PgReader, check: DeclaredCheck): Promise<IntegrityResult> {
  const inner = withoutTrailingSemicolon(check.sql);
  try {
    const [count, sample] = await db.readOnly(
      [`SELECT count(*) AS n FROM (\n${inner}\n) AS declared_check`, `SELECT * FROM (\n${inner}\n) AS declared_check LIMIT ${SAMPLE_ROWS}`],
      CHECK_TIMEOUT_MS,
    );
    return judgeDeclared("postgres", check, Number(count?.[0]?.n ?? 0), sample ?? []);
  } catch (err) {
    return refusedDeclared("postgres", check, err);
  }
}

interface ForeignKey {
  child: string;
  parent: string;
  cols: string[];
  pcols: string[];
  name: string;
}

async function foreignKeyChecks(db: PgReader): Promise<IntegrityResult[]> {
  const out: IntegrityResult[] = [];
  const fks = await db.rows<ForeignKey>(`
    SELECT con.conname AS name,
           format('%I.%I', cn.nspname, cl.relname) AS child,
           format('%I.%I', pn.nspname, pl.relname) AS parent,
           array(SELECT attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY i)::text[] AS cols,
           array(SELECT attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY i)::text[] AS pcols
    FROM pg_constraint con
    JOIN pg_class cl ON cl.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = cl.relnamespace
    JOIN pg_class pl ON pl.oid = con.confrelid JOIN pg_namespace pn ON pn.oid = pl.relnamespace
    WHERE con.contype = 'f'`);
  const missing = fks.map((fk) => {
    const on = fk.cols.map((col, i) => `p.${quoteIdent(fk.pcols[i] as string)} = c.${quoteIdent(col)}`).join(" AND ");
    const notNull = fk.cols.map((col) => `c.${quoteIdent(col)} IS NOT NULL`).join(" AND ");
    return `FROM ${fk.child} c WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${fk.parent} p WHERE ${on})`;
  });
  // Every key's count in one query: over Neon's HTTP driver each query is a request (a Worker
  // subrequest), so one per key would not scale to a schema with hundreds of keys.
  const counts = new Map<number, number>();
  if (fks.length) {
    const all = missing.map((m, i) => `(SELECT ${i} AS i, count(*) AS n ${m})`).join("\nUNION ALL\n");
    for (const r of await db.rows<{ i: number; n: string }>(all)) counts.set(Number(r.i), Number(r.n));
  }
  let orphans = 0;
  for (const [i, fk] of fks.entries()) {
    const n = counts.get(i) ?? 0;
    orphans += n;
    if (n) {
      const sample = await db.rows(`SELECT c.* ${missing[i]} LIMIT ${SAMPLE_ROWS}`);
      out.push({ check: `postgres: orphaned rows ${fk.child} (${fk.name})`, ok: false, rows: n, sample: jsonRows(sample), detail: `${n} row(s) of ${fk.child} reference missing ${fk.parent} (${fk.name})` });
    }
  }
  out.push({ check: "postgres: foreign keys resolve", ok: orphans === 0, rows: orphans, detail: `${fks.length} foreign key(s), ${orphans} orphaned row(s)` });
  return out;
}

async function sequenceCheck(db: PgReader): Promise<IntegrityResult> {
  const behind = (
    await db.rows<{ seq: string; last: string | null; max: string | null }>(`
      SELECT format('%I.%I', s.schemaname, s.sequencename) AS seq, s.last_value::text AS last,
             (xpath('/row/m/text()', query_to_xml(format('SELECT max(%I) AS m FROM %I.%I', a.attname, tn.nspname, t.relname), false, true, '')))[1]::text AS max
      FROM pg_sequences s
      JOIN pg_class sc ON sc.relname = s.sequencename JOIN pg_namespace sn ON sn.oid = sc.relnamespace AND sn.nspname = s.schemaname
      JOIN pg_depend d ON d.objid = sc.oid AND d.deptype IN ('a', 'i')
      JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid`)
  ).filter((r) => r.max !== null && (r.last === null || BigInt(r.last) < BigInt(r.max as string)));
  return {
    check: "postgres: sequences continue",
    ok: behind.length === 0,
    rows: behind.length,
    sample: jsonRows(behind),
    detail: behind.length ? behind.map((b) => `${b.seq} at ${b.last} < max ${b.max}`).join("; ") : "every owned sequence is at or past its column's max",
  };
}

/** Every built-in check, then the declared ones, in the order `drposture integrity` prints them. */
export async function postgresChecks(db: PgReader, declared: readonly DeclaredCheck[] = []): Promise<IntegrityResult[]> {
  const out = await foreignKeyChecks(db);
  out.push(await sequenceCheck(db));
  out.push(...(await postgresMigrationChecks(db)));
  for (const check of declared) out.push(await runDeclared(db, check));
  return out;
}
