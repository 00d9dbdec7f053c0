/**
 * The statements a D1 restore writes. How a row meets a row already there depends on the mode:
 *   fail, clear  plain INSERT (the table is new or was emptied)
 *   skip         INSERT ... ON CONFLICT DO NOTHING (only uniqueness conflicts are skipped)
 *   overwrite    INSERT ... ON CONFLICT (key) DO UPDATE: the row is updated in place, never
 *                deleted and re-inserted, so ON DELETE CASCADE / SET NULL in other tables
 *                never fire (INSERT OR REPLACE deletes the old row first).
 * Virtual tables (FTS5) support neither upsert form; they cannot be referenced by foreign
 * keys nor carry triggers, so OR IGNORE / OR REPLACE are safe there.
 */
import { quoteIdent, type DumpValue } from "../backup/d1Dump";
import type { RestoreMode } from "./modes";
import { bound, literalOf } from "./d1Values";

export interface Stmt {
  readonly sql: string;
  readonly params: unknown[];
  /** The same statement with values inlined (for SQL files). */
  readonly literal: string;
}

/** Bound parameters per statement (D1 allows 100). */
export const MAX_PARAMS = 100;

export const plain = (sql: string): Stmt => ({ sql, params: [], literal: `${sql};` });

/** What the restore knows of a table from the dump's table line. */
export interface TableShape {
  readonly name: string;
  readonly columns: readonly string[];
  readonly pkColumns?: readonly string[];
  readonly virtual?: boolean;
}

/** The columns that identify a row: the primary key, else the rowid (dumped first); null when
 * the dump does not say (older backups into a SQL file): any uniqueness conflict then. */
export function rowIdentity(t: TableShape): string[] | null {
  if (t.pkColumns?.length) return [...t.pkColumns];
  if (t.columns[0] === "rowid") return ["rowid"];
  return null;
}

/** `INSERT INTO t (cols) VALUES` and the clause after the rows, for a mode. */
function insertParts(t: TableShape, mode: RestoreMode): { head: string; tail: string } {
  const into = `INTO ${quoteIdent(t.name)} (${t.columns.map(quoteIdent).join(", ")}) VALUES`;
  if (mode === "skip") return t.virtual ? { head: `INSERT OR IGNORE ${into}`, tail: "" } : { head: `INSERT ${into}`, tail: " ON CONFLICT DO NOTHING" };
  if (mode !== "overwrite") return { head: `INSERT ${into}`, tail: "" };
  if (t.virtual) return { head: `INSERT OR REPLACE ${into}`, tail: "" };
  const key = rowIdentity(t);
  // The target keeps its own rowid for a row found by its primary key.
  const rest = t.columns.filter((c) => !key?.includes(c) && c !== "rowid");
  const action = rest.length ? `DO UPDATE SET ${rest.map((c) => `${quoteIdent(c)} = excluded.${quoteIdent(c)}`).join(", ")}` : "DO NOTHING";
  return { head: `INSERT ${into}`, tail: ` ON CONFLICT${key ? ` (${key.map(quoteIdent).join(", ")})` : ""} ${action}` };
}

/** One INSERT for several rows of a table (as many as fit in D1's parameter limit). */
export function insertStmt(t: TableShape, rows: ReadonlyArray<readonly DumpValue[]>, mode: RestoreMode): Stmt {
  const { head, tail } = insertParts(t, mode);
  const bounds = rows.map((row) => row.map(bound));
  const literal = `${head} ${rows.map((row) => `(${row.map(literalOf).join(", ")})`).join(", ")}${tail};`;
  const params = bounds.flatMap((parts) => parts.filter((p) => "param" in p).map((p) => p.param));
  // A row too wide for D1's parameter limit goes in as literals.
  if (params.length > MAX_PARAMS) return { sql: literal.slice(0, -1), params: [], literal };
  return {
    sql: `${head} ${bounds.map((parts) => `(${parts.map((p) => p.expr).join(", ")})`).join(", ")}${tail}`,
    params,
    literal,
  };
}

/** Raises an AUTOINCREMENT counter to the backup's value, never lowers it (ids are not reused). */
export function sequenceStmts(name: string, seq: string): Stmt[] {
  const n = literalOf(name);
  return [
    { sql: "UPDATE sqlite_sequence SET seq = max(seq, CAST(? AS INTEGER)) WHERE name = ?", params: [seq, name], literal: `UPDATE sqlite_sequence SET seq = max(seq, ${seq}) WHERE name = ${n};` },
    {
      sql: "INSERT INTO sqlite_sequence (name, seq) SELECT ?, CAST(? AS INTEGER) WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?)",
      params: [name, seq, name],
      literal: `INSERT INTO sqlite_sequence (name, seq) SELECT ${n}, ${seq} WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ${n});`,
    },
  ];
}
