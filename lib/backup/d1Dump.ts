/**
 * Logical dump of a D1 (SQLite) database as NDJSON, losslessly:
 *   {"t":"schema","objects":[{type,name,tbl_name,sql}...]}   tables, indexes, views, triggers
 *   {"t":"table","name":..,"columns":[..],"rowKey":"rowid"|"pk","virtual":bool}
 *   {"r":[v, v, ...]}                                         one row
 *   {"t":"sequence","rows":[[name, seq], ...]}                 AUTOINCREMENT counters
 *   {"t":"end","tables":n,"rows":n}
 * Values: null, text as a JSON string, integer {"i":"<decimal>"} (exact beyond 2^53), real
 * {"f":"<shortest round-trip decimal>" | "Inf" | "-Inf"} (exact; an integral REAL stays REAL), blob {"b":"<base64>"}. D1 returns
 * integers as JS numbers and Inf as null, so the SELECT converts in SQL before they cross.
 * Virtual tables (FTS5) are dumped through the table itself, never their shadow tables;
 * external-content FTS tables are rebuilt on restore instead.
 */
import { fromHex, toBase64 } from "../format/bytes";

export interface SqlReader {
  all(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
}

export type DumpValue = null | string | { i: string } | { f: string } | { b: string };

export interface SchemaObject {
  type: "table" | "index" | "view" | "trigger";
  name: string;
  tbl_name: string;
  sql: string;
}

export interface DumpTable {
  name: string;
  /** Columns dumped, in order. A rowid table without an INTEGER PRIMARY KEY alias starts with
   * "rowid", so restored rows keep their rowids (FTS tables, rowid references). */
  columns: string[];
  /** How pages are ordered: by rowid, or by primary key (WITHOUT ROWID tables). */
  rowKey: "rowid" | "pk";
  pkColumns: string[];
  virtual: boolean;
  /** Data is not dumped (external-content or contentless FTS); restore rebuilds or skips. */
  dataFrom: "table" | "external-content" | "contentless";
}

export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

const INTERNAL = (name: string) => name.startsWith("sqlite_") || name.startsWith("_cf_");

export async function readSchema(db: SqlReader): Promise<{ objects: SchemaObject[]; tables: DumpTable[] }> {
  const list = (await db.all("PRAGMA table_list")) as Array<{ schema: string; name: string; type: string }>;
  const shadow = new Set(list.filter((t) => t.type === "shadow").map((t) => t.name));
  const master = (await db.all(
    "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'view' THEN 2 ELSE 3 END, rowid",
  )) as unknown as SchemaObject[];
  const objects = master.filter((o) => !shadow.has(o.name) && !shadow.has(o.tbl_name) && !INTERNAL(o.name) && !INTERNAL(o.tbl_name));

  const tables: DumpTable[] = [];
  for (const t of list) {
    if (t.schema !== "main" || (t.type !== "table" && t.type !== "virtual") || INTERNAL(t.name)) continue;
    const info = (await db.all(`PRAGMA table_info(${quoteIdent(t.name)})`)) as Array<{ name: string; pk: number; type: string }>;
    const sql = objects.find((o) => o.name === t.name)?.sql ?? "";
    const virtual = t.type === "virtual";
    const content = virtual ? /content\s*=\s*(['"]?)([^'",)]*)\1/i.exec(sql) : null;
    const withoutRowid = /\bWITHOUT\s+ROWID\b/i.test(sql);
    const pks = info.filter((c) => c.pk > 0);
    const rowidAlias = pks.length === 1 && /^integer$/i.test(pks[0]?.type ?? "");
    const keepRowid = !withoutRowid && !rowidAlias && !info.some((c) => /^(rowid|_rowid_|oid)$/i.test(c.name));
    tables.push({
      name: t.name,
      columns: [...(keepRowid ? ["rowid"] : []), ...info.map((c) => c.name)],
      rowKey: withoutRowid ? "pk" : "rowid",
      pkColumns: info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name),
      virtual,
      dataFrom: !content ? "table" : content[2] === "" ? "contentless" : "external-content",
    });
  }
  // Restore order = creation order in sqlite_master (parents before children, as created).
  const order = new Map(objects.map((o, i) => [o.name, i]));
  tables.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
  return { objects, tables };
}

function selectList(columns: string[]): string {
  return columns
    .map((c, i) => {
      const q = quoteIdent(c);
      // A finite REAL crosses as the double itself (SQLite's printf keeps only 16 digits, so
      // '%.17g' text loses some values); ±Inf, which D1 returns as null, as text.
      return `typeof(${q}) AS "t${i}", CASE typeof(${q}) WHEN 'integer' THEN CAST(${q} AS TEXT) WHEN 'real' THEN CASE WHEN abs(${q}) = 9e999 THEN printf('%.17g', ${q}) ELSE ${q} END WHEN 'blob' THEN hex(${q}) ELSE ${q} END AS "v${i}"`;
    })
    .join(", ");
}

export function encodeValue(type: unknown, value: unknown): DumpValue {
  switch (type) {
    case "null":
      return null;
    case "integer":
      return { i: String(value) };
    case "real":
      // JS prints the shortest text that reads back as the same double.
      return { f: String(value) };
    case "blob":
      return { b: toBase64(fromHex(String(value ?? ""))) };
    default:
      return String(value);
  }
}

/** Rows of a raw SELECT (from selectAll or readPage) as encoded values. */
export function decodeRows(raw: ReadonlyArray<Record<string, unknown>>, columns: readonly string[]): DumpValue[][] {
  return raw.map((r) => columns.map((_, i) => encodeValue(r[`t${i}`], r[`v${i}`])));
}

/** The whole table in dump order, as one statement (for single-transaction dumps). */
export function selectAllSql(table: DumpTable): string {
  const order = table.rowKey === "rowid" ? "rowid" : (table.pkColumns.length ? table.pkColumns : table.columns).map(quoteIdent).join(", ");
  return `SELECT ${selectList(table.columns)} FROM ${quoteIdent(table.name)} ORDER BY ${order}`;
}

export const SEQUENCE_SQL = "SELECT name, CAST(seq AS TEXT) AS seq FROM sqlite_sequence ORDER BY name";

export interface PageCursor {
  /** Last rowid read (rowid tables). */
  afterRowid?: number | string;
  /** Rows already read (WITHOUT ROWID tables, ordered by primary key). */
  offset?: number;
}

export interface Page {
  rows: DumpValue[][];
  next: PageCursor | null;
}

/** One page of a table, in a stable order, values encoded losslessly. */
export async function readPage(db: SqlReader, table: DumpTable, cursor: PageCursor, limit: number): Promise<Page> {
  const cols = table.columns;
  const from = quoteIdent(table.name);
  let raw: Array<Record<string, unknown>>;
  if (table.rowKey === "rowid") {
    // rowid is compared as text-cast integer to stay exact beyond 2^53.
    raw = await db.all(
      `SELECT CAST(rowid AS TEXT) AS "__rowid", ${selectList(cols)} FROM ${from} WHERE rowid > CAST(? AS INTEGER) ORDER BY rowid LIMIT ?`,
      [String(cursor.afterRowid ?? "-9223372036854775808"), limit],
    );
  } else {
    const order = (table.pkColumns.length ? table.pkColumns : cols).map(quoteIdent).join(", ");
    raw = await db.all(`SELECT ${selectList(cols)} FROM ${from} ORDER BY ${order} LIMIT ? OFFSET ?`, [limit, cursor.offset ?? 0]);
  }
  const rows = decodeRows(raw, cols);
  const full = raw.length === limit;
  const next: PageCursor | null = !full
    ? null
    : table.rowKey === "rowid"
      ? { afterRowid: String(raw[raw.length - 1]?.__rowid) }
      : { offset: (cursor.offset ?? 0) + raw.length };
  return { rows, next };
}

export async function readSequences(db: SqlReader): Promise<Array<[string, string]>> {
  const exists = await db.all("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'");
  if (!exists.length) return [];
  const rows = await db.all(SEQUENCE_SQL);
  return rows.map((r) => [String(r.name), String(r.seq)]);
}
