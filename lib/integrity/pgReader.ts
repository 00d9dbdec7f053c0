/**
 * The seam between the Postgres integrity checks and the wire they run over: node-postgres on
 * a TCP connection (`drposture integrity --postgres`, the drill; lib/integrity/postgres.ts) or
 * Neon's serverless HTTP driver inside the backup Worker (lib/integrity/neonHttp.ts). Nothing
 * here imports a driver or a node: module, so the checks run in workerd as they run in Node.
 */

export type Row = Record<string, unknown>;

export interface PgReader {
  /** One statement of ours (catalog queries, migration tables): its rows, parsed as
   * node-postgres parses them (bigint as string, arrays, timestamps as Date). */
  rows<T = Row>(sql: string): Promise<T[]>;
  /**
   * Statements that come from the operator's config, run in ONE read-only transaction with a
   * statement timeout: PostgreSQL refuses any write in them, and each is sent as exactly one
   * statement (extended protocol), so `…; COMMIT; DELETE …` cannot step out. Rejects with the
   * database's error when one fails; nothing is committed either way.
   */
  readOnly(statements: readonly string[], timeoutMs: number): Promise<Row[][]>;
}

/** A quoted identifier, as pg's escapeIdentifier writes it ("" doubles a quote). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
