/**
 * The Postgres integrity checks (postgresChecks.ts) on a node-postgres connection: what
 * `drposture integrity --postgres URL` and the drill run after a restore.
 */
import type { Client } from "pg";
import { withPgClient } from "../postgres/client";
import type { DeclaredCheck } from "./declaredChecks";
import type { PgReader, Row } from "./pgReader";
import { postgresChecks } from "./postgresChecks";
import type { IntegrityResult } from "./result";

let statementSerial = 0;

/**
 * Declared statements run inside `BEGIN READ ONLY` … ROLLBACK, each as a named statement
 * (extended protocol: exactly one statement), so nothing a check sends can write or step out.
 */
export function nodePgReader(c: Client): PgReader {
  return {
    rows: async <T = Row>(sql: string) => (await c.query(sql)).rows as T[],
    async readOnly(statements, timeoutMs) {
      await c.query("BEGIN READ ONLY");
      try {
        await c.query(`SET LOCAL statement_timeout = ${Math.floor(timeoutMs)}`);
        const out: Row[][] = [];
        for (const text of statements) out.push((await c.query({ name: `drposture-integrity-${++statementSerial}`, text })).rows as Row[]);
        return out;
      } finally {
        await c.query("ROLLBACK");
      }
    },
  };
}

export async function postgresIntegrity(url: string, declared: readonly DeclaredCheck[] = []): Promise<IntegrityResult[]> {
  return withPgClient(url, (c) => postgresChecks(nodePgReader(c), declared));
}
