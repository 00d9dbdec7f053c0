/**
 * D1 restore from a logical dump (docs/FORMAT.md, d1-rows): tables first, then rows, then
 * indexes, views and triggers (so triggers do not fire on restored rows), then AUTOINCREMENT
 * counters and FTS rebuilds. Values are bound with the type they had: integers and reals are
 * cast from their exact text, BLOBs bound as bytes.
 * Sinks: a D1 binding (Worker, Miniflare, `wrangler dev` state) or a SQL file for
 * `wrangler d1 execute <db> --remote --file`.
 */
import { createWriteStream, existsSync } from "node:fs";
import { fromBase64, toHex } from "../format/bytes";
import { quoteIdent, type DumpValue, type SchemaObject } from "../backup/d1Dump";
import { RestoreRefusedError, type RestoreOptions, type RestoreReport } from "./modes";

export interface Stmt {
  readonly sql: string;
  readonly params: unknown[];
  /** The same statement with values inlined (for SQL files). */
  readonly literal: string;
}

export interface D1Sink {
  readonly label: string;
  /** User tables, views, indexes and triggers present in the target. */
  objects(): Promise<Array<{ type: string; name: string }>>;
  execute(stmts: readonly Stmt[]): Promise<void>;
  close?(): Promise<void>;
}

/** Statements per D1 batch, and bound parameters per statement (D1 allows 100). */
const BATCH = 100;
const MAX_PARAMS = 100;
const INTERNAL = /^(sqlite_|_cf_)/;

function literalOf(v: DumpValue): string {
  if (v === null) return "NULL";
  if (typeof v === "string") return `'${v.replace(/'/g, "''")}'`;
  if ("i" in v) return v.i;
  if ("f" in v) return v.f === "Inf" ? "9e999" : v.f === "-Inf" ? "-9e999" : /[.eE]|nan|inf/i.test(v.f) ? v.f : `${v.f}.0`;
  return `X'${toHex(fromBase64(v.b))}'`;
}

function bound(v: DumpValue): { expr: string; param?: unknown } {
  if (v === null) return { expr: "NULL" };
  if (typeof v === "string") return { expr: "?", param: v };
  if ("i" in v) return { expr: "CAST(? AS INTEGER)", param: v.i };
  if ("f" in v) return { expr: "CAST(? AS REAL)", param: v.f === "Inf" ? "9e999" : v.f === "-Inf" ? "-9e999" : v.f };
  return { expr: "?", param: fromBase64(v.b) };
}

/** One INSERT for several rows of a table (as many as fit in D1's parameter limit). */
export function insertStmt(table: string, columns: readonly string[], rows: ReadonlyArray<readonly DumpValue[]>, verb: string): Stmt {
  const head = `${verb} INTO ${quoteIdent(table)} (${columns.map(quoteIdent).join(", ")}) VALUES`;
  const bounds = rows.map((row) => row.map(bound));
  const literal = `${head} ${rows.map((row) => `(${row.map(literalOf).join(", ")})`).join(", ")};`;
  const params = bounds.flatMap((parts) => parts.filter((p) => "param" in p).map((p) => p.param));
  // A row too wide for D1's parameter limit goes in as literals.
  if (params.length > MAX_PARAMS) return { sql: literal.slice(0, -1), params: [], literal };
  return {
    sql: `${head} ${bounds.map((parts) => `(${parts.map((p) => p.expr).join(", ")})`).join(", ")}`,
    params,
    literal,
  };
}

const paramsOf = (row: readonly DumpValue[]) => row.filter((v) => v !== null).length;

const plain = (sql: string): Stmt => ({ sql, params: [], literal: `${sql};` });

function ifNotExists(o: SchemaObject): string {
  return o.sql.replace(/^CREATE\s+(UNIQUE\s+)?(TEMP\s+|TEMPORARY\s+)?(VIRTUAL\s+)?(TABLE|INDEX|VIEW|TRIGGER)\s+(?!IF\s+NOT\s+EXISTS)/i, (m) => `${m}IF NOT EXISTS `);
}

interface TableLine {
  t: "table";
  name: string;
  columns: string[];
  virtual: boolean;
  dataFrom: "table" | "external-content" | "contentless";
}

/** After the rows: indexes, views and triggers, the AUTOINCREMENT counters, FTS rebuilds. */
function afterRows(ddl: SchemaObject[], objects: SchemaObject[], sequences: Array<[string, string]>, o: RestoreOptions, wanted: (t: string) => boolean): Stmt[] {
  const out = ddl.map((t) => plain(o.mode === "fail" || o.mode === "clear" ? t.sql : ifNotExists(t)));
  for (const [name, seq] of sequences) {
    if (!wanted(name)) continue;
    // sqlite_sequence has no key on name: replace the row the restored inserts created.
    out.push({ sql: "DELETE FROM sqlite_sequence WHERE name = ?", params: [name], literal: `DELETE FROM sqlite_sequence WHERE name = ${literalOf(name)};` });
    out.push({
      sql: "INSERT INTO sqlite_sequence (name, seq) VALUES (?, CAST(? AS INTEGER))",
      params: [name, seq],
      literal: `INSERT INTO sqlite_sequence (name, seq) VALUES (${literalOf(name)}, ${seq});`,
    });
  }
  for (const t of objects.filter((x) => x.type === "table" && /USING\s+fts\d/i.test(x.sql) && /content\s*=\s*'[^']+'/i.test(x.sql) && wanted(x.name))) {
    out.push(plain(`INSERT INTO ${quoteIdent(t.name)}(${quoteIdent(t.name)}) VALUES('rebuild')`));
  }
  return out;
}

export async function restoreD1(lines: AsyncIterable<unknown>, sink: D1Sink, o: RestoreOptions): Promise<RestoreReport> {
  const verb = o.mode === "skip" ? "INSERT OR IGNORE" : o.mode === "overwrite" ? "INSERT OR REPLACE" : "INSERT";
  const details: Record<string, number> = {};
  let objects: SchemaObject[] = [];
  let current: TableLine | null = null;
  let pending: Stmt[] = [];
  let rows: Array<readonly DumpValue[]> = [];
  let rowParams = 0;
  let restored = 0;
  const wanted = (table: string) => !o.only || o.only === table;
  const flushRows = () => {
    if (rows.length && current) pending.push(insertStmt(current.name, current.columns, rows, verb));
    rows = [];
    rowParams = 0;
  };
  const flush = async () => {
    flushRows();
    if (pending.length && !o.validateOnly) await sink.execute([plain("PRAGMA defer_foreign_keys = ON"), ...pending]);
    pending = [];
  };
  const queue = async (s: Stmt) => {
    pending.push(s);
    if (pending.length >= BATCH) await flush();
  };
  const ddl = (types: string[]) => objects.filter((x) => types.includes(x.type) && wanted(x.tbl_name));

  for await (const raw of lines) {
    const line = raw as Record<string, unknown>;
    if (line.t === "schema") {
      objects = line.objects as SchemaObject[];
      if (o.only && !objects.some((x) => x.type === "table" && x.name === o.only)) throw new RestoreRefusedError(`--only ${o.only}: the backup has no table of that name`);
      await prepareTarget(sink, objects, o);
      for (const t of ddl(["table"])) await queue(plain(o.mode === "fail" || o.mode === "clear" ? t.sql : ifNotExists(t)));
      await flush();
    } else if (line.t === "table") {
      flushRows();
      current = line as unknown as TableLine;
      details[current.name] ??= 0;
    } else if (line.r && current && wanted(current.name) && current.dataFrom === "table") {
      const row = line.r as DumpValue[];
      if (rows.length && rowParams + paramsOf(row) > MAX_PARAMS) {
        flushRows();
        if (pending.length >= BATCH) await flush();
      }
      rows.push(row);
      rowParams += paramsOf(row);
      details[current.name] = (details[current.name] ?? 0) + 1;
      restored++;
      if (restored % 500 === 0) o.onProgress?.(restored);
    } else if (line.t === "sequence") {
      await flush();
      for (const stmt of afterRows(ddl(["index", "view", "trigger"]), objects, line.rows as Array<[string, string]>, o, wanted)) await queue(stmt);
      await flush();
    } else if (line.t === "end") {
      await flush();
    }
  }
  await flush();
  o.onProgress?.(restored);
  return { restored, skipped: 0, details, validateOnly: o.validateOnly };
}

/** Applies the mode to the target before anything is written. */
async function prepareTarget(sink: D1Sink, objects: readonly SchemaObject[], o: RestoreOptions): Promise<void> {
  const present = (await sink.objects()).filter((x) => !INTERNAL.test(x.name));
  const mine = new Set(objects.filter((x) => !o.only || x.tbl_name === o.only).map((x) => x.name));
  const clash = o.only ? present.filter((x) => mine.has(x.name)) : present;
  if (o.mode === "fail" && clash.length) {
    throw new RestoreRefusedError(
      `${sink.label} already holds ${clash.length} object(s) (${clash.slice(0, 5).map((x) => `${x.type} ${x.name}`).join(", ")}${clash.length > 5 ? ", ..." : ""}); ` +
        "refusing to overwrite. Restore into an empty database, or choose --mode skip, overwrite or clear.",
    );
  }
  if (o.mode === "clear" && !o.validateOnly) {
    const order = ["trigger", "view", "index", "table"];
    // What is there, plus (for sinks that cannot look, like a SQL file) what the backup creates.
    const names = new Set(clash.map((x) => x.name));
    const ours = objects.filter((x) => (!o.only || x.tbl_name === o.only) && !names.has(x.name));
    const drops = [...clash, ...ours]
      .sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type))
      .filter((x) => order.includes(x.type))
      .map((x) => plain(`DROP ${x.type.toUpperCase()} IF EXISTS ${quoteIdent(x.name)}`));
    if (drops.length) await sink.execute([plain("PRAGMA defer_foreign_keys = ON"), ...drops]);
  }
}

/** A D1 database through its binding API (Worker binding, Miniflare, wrangler dev state). */
export interface D1Like {
  prepare(sql: string): { bind(...values: unknown[]): { all(): Promise<{ results: unknown[] }> } };
  batch(stmts: unknown[]): Promise<unknown>;
}

export function bindingSink(db: D1Like, label: string): D1Sink {
  return {
    label,
    objects: async () =>
      ((await db.prepare("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").bind().all()).results as Array<{ type: string; name: string }>).filter(
        (x) => !/^(sqlite_autoindex_)/.test(x.name),
      ),
    execute: async (stmts) => {
      await db.batch(stmts.map((s) => db.prepare(s.sql).bind(...s.params)));
    },
  };
}

/** A SQL script for `wrangler d1 execute <db> --remote --file <path>`. */
export function sqlFileSink(file: string, mode: RestoreOptions["mode"]): D1Sink {
  if (mode === "fail" && existsSync(file)) throw new RestoreRefusedError(`${file} exists; refusing to overwrite it (choose --mode overwrite)`);
  let out: ReturnType<typeof createWriteStream> | null = null;
  const write = (text: string) =>
    new Promise<void>((resolve, reject) => {
      out ??= createWriteStream(file);
      out.write(text, (err) => (err ? reject(err) : resolve()));
    });
  return {
    label: file,
    objects: async () => [],
    execute: async (stmts) => write(`${stmts.map((s) => s.literal).join("\n")}\n`),
    close: () => new Promise((resolve) => (out ? out.end(() => resolve()) : resolve())),
  };
}
