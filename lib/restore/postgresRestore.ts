/**
 * Postgres restore from a pg_dump backup: the dump is decrypted (every chunk authenticated,
 * sizes and hashes checked against the manifest) to a private temporary file, then restored
 * with `pg_restore -j N` (parallel restore needs a seekable file). The target is refused if it
 * already has tables, unless the mode says otherwise.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { Client } from "pg";
import { openArtifact } from "../backup/artifacts";
import type { MasterKey } from "../format/keys";
import { pgTool } from "../local/postgres";
import { streamToFile } from "../storage/streamToFile";
import type { BackupStorage } from "../storage/types";
import { RestoreRefusedError, type RestoreOptions, type RestoreReport } from "./modes";
import type { Resolved } from "./resolve";

const exec = promisify(execFile);

export interface PostgresRestoreOptions extends RestoreOptions {
  readonly jobs?: number;
  readonly pgRestore?: string;
}

async function userTables(url: string): Promise<number> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ n: string }>("SELECT count(*) AS n FROM pg_catalog.pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')");
    return Number(r.rows[0]?.n ?? 0);
  } finally {
    await c.end();
  }
}

/** Decrypts the dump of a backup to `file`, verifying it; returns its size. */
export async function decryptDumpTo(store: BackupStorage, master: MasterKey, r: Resolved, file: string, onBytes?: (n: number) => void): Promise<number> {
  const entry = r.manifest.artifacts.find((a) => a.role === "pg_dump");
  if (!entry) throw new RestoreRefusedError(`backup ${r.manifest.backupId} holds no pg_dump artifact`);
  return streamToFile(await openArtifact(store, master, entry), file, { mode: 0o600, ...(onBytes ? { onBytes } : {}) });
}

export async function restorePostgres(store: BackupStorage, master: MasterKey, r: Resolved, targetUrl: string, o: PostgresRestoreOptions): Promise<RestoreReport> {
  if (o.mode === "skip") throw new RestoreRefusedError("--mode skip is not supported for Postgres (pg_restore cannot merge); use fail (empty target) or clear");
  const existing = await userTables(targetUrl);
  if (o.mode === "fail" && existing > 0) {
    throw new RestoreRefusedError(`the target database already has ${existing} table(s); refusing to overwrite. Restore into an empty database, or choose --mode clear (drops and recreates the backup's objects).`);
  }
  const dir = await mkdtemp(path.join(tmpdir(), "drposture-pg-restore-"));
  const file = path.join(dir, "dump.pgc");
  try {
    const bytes = await decryptDumpTo(store, master, r, file, (n) => o.onProgress?.(n));
    const pgRestore = o.pgRestore ?? pgTool("pg_restore");
    // The archive's table of contents must read back: a truncated or foreign file fails here.
    const { stdout } = await exec(pgRestore, ["--list", file], { maxBuffer: 256 * 1024 * 1024 });
    const entries = stdout.split("\n").filter((l) => /^\d+;/.test(l)).length;
    if (!o.validateOnly) {
      const args = [
        `--jobs=${o.jobs ?? 2}`,
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        `--dbname=${targetUrl}`,
        ...(o.mode === "clear" || o.mode === "overwrite" ? ["--clean", "--if-exists"] : []),
        ...(o.only ? [`--table=${o.only}`] : []),
        file,
      ];
      await exec(pgRestore, args, { maxBuffer: 64 * 1024 * 1024 }).catch((err: { stderr?: string; message: string }) => {
        throw new Error(`pg_restore failed: ${(err.stderr ?? err.message).trim().split("\n").slice(-5).join(" | ")}`);
      });
    }
    return { restored: entries, skipped: 0, details: { bytes, tocEntries: entries }, validateOnly: o.validateOnly };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
