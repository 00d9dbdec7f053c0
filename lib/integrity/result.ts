/** What one integrity check found: passed or not, how many offending rows, a few of them. */
export interface IntegrityResult {
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
  /** Rows the check returned (offending rows, or for minRows checks the rows found). */
  readonly rows?: number;
  /** Up to SAMPLE_ROWS of them, to show the operator what is wrong. */
  readonly sample?: ReadonlyArray<Record<string, unknown>>;
}

export const SAMPLE_ROWS = 5;

/** JSON-safe sample rows (bigint and Buffer values become strings). */
export function jsonRows(rows: ReadonlyArray<Record<string, unknown>>): Array<Record<string, unknown>> {
  return rows.slice(0, SAMPLE_ROWS).map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? `<${v.byteLength} bytes>` : v instanceof Date ? v.toISOString() : v])),
  );
}
