/**
 * The Postgres integrity checks' reader (pgReader.ts) over Neon's serverless HTTP driver, for
 * the backup Worker: no TCP socket, no node: module. Each `neon()` query is its own HTTP request
 * and its own transaction; the declared checks go in one `transaction([...], { readOnly: true })`,
 * which the driver sends as one batch with `Neon-Batch-Read-Only: true`, so Neon runs them in a
 * READ ONLY transaction (https://github.com/neondatabase/serverless/blob/main/CONFIG.md,
 * "transaction(...) function": "readOnly: If true, this option ensures that a READ ONLY
 * transaction is used to execute the queries passed"). Each query of the batch is sent as one
 * parameterised query, which PostgreSQL's extended protocol limits to one statement.
 */
import { neon } from "@neondatabase/serverless";
import type { PgReader, Row } from "./pgReader";

export function neonHttpReader(connectionString: string): PgReader {
  const sql = neon(connectionString);
  return {
    rows: async <T = Row>(text: string) => (await sql.query(text)) as T[],
    async readOnly(statements, timeoutMs) {
      const results = await sql.transaction([sql.query(`SET LOCAL statement_timeout = ${Math.floor(timeoutMs)}`), ...statements.map((s) => sql.query(s))], { readOnly: true });
      return results.slice(1) as Row[][];
    },
  };
}
