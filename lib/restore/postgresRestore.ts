/**
 * Postgres restore from a pg_dump backup: the dump is decrypted (every chunk authenticated,
 * sizes and hashes checked against the manifest) to a private temporary file, in a worker
 * thread so that decryption overlaps the download (offThreadDecrypt.ts), then restored
 * with `pg_restore -j N` (parallel restore needs a seekable file). The target is refused if it
 * already has tables, unless the mode says otherwise. `--only` must name a table of the backup.
 * The report counts the rows the target holds afterwards in the tables restored (for
 * --validate-only: the rows the archive's data would restore).
 *
 * Interrupts: the decrypted file's directory and every pg_restore are registered as sensitive
 * cleanups (pg_restore is stopped, then the file deleted); the password never reaches argv.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { escapeIdentifier } from "pg";
import type { MasterKey } from "../format/keys";
import { pgTool } from "../local/postgres";
import { withPgClient } from "../postgres/client";
import { spawnLibpqTool } from "../postgres/libpqTool";
import { cleanupPath, throwIfInterrupted } from "../process/cleanup";
import { StorageError, type BackupStorage } from "../storage/types";
import { RestoreRefusedError, type RestoreOptions, type RestoreReport } from "./modes";
import { decryptToFileOffThread } from "./offThreadDecrypt";
import { openArtifact } from "../backup/artifacts";
import { DirStorage } from "../storage/dirStorage";
import { streamToFile } from "../storage/streamToFile";
import { archiveRowCounts, archiveTables, onlyTable, PostgresRestoreError, tableLabel, tocEntryCount, type ArchiveTable } from "./postgresArchive";
import type { Resolved } from "./resolve";

export { PostgresRestoreError } from "./postgresArchive";

export interface PostgresRestoreOptions extends RestoreOptions {
  readonly jobs?: number;
  readonly pgRestore?: string;
}

const userTables = (url: string) =>
  withPgClient(url, async (c) => Number((await c.query<{ n: string }>("SELECT count(*) AS n FROM pg_catalog.pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")).rows[0]?.n ?? 0));

/** Rows each table holds in the target now (ONLY: a partition's rows are not counted twice). */
const targetRowCounts = (url: string, tables: readonly ArchiveTable[]) =>
  withPgClient(url, async (c) => {
    const out = new Map<string, number>();
    for (const t of tables) {
      const r = await c.query<{ n: string }>(`SELECT count(*) AS n FROM ONLY ${escapeIdentifier(t.schema)}.${escapeIdentifier(t.name)}`);
      out.set(tableLabel(t), Number(r.rows[0]?.n ?? 0));
    }
    return out;
  });

/** Decrypts the dump of a backup to `file`, verifying it; returns its size. */
export async function decryptDumpTo(store: BackupStorage, master: MasterKey, r: Resolved, file: string, onBytes?: (n: number) => void): Promise<number> {
  const entry = r.manifest.artifacts.find((a) => a.role === "pg_dump");
  if (!entry) throw new RestoreRefusedError(`backup ${r.manifest.backupId} holds no pg_dump artifact`);
  const progress = (n: number) => {
    throwIfInterrupted();
    onBytes?.(n);
  };
  // A local file has no download to overlap: shipping its bytes to a worker costs more than
  // it saves (bench/restore's phases: 11.4 s vs 5.0 s for 1.2 GB), so it is decrypted here.
  if (store instanceof DirStorage) return streamToFile(await openArtifact(store, master, entry), file, { mode: 0o600, onBytes: progress });
  const body = await store.get(entry.key);
  if (!body) throw new StorageError(`${store.label}: artifact ${entry.key} is missing`);
  // Decrypted on another core while this thread downloads: see offThreadDecrypt.ts.
  return decryptToFileOffThread(body, { master, expected: entry, label: `${store.label}/${entry.key}`, file, mode: 0o600 }, progress);
}

async function runPgRestore(pgRestore: string, targetUrl: string, file: string, o: PostgresRestoreOptions, only: ArchiveTable | null): Promise<void> {
  const args = [
    `--jobs=${o.jobs ?? 2}`,
    "--no-owner",
    "--no-privileges",
    "--exit-on-error",
    ...(o.mode === "clear" || o.mode === "overwrite" ? ["--clean", "--if-exists"] : []),
    ...(only ? [`--schema=${only.schema}`, `--table=${only.name}`] : []),
  ];
  const r = await spawnLibpqTool(pgRestore, args, targetUrl, { priority: "sensitive", trailing: [file] }).done;
  throwIfInterrupted();
  if (r.code !== 0) {
    const why = r.stderr.trim().split("\n").slice(-5).join(" | ") || `exit ${r.code ?? r.signal}`;
    throw new PostgresRestoreError(`pg_restore failed: ${why} (the target may be partly restored: fix the cause, then restore into an empty database or with --mode clear)`);
  }
}

export async function restorePostgres(store: BackupStorage, master: MasterKey, r: Resolved, targetUrl: string, o: PostgresRestoreOptions): Promise<RestoreReport> {
  if (o.mode === "skip") throw new RestoreRefusedError("--mode skip is not supported for Postgres (pg_restore cannot merge); use fail (empty target) or clear");
  const existing = await userTables(targetUrl);
  if (o.mode === "fail" && existing > 0) {
    throw new RestoreRefusedError(`the target database already has ${existing} table(s); refusing to overwrite. Restore into an empty database, or choose --mode clear (drops and recreates the backup's objects).`);
  }
  throwIfInterrupted();
  const dir = await mkdtemp(path.join(tmpdir(), "drposture-pg-restore-"));
  // Holds the decrypted dump: deleted first on interrupt.
  const unregisterDir = cleanupPath(dir, "sensitive");
  const file = path.join(dir, "dump.pgc");
  try {
    const bytes = await decryptDumpTo(store, master, r, file, (n) => o.onProgress?.(n));
    const pgRestore = o.pgRestore ?? pgTool("pg_restore");
    const tocEntries = await tocEntryCount(pgRestore, file);
    const tables = await archiveTables(pgRestore, file);
    const only = o.only !== undefined ? onlyTable(tables, o.only) : null;
    const selected = only ? [only] : tables;
    let counts: Map<string, number>;
    if (o.validateOnly) {
      counts = await archiveRowCounts(pgRestore, file, only ? [`--schema=${only.schema}`, `--table=${only.name}`] : []);
    } else {
      await runPgRestore(pgRestore, targetUrl, file, o, only);
      counts = await targetRowCounts(targetUrl, selected);
    }
    const perTable = Object.fromEntries(selected.map((t) => [tableLabel(t), counts.get(tableLabel(t)) ?? 0]));
    const restored = Object.values(perTable).reduce((a, b) => a + b, 0);
    return { restored, skipped: 0, details: { bytes, tocEntries, tables: selected.length, ...perTable }, validateOnly: o.validateOnly };
  } finally {
    await rm(dir, { recursive: true, force: true });
    unregisterDir();
  }
}
