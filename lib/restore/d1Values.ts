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

/**
 * A REAL as an exact SQL expression. SQLite's decimal parser is not correctly rounded (some
 * 17-digit texts read back one ulp off), so a non-integral value is written as m * 2^e with
 * integer literals (|m| < 2^53, steps of 2^62): every product or quotient is exact.
 */
export function exactReal(f: number): string {
  if (Number.isNaN(f)) return "NULL"; // SQLite stores NaN as NULL
  if (!Number.isFinite(f)) return f > 0 ? "9e999" : "-9e999";
  if (Number.isInteger(f) && Math.abs(f) < 2 ** 53) return `${f}.0`;
  let m = f;
  let e = 0;
  while (!Number.isInteger(m)) {
    m *= 2;
    e--;
  }
  while (Math.abs(m) >= 2 ** 53) {
    m /= 2;
    e++;
  }
  let out = `(${m} * 1.0`;
  for (let k = Math.abs(e); k > 0; k -= 62) out += ` ${e < 0 ? "/" : "*"} ${2n ** BigInt(Math.min(k, 62))}`;
  return `${out})`;
}

/** A dumped REAL ("Inf", "-Inf" or decimal text) as the double it stands for. */
const realOf = (f: string) => (f === "Inf" ? Infinity : f === "-Inf" ? -Infinity : Number(f));

export function literalOf(v: DumpValue): string {
  if (v === null) return "NULL";
  if (typeof v === "string") return textLiteral(v);
  if ("i" in v) return v.i;
  if ("f" in v) return exactReal(realOf(v.f));
  return `X'${toHex(fromBase64(v.b))}'`;
}

export function bound(v: DumpValue): { expr: string; param?: unknown } {
  if (v === null) return { expr: "NULL" };
  if (typeof v === "string") return { expr: "?", param: v };
  if ("i" in v) return { expr: "CAST(? AS INTEGER)", param: v.i };
  if ("f" in v) {
    // The double itself is bound (exact); Inf, which cannot cross as a number, as overflowing text.
    const f = realOf(v.f);
    return Number.isFinite(f) ? { expr: "CAST(? AS REAL)", param: f } : Number.isNaN(f) ? { expr: "NULL" } : { expr: "CAST(? AS REAL)", param: f > 0 ? "9e999" : "-9e999" };
  }
  return { expr: "?", param: fromBase64(v.b) };
}

export const paramsOf = (row: readonly DumpValue[]) => row.filter((v) => v !== null).length;
