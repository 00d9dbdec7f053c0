/**
 * Where a D1 restore writes: a D1 binding (Worker, Miniflare, `wrangler dev` state), which
 * can be inspected before anything is written, or a SQL script for
 * `wrangler d1 execute <db> --remote --file`, which cannot (its guards run in the script;
 * d1ScriptSink.ts, Node only). This file runs in the Worker too (restore tests).
 */
import { quoteIdent } from "../backup/d1Dump";
import type { Stmt } from "./d1Statements";

export interface TargetObject {
  readonly type: string;
  readonly name: string;
  readonly tbl_name: string;
  readonly sql: string | null;
}

/** What a restore can learn of a live target before it writes. */
export interface TargetInspector {
  /** User tables, views, indexes and triggers. */
  objects(): Promise<TargetObject[]>;
  /** Tables `table`'s foreign keys reference. */
  parents(table: string): Promise<string[]>;
  count(table: string): Promise<number>;
  /** The table's primary key columns in the target ([] for a rowid table without one). */
  primaryKey(table: string): Promise<string[]>;
}

export interface D1Sink {
  readonly label: string;
  /** Present for live targets; a SQL file knows nothing of the database it will run on. */
  readonly inspect?: TargetInspector;
  execute(stmts: readonly Stmt[]): Promise<void>;
  /** Finishes the target (a file is put in place); idempotent. */
  close?(): Promise<void>;
  /** The restore failed: leave no partial target behind (a file is removed). */
  abort?(): Promise<void>;
}

/** A D1 database through its binding API (Worker binding, Miniflare, wrangler dev state). */
export interface D1Like {
  prepare(sql: string): { bind(...values: unknown[]): { all(): Promise<{ results: unknown[] }> } };
  batch(stmts: unknown[]): Promise<unknown>;
}

const USER_OBJECTS = "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'";

export function bindingSink(db: D1Like, label: string): D1Sink {
  const all = async (sql: string, ...params: unknown[]) => (await db.prepare(sql).bind(...params).all()).results as Array<Record<string, unknown>>;
  return {
    label,
    inspect: {
      objects: async () => (await all(USER_OBJECTS)) as unknown as TargetObject[],
      parents: async (table) => (await all(`PRAGMA foreign_key_list(${quoteIdent(table)})`)).map((r) => String(r.table)),
      primaryKey: async (table) =>
        (await all(`PRAGMA table_info(${quoteIdent(table)})`))
          .filter((c) => Number(c.pk) > 0)
          .sort((a, b) => Number(a.pk) - Number(b.pk))
          .map((c) => String(c.name)),
      count: async (table) => Number((await all(`SELECT count(*) AS n FROM ${quoteIdent(table)}`))[0]?.n ?? 0),
    },
    execute: async (stmts) => {
      try {
        await db.batch(stmts.map((s) => db.prepare(s.sql).bind(...s.params)));
      } catch (err) {
        // A batch is one transaction: this one left nothing, earlier ones stay committed.
        throw new D1RestoreError(`${label}: D1 refused a batch of the restore: ${(err as Error).message.replace(/^D1_ERROR: /, "")} (this batch was rolled back; rows of earlier batches stay)`);
      }
    },
  };
}

/** The target database refused a statement (a constraint the backup's rows break, say). */
export class D1RestoreError extends Error {
  override readonly name = "D1RestoreError";
}
