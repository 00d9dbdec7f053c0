/**
 * The scratch D1 database: emptied by dropping every user object in one batch (foreign keys
 * deferred, so the order cannot trip them); restored by restoreD1 (the CLI's code) from the
 * backup's d1-rows artifacts; read back with the backup's own page reader, so each row is
 * rendered exactly as the dump holds it.
 */
import { openArtifactRange } from "../../lib/backup/artifactRange";
import { openArtifact, readLinesAt } from "../../lib/backup/artifacts";
import { quoteIdent, readPage, readSchema, type PageCursor, type SchemaObject, type SqlReader } from "../../lib/backup/d1Dump";
import { d1Integrity } from "../../lib/integrity/d1";
import { bindingSink, restoreD1, type D1Like } from "../../lib/restore/d1Restore";
import { MAX_PARAMS } from "../../lib/restore/d1Statements";
import type { StepBudget } from "./budget";
import type { PartDone, RestorePart, Resume, ScratchTarget } from "./scratch";

/** The lines of a D1 dump this file looks at (docs/FORMAT.md, d1-rows). */
interface DumpLine {
  t?: string;
  objects?: SchemaObject[];
  dataFrom?: string;
  r?: unknown[];
}

const USER_OBJECTS = "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'";
const DROP_ORDER = ["trigger", "view", "index", "table"];

export const schemaItem = (o: Pick<SchemaObject, "type" | "name" | "sql">) => `schema\0${o.type}\0${o.name}\0${o.sql}`;
export const rowItem = (table: string, row: readonly unknown[]) => `row\0${table}\0${JSON.stringify(row)}`;

const d1Reader = (db: D1Like): SqlReader => ({ all: async (sql, params = []) => (await db.prepare(sql).bind(...params).all()).results as Array<Record<string, unknown>> });

interface VerifyCursor {
  table: number;
  page: PageCursor;
}

/** A D1 binding with each query charged to the budget (a batch: each statement). */
function countedD1(db: D1Like, budget: StepBudget): D1Like {
  return {
    prepare: (sql) => {
      const stmt = db.prepare(sql);
      return {
        bind: (...values) => {
          const bound = stmt.bind(...values);
          return Object.assign(Object.create(Object.getPrototypeOf(bound)), bound, {
            all: () => {
              budget.op();
              return bound.all();
            },
          });
        },
      };
    },
    batch: (stmts) => {
      budget.op(stmts.length);
      return db.batch(stmts);
    },
  };
}

export function scratchD1(db: D1Like, label: string): ScratchTarget {
  return {
    label,
    async empty(budget) {
      const q = countedD1(db, budget);
      const present = (await q.prepare(USER_OBJECTS).bind().all()).results as Array<{ type: string; name: string }>;
      // Virtual tables drop their own shadow tables; those are left to them.
      const list = (await q.prepare("PRAGMA table_list").bind().all()).results as Array<{ name: string; type: string }>;
      const shadow = new Set(list.filter((t) => t.type === "shadow").map((t) => t.name));
      const drops = present
        .filter((o) => DROP_ORDER.includes(o.type) && !shadow.has(o.name))
        .sort((a, b) => DROP_ORDER.indexOf(a.type) - DROP_ORDER.indexOf(b.type))
        .map((o) => db.prepare(`DROP ${o.type.toUpperCase()} IF EXISTS ${quoteIdent(o.name)}`));
      if (drops.length) await q.batch([db.prepare("PRAGMA defer_foreign_keys = ON"), ...drops]);
      const left = (await q.prepare(USER_OBJECTS).bind().all()).results.length;
      return left === 0;
    },

    async restore(p: RestorePart): Promise<PartDone> {
      const q = countedD1(db, p.budget);
      // Where the newest row handed to the restore sits: the next part starts there, inside
      // the artifact (a D1 dump is one artifact however many steps it took).
      let at: { artifact: number; offset: number; first: number } | null = null;
      let schema: DumpLine | null = null;
      let table: DumpLine | null = null;
      async function* lines() {
        const artifacts = p.resolved.manifest.artifacts.filter((x) => x.role === "d1-rows");
        // Resuming: the schema and current table lines stand in for what is skipped.
        for (const l of (p.resume?.context ?? []) as DumpLine[]) {
          if (l.t === "schema") schema = l;
          if (l.t === "table") table = l;
          yield l;
        }
        let item = p.resume?.first ?? 0;
        for (let i = p.resume?.artifact ?? 0; i < artifacts.length; i++) {
          const entry = artifacts[i]!;
          const offset = i === p.resume?.artifact ? (p.resume.offset ?? 0) : 0;
          const stream = offset ? openArtifactRange(p.store, p.master, entry, offset, entry.plaintextBytes - offset) : await openArtifact(p.store, p.master, entry);
          for await (const { value, start } of readLinesAt(stream, offset)) {
            const l = value as DumpLine;
            if (l.t === "schema") {
              schema = l;
              if (p.skip === 0) for (const o of l.objects ?? []) p.expected.add(schemaItem(o));
            } else if (l.t === "table") table = l;
            else if (l.r && table?.dataFrom === "table") at = { artifact: i, offset: start, first: item++ };
            yield value;
          }
        }
      }
      const report = await restoreD1(lines(), bindingSink(q, label), {
        // The first part finds the database empty or refuses; later parts may repeat rows of a
        // retried part, which are then left as they are.
        mode: p.skip === 0 ? "fail" : "skip",
        validateOnly: false,
        window: { skip: p.skip, stop: p.budget.stop, ...(p.resume ? { from: { artifact: p.resume.artifact, first: p.resume.first } } : {}) },
        onD1Row: (table, row) => {
          p.expected.add(rowItem(table, row));
          // Rows are sent in multi-row statements, batched: charged here as the share of a
          // statement each row takes, so the budget sees them before the batch goes out.
          p.budget.op(Math.max(1, row.length) / MAX_PARAMS);
        },
      });
      // The restore stopped at the newest row handed to it; anything else reads from the start.
      const stoppedAt = at as { artifact: number; offset: number; first: number } | null;
      const resume: Resume | null = stoppedAt && report.next === stoppedAt.first ? { ...stoppedAt, context: [schema, table].filter((l) => l !== null) } : null;
      return { report, resume };
    },

    async verify(cursor, budget, actual, _cutoff) {
      const reader = d1Reader(countedD1(db, budget));
      const { objects, tables } = await readSchema(reader);
      const at: VerifyCursor = cursor ? (JSON.parse(cursor) as VerifyCursor) : { table: 0, page: {} };
      if (!cursor) for (const o of objects) actual.add(schemaItem(o));
      const withRows = tables.filter((t) => t.dataFrom === "table");
      while (at.table < withRows.length) {
        if (budget.spent) return JSON.stringify(at);
        const t = withRows[at.table]!;
        const page = await readPage(reader, t, at.page, 500);
        for (const row of page.rows) actual.add(rowItem(t.name, row));
        if (page.next) at.page = page.next;
        else {
          at.table++;
          at.page = {};
        }
      }
      return null;
    },

    integrity: (checks) => d1Integrity(db, checks),
  };
}
