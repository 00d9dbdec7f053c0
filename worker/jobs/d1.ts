/**
 * D1 backup: a logical dump (lib/backup/d1Dump.ts).
 * Consistency: a Worker cannot hold a read transaction across queries, but a D1 batch runs as
 * one transaction. A database up to `d1SnapshotBytes` is therefore read whole in one batch: a
 * true point-in-time snapshot. A larger one is read page by page over as many steps as its
 * budget needs (cursor = table, rowid); each page is consistent, the dump as a whole reflects
 * the database during the backup window, and the manifest says so ("paged").
 */
import { decodeRows, readPage, readSchema, readSequences, selectAllSql, SEQUENCE_SQL, type DumpTable, type PageCursor, type SchemaObject, type SqlReader } from "../../lib/backup/d1Dump";
import type { ByteSink } from "../../lib/backup/artifacts";
import type { BackupJob, JobContext } from "../engine/job";

interface Cursor {
  table: number;
  page: PageCursor;
}

interface Details {
  snapshot: boolean;
  sizeBytes: number;
  objects: SchemaObject[];
  tables: DumpTable[];
}

function database(ctx: JobContext): D1Database {
  const db = ctx.env[ctx.asset.binding ?? ""] as D1Database | undefined;
  if (!db) throw new Error(`D1 binding ${ctx.asset.binding} for ${ctx.asset.name} is not bound to the Worker`);
  return db;
}

function reader(db: D1Database | D1DatabaseSession): SqlReader {
  return { all: async (sql, params = []) => (await db.prepare(sql).bind(...params).all()).results as Array<Record<string, unknown>> };
}

const tableLine = (t: DumpTable, continued = false) => ({
  t: "table",
  name: t.name,
  columns: t.columns,
  // The row key, so an overwrite restore into a SQL file upserts on it.
  pkColumns: t.pkColumns,
  virtual: t.virtual,
  dataFrom: t.dataFrom,
  ...(continued ? { continued: true } : {}),
});

/** The whole database in one batch (one transaction). */
async function writeSnapshot(db: D1Database, d: Details, out: ByteSink): Promise<number> {
  const dataTables = d.tables.filter((t) => t.dataFrom === "table");
  const hasSequence = d.objects.some((o) => o.name === "sqlite_sequence") || (await db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").first()) !== null;
  const results = await db.batch([...dataTables.map((t) => db.prepare(selectAllSql(t))), ...(hasSequence ? [db.prepare(SEQUENCE_SQL)] : [])]);
  let rows = 0;
  for (const t of d.tables) {
    await out.line(tableLine(t));
    const i = dataTables.indexOf(t);
    if (i < 0) continue;
    for (const r of decodeRows((results[i]?.results ?? []) as Array<Record<string, unknown>>, t.columns)) {
      await out.line({ r });
      rows++;
    }
  }
  const seq = hasSequence ? ((results.at(-1)?.results ?? []) as Array<{ name: string; seq: string }>).map((r) => [r.name, r.seq]) : [];
  await out.line({ t: "sequence", rows: seq });
  await out.line({ t: "end", tables: d.tables.length });
  return rows;
}

/** Pages from the cursor until the step's budget is spent; null when the dump is complete. */
async function writePages(ctx: JobContext, db: SqlReader, d: Details, cursor: Cursor, out: ByteSink): Promise<{ at: Cursor | null; rows: number }> {
  const { opsPerStep, bytesPerStep, d1PageRows } = ctx.plan.limits;
  let ops = 0;
  let rows = 0;
  const start = out.written;
  let at: Cursor = cursor;
  while (ops < opsPerStep && out.written - start < bytesPerStep) {
    const table = d.tables[at.table];
    if (!table) {
      await out.line({ t: "sequence", rows: await readSequences(db) });
      await out.line({ t: "end", tables: d.tables.length });
      return { at: null, rows };
    }
    const fresh = at.page.afterRowid === undefined && at.page.offset === undefined;
    await out.line(tableLine(table, !fresh));
    if (table.dataFrom !== "table") {
      at = { table: at.table + 1, page: {} };
      continue;
    }
    let page: PageCursor | null = at.page;
    while (page && ops < opsPerStep && out.written - start < bytesPerStep) {
      const p = await readPage(db, table, page, d1PageRows);
      ops++;
      for (const r of p.rows) await out.line({ r });
      rows += p.rows.length;
      page = p.next;
    }
    at = page ? { table: at.table, page } : { table: at.table + 1, page: {} };
  }
  return { at, rows };
}

export const d1Job: BackupJob<Cursor, Details> = {
  async start(ctx) {
    const db = database(ctx);
    // D1 reports the database size in every result's metadata.
    const probe = await db.prepare("SELECT 1").run();
    const sizeBytes = Number((probe.meta as { size_after?: number }).size_after ?? Number.MAX_SAFE_INTEGER);
    const { objects, tables } = await readSchema(reader(db));
    return {
      cursor: { table: 0, page: {} },
      mode: "logical",
      details: { snapshot: sizeBytes <= ctx.plan.limits.d1SnapshotBytes, sizeBytes, objects, tables },
    };
  },

  async step(ctx, cursor, d) {
    const db = database(ctx);
    let next: Cursor | null = null;
    let rows = 0;
    await ctx.writeArtifact(`rows-${String(ctx.step).padStart(5, "0")}`, "d1-rows", async (out) => {
      if (ctx.step === 1) await out.line({ t: "schema", objects: d.objects });
      if (d.snapshot) {
        rows = await writeSnapshot(db, d, out);
        return;
      }
      const r = await writePages(ctx, reader(db.withSession("first-primary")), d, cursor, out);
      next = r.at;
      rows = r.rows;
    });
    return { cursor: next, details: d, counts: { rows } };
  },

  async finish(_ctx, d) {
    return {
      details: {
        consistency: d.snapshot ? "snapshot" : "paged",
        sizeBytes: d.sizeBytes,
        tables: d.tables.map((t) => ({ name: t.name, virtual: t.virtual, dataFrom: t.dataFrom })),
      },
    };
  },
};
