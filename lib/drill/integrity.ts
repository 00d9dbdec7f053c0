/**
 * The checks a runbook runs after a restore, beyond equal data: no orphaned rows (every foreign
 * key resolves), sequences continue where they were, the migration table's last entries are
 * there, full-text search answers. Each returns the problems it found (empty = passed).
 */
import { escapeIdentifier } from "pg";
import { withPgClient } from "../postgres/client";
import type { D1Like } from "../restore/d1Restore";

export interface IntegrityResult {
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
}

export async function postgresIntegrity(url: string): Promise<IntegrityResult[]> {
  return withPgClient(url, async (c) => {
    const out: IntegrityResult[] = [];
    const fks = (
      await c.query<{ child: string; parent: string; cols: string[]; pcols: string[]; name: string }>(`
        SELECT con.conname AS name,
               format('%I.%I', cn.nspname, cl.relname) AS child,
               format('%I.%I', pn.nspname, pl.relname) AS parent,
               array(SELECT attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY i)::text[] AS cols,
               array(SELECT attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY i)::text[] AS pcols
        FROM pg_constraint con
        JOIN pg_class cl ON cl.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = cl.relnamespace
        JOIN pg_class pl ON pl.oid = con.confrelid JOIN pg_namespace pn ON pn.oid = pl.relnamespace
        WHERE con.contype = 'f'`)
    ).rows;
    let orphans = 0;
    for (const fk of fks) {
      const on = fk.cols.map((col, i) => `p.${escapeIdentifier(fk.pcols[i] as string)} = c.${escapeIdentifier(col)}`).join(" AND ");
      const notNull = fk.cols.map((col) => `c.${escapeIdentifier(col)} IS NOT NULL`).join(" AND ");
      const n = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${fk.child} c WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${fk.parent} p WHERE ${on})`)).rows[0]?.n);
      orphans += n;
      if (n) out.push({ check: "postgres: orphaned rows", ok: false, detail: `${n} row(s) of ${fk.child} reference missing ${fk.parent} (${fk.name})` });
    }
    out.push({ check: "postgres: foreign keys resolve", ok: orphans === 0, detail: `${fks.length} foreign key(s), ${orphans} orphaned row(s)` });
    const behind = (
      await c.query<{ seq: string; last: string | null; max: string | null }>(`
        SELECT format('%I.%I', s.schemaname, s.sequencename) AS seq, s.last_value::text AS last,
               (xpath('/row/m/text()', query_to_xml(format('SELECT max(%I) AS m FROM %I.%I', a.attname, tn.nspname, t.relname), false, true, '')))[1]::text AS max
        FROM pg_sequences s
        JOIN pg_class sc ON sc.relname = s.sequencename JOIN pg_namespace sn ON sn.oid = sc.relnamespace AND sn.nspname = s.schemaname
        JOIN pg_depend d ON d.objid = sc.oid AND d.deptype IN ('a', 'i')
        JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid`)
    ).rows.filter((r) => r.max !== null && (r.last === null || BigInt(r.last) < BigInt(r.max as string)));
    out.push({ check: "postgres: sequences continue", ok: behind.length === 0, detail: behind.length ? behind.map((b) => `${b.seq} at ${b.last} < max ${b.max}`).join("; ") : "every owned sequence is at or past its column's max" });
    const mig = await c.query<{ t: string }>("SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables WHERE tablename IN ('schema_migrations', '_prisma_migrations', 'drizzle_migrations', 'knex_migrations') LIMIT 1");
    if (mig.rows[0]) {
      const last = await c.query(`SELECT * FROM ${mig.rows[0].t} ORDER BY 1 DESC LIMIT 2`);
      out.push({ check: "postgres: migration table", ok: last.rowCount !== 0, detail: `${mig.rows[0].t} last entries: ${JSON.stringify(last.rows)}` });
    }
    return out;
  });
}

export async function d1Integrity(db: D1Like): Promise<IntegrityResult[]> {
  const all = async (sql: string) => (await db.prepare(sql).bind().all()).results as Array<Record<string, unknown>>;
  const out: IntegrityResult[] = [];
  const orphans = await all("PRAGMA foreign_key_check");
  out.push({ check: "d1: foreign keys resolve", ok: orphans.length === 0, detail: orphans.length ? `${orphans.length} orphaned row(s): ${JSON.stringify(orphans.slice(0, 3))}` : "PRAGMA foreign_key_check: none" });
  const mig = await all("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'd1_migrations'");
  if (mig.length) {
    const last = await all("SELECT * FROM d1_migrations ORDER BY id DESC LIMIT 2");
    out.push({ check: "d1: migration table", ok: last.length > 0, detail: `d1_migrations last entries: ${JSON.stringify(last)}` });
  }
  for (const fts of await all("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%USING fts5%'")) {
    const q = `"${String(fts.name).replace(/"/g, '""')}"`;
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
