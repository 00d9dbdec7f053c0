/**
 * Dumped D1 values as SQL: bound parameters (for a binding) and literals (for a SQL script run
 * by `wrangler d1 execute --file`). A literal must make SQLite store exactly the dumped value:
 * text with control characters (NUL, newlines, ...) goes in as its UTF-8 bytes cast to TEXT,
 * because a raw NUL ends the statement and a raw newline breaks line-based executors.
 */
import { fromBase64, textEncoder, toHex } from "../format/bytes";
import type { DumpValue } from "../backup/d1Dump";

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A TEXT literal that reproduces `s` byte for byte (the database's encoding is UTF-8). */
export function textLiteral(s: string): string {
  if (CONTROL.test(s)) return `CAST(X'${toHex(textEncoder.encode(s))}' AS TEXT)`;
  return `'${s.replace(/'/g, "''")}'`;
}

/** %.17g text of a REAL as SQL: Inf as an overflowing literal, integral values kept REAL. */
function realText(f: string): string {
  if (f === "Inf") return "9e999";
  if (f === "-Inf") return "-9e999";
  return /[.eE]|nan|inf/i.test(f) ? f : `${f}.0`;
}

export function literalOf(v: DumpValue): string {
  if (v === null) return "NULL";
  if (typeof v === "string") return textLiteral(v);
  if ("i" in v) return v.i;
  if ("f" in v) return realText(v.f);
  return `X'${toHex(fromBase64(v.b))}'`;
}

export function bound(v: DumpValue): { expr: string; param?: unknown } {
  if (v === null) return { expr: "NULL" };
  if (typeof v === "string") return { expr: "?", param: v };
  if ("i" in v) return { expr: "CAST(? AS INTEGER)", param: v.i };
  if ("f" in v) return { expr: "CAST(? AS REAL)", param: realText(v.f) };
  return { expr: "?", param: fromBase64(v.b) };
}

export const paramsOf = (row: readonly DumpValue[]) => row.filter((v) => v !== null).length;
