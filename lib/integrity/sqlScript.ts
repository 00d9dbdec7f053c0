/**
 * Splits a SQL script (a `drposture restore d1 --to file:` output, a `wrangler d1 export`, or
 * one written by hand) into statements: at `;` outside strings, quoted identifiers and comments
 * (readOnlySql.ts's codeOnly), and inside CREATE TRIGGER … BEGIN … END only after the END.
 * D1's own exec() splits at newlines instead, which breaks statements spanning lines.
 */
import { codeOnly } from "./readOnlySql";

const TRIGGER = /^\s*CREATE\s+(TEMP\s+|TEMPORARY\s+)?TRIGGER\b/i;

export function splitSqlScript(sql: string): string[] {
  const code = codeOnly(sql);
  const out: string[] = [];
  let start = 0;
  for (let i = code.indexOf(";"); i >= 0; i = code.indexOf(";", i + 1)) {
    const soFar = code.slice(start, i);
    if (TRIGGER.test(soFar) && !/\bEND\s*$/i.test(soFar)) continue;
    if (soFar.trim()) out.push(sql.slice(start, i).trim());
    start = i + 1;
  }
  if (code.slice(start).trim()) out.push(sql.slice(start).trim());
  return out;
}
