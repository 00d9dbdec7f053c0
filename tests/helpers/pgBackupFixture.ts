/**
 * A real PostgreSQL 15 with a password-protected role (scram-sha-256 over TCP, so a password
 * that does not reach pg_dump/pg_restore fails), a source database with the built-in sample plus
 * a table whose schema, name and column need quoting, and a backup of it taken by the CLI into
 * a directory store.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Client } from "pg";
import { sampleFixture } from "../../lib/drill/fixture";
import { runSql, startPgCluster, type PgCluster } from "../../lib/local/postgres";
import { drposture } from "./cli";

export const PASSWORD = "s3cret-Pw-4-drposture";
export const QUOTED_TABLE = ["CREATE SCHEMA \"My Schema\"", "CREATE TABLE \"My Schema\".\"Order Items\" (id int PRIMARY KEY, \"Qty \"\"x\"\"\" int)", "INSERT INTO \"My Schema\".\"Order Items\" VALUES (1, 10), (2, 20)"];

export interface PgBackupFixture {
  readonly pg: PgCluster;
  readonly dir: string;
  readonly store: string;
  readonly keyFile: string;
  /** postgres://pwuser:PASSWORD@127.0.0.1:PORT/db */
  url(db: string, password?: string): string;
  query<T = Record<string, unknown>>(db: string, sql: string): Promise<T[]>;
  createDb(name: string): Promise<void>;
  /** The CLI's restore of the backup (the password in --to, as operators write it). */
  restore(args: string[], env?: Record<string, string>): ReturnType<typeof drposture>;
  restoreArgs(args: string[]): string[];
  stop(): Promise<void>;
}

export async function startPgBackupFixture(): Promise<PgBackupFixture> {
  const pg = await startPgCluster();
  const hba = path.join(pg.dir, "data", "pg_hba.conf");
  writeFileSync(hba, `host all pwuser 127.0.0.1/32 scram-sha-256\n${readFileSync(hba, "utf8")}`);
  await runSql(pg.url(), [`CREATE ROLE pwuser LOGIN SUPERUSER PASSWORD '${PASSWORD}'`, "SELECT pg_reload_conf()", "CREATE DATABASE src"]);
  await runSql(pg.url("src"), [...(sampleFixture().postgres ?? []), ...QUOTED_TABLE]);
  const dir = mkdtempSync(path.join(tmpdir(), "drposture-pgcli-"));
  const store = path.join(dir, "store");
  const keyFile = path.join(dir, "key.hex");
  writeFileSync(keyFile, "3c".repeat(32));
  const url = (db: string, password = PASSWORD) => `postgres://pwuser:${encodeURIComponent(password)}@127.0.0.1:${pg.port}/${db}`;
  const b = await drposture(["backup", "postgres", "--url", url("src"), "--store", store, "--key-file", keyFile, "--asset", "app", "--stack", "prod"]);
  if (b.code !== 0) throw new Error(`backup failed: ${b.stderr}`);
  const restoreArgs = (args: string[]) => ["restore", "postgres", "--asset", "app", "--store", store, "--key-file", keyFile, ...args];
  return {
    pg,
    dir,
    store,
    keyFile,
    url,
    query: async <T>(db: string, sql: string) => {
      const c = new Client({ connectionString: pg.url(db) });
      await c.connect();
      try {
        return (await c.query(sql)).rows as T[];
      } finally {
        await c.end();
      }
    },
    createDb: (name) => runSql(pg.url(), [`CREATE DATABASE ${name}`]),
    restoreArgs,
    restore: (args, env) => drposture(restoreArgs(args), env ? { env } : {}),
    stop: async () => {
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Rows in every user table of a database. */
export async function rowsIn(f: PgBackupFixture, db: string): Promise<Record<string, number>> {
  const tables = await f.query<{ s: string; t: string }>(db, "SELECT schemaname AS s, tablename AS t FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2");
  const out: Record<string, number> = {};
  for (const { s, t } of tables) out[`${s}.${t}`] = Number((await f.query<{ n: string }>(db, `SELECT count(*) AS n FROM "${s.replace(/"/g, '""')}"."${t.replace(/"/g, '""')}"`))[0]?.n);
  return out;
}
