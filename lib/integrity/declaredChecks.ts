/**
 * Checks the operator declares in the stack config (`drposture:integrity`): a query and how
 * many rows it must return — `expectRows: 0` for "no row breaks this rule" (orphans, bad
 * states), `minRows: N` for "the data is there" (at least N rows).
 */
import { jsonRows, type IntegrityResult } from "./result";

export interface DeclaredCheck {
  readonly name: string;
  readonly sql: string;
  readonly expectRows?: number;
  readonly minRows?: number;
}

/** The verdict on a declared check that returned `rows` rows, `sample` the first of them. */
export function judgeDeclared(where: string, check: DeclaredCheck, rows: number, sample: ReadonlyArray<Record<string, unknown>>): IntegrityResult {
  const ok = check.expectRows !== undefined ? rows === check.expectRows : rows >= (check.minRows ?? 0);
  const wanted = check.expectRows !== undefined ? `expected ${check.expectRows}` : `expected at least ${check.minRows}`;
  return {
    check: `${where}: ${check.name}`,
    ok,
    rows,
    sample: jsonRows(sample),
    detail: `${rows} row(s), ${wanted}`,
  };
}

/** A check whose query the database refused: failed, with the database's reason. */
export function refusedDeclared(where: string, check: DeclaredCheck, err: unknown): IntegrityResult {
  return { check: `${where}: ${check.name}`, ok: false, rows: 0, sample: [], detail: `the query failed: ${(err as Error).message.replace(/^D1_ERROR: /, "")}` };
}
