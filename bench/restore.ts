/**
 * bench/restore: what our Postgres restore path costs over plain `pg_restore`, in one run.
 * A throwaway PostgreSQL 15 cluster gets ~`--mib` MiB of data (four tables of random bytea,
 * which neither TOAST nor pg_dump can compress, plus an indexed events table), backed up with
 * `backupPostgres` into a DirStorage. Then, alternating, `--rounds` times each into a fresh
 * database:
 *   baseline: `pg_restore -j2` from the already-decrypted custom-format dump file;
 *   ours:     `restorePostgres` from the encrypted backup (resolve + verify the manifest,
 *             decrypt and authenticate every chunk to a temp file, TOC check, `pg_restore -j2`).
 * Prints each run, the medians and the ratio ours/baseline (target ≤ 1.3).
 * Run: npm run bench:restore -- [--mib 1024] [--rounds 3]
 */
import { runSql } from "../lib/local/postgres";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { backupPostgres } from "../lib/backup/postgresBackup";
import { importMasterKey } from "../lib/format/keys";
import { pgTool, startPgCluster } from "../lib/local/postgres";
import { decryptDumpTo, restorePostgres } from "../lib/restore/postgresRestore";
import { resolveBackup } from "../lib/restore/resolve";
import { DirStorage } from "../lib/storage/dirStorage";

const exec = promisify(execFile);
const args = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const MIB = arg("mib", 1024);
const ROUNDS = arg("rounds", 3);
const TABLES = 4;
const ROW_KIB = 8;
const ASSET = { kind: "neon" as const, name: "bench" };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const secs = (ms: number) => (ms / 1000).toFixed(2);


async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function main(): Promise<void> {
  const pg = await startPgCluster();
  const work = mkdtempSync(path.join(tmpdir(), "drposture-bench-restore-"));
  try {
    const rowsPerTable = Math.max(1, Math.round((MIB * 1024) / ROW_KIB / TABLES));
    console.log(`bench/restore: ${TABLES} tables x ${rowsPerTable} rows x ${ROW_KIB} KiB random bytea + 1,000,000 indexed events; ${ROUNDS} rounds each`);
    await runSql(pg.url(), ["CREATE DATABASE src"]);
    const tLoad = await timed(async () => {
      await runSql(pg.url("src"), [
        "CREATE EXTENSION pgcrypto",
        // Random bytes are incompressible: the dump is as large as the data.
        ...Array.from({ length: TABLES }, (_, i) => `CREATE TABLE blobs_${i} (id int PRIMARY KEY, body bytea NOT NULL)`),
        ...Array.from({ length: TABLES }, (_, i) => `ALTER TABLE blobs_${i} ALTER COLUMN body SET STORAGE EXTERNAL`),
        ...Array.from(
          { length: TABLES },
          (_, i) => `INSERT INTO blobs_${i} SELECT g, (SELECT string_agg(gen_random_bytes(1024), ''::bytea) FROM generate_series(1, ${ROW_KIB}) WHERE g > 0) FROM generate_series(1, ${rowsPerTable}) g`,
        ),
        "CREATE TABLE events (id bigserial PRIMARY KEY, at timestamptz NOT NULL, kind text NOT NULL, payload jsonb NOT NULL)",
        "INSERT INTO events (at, kind, payload) SELECT now() - g * interval '1 second', 'kind-' || (g % 17), jsonb_build_object('n', g, 'tag', md5(g::text)) FROM generate_series(1, 1000000) g",
        "CREATE INDEX events_at ON events (at)",
        "CREATE INDEX events_kind ON events (kind, at)",
      ]);
    });
    console.log(`  load source: ${secs(tLoad)} s`);

    const master = await importMasterKey(randomBytes(32));
    const store = new DirStorage(path.join(work, "store"));
    let backupKey = "";
    const tBackup = await timed(async () => {
      const r = await backupPostgres({ url: pg.url("src"), stores: [store], master, stack: "bench", asset: ASSET, sourceId: "bench", tierDays: { daily: 7, weekly: 28, monthly: 93 } });
      backupKey = r.key;
    });
    const resolved = await resolveBackup(store, master, ASSET, "latest");
    const plainDump = path.join(work, "plain.pgc");
    await decryptDumpTo(store, master, resolved, plainDump);
    const dumpMiB = statSync(plainDump).size / 1048576;
    console.log(`  backup (pg_dump -Fc -Z6 + encrypt): ${secs(tBackup)} s, dump ${dumpMiB.toFixed(0)} MiB, manifest ${backupKey}`);

    const baseline: number[] = [];
    const ours: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const which of ["baseline", "ours"] as const) {
        const db = `r_${which}_${round}`;
        await runSql(pg.url(), [`CREATE DATABASE ${db}`]);
        const ms = await timed(async () => {
          if (which === "baseline") {
            await exec(pgTool("pg_restore"), ["--jobs=2", "--no-owner", "--no-privileges", "--exit-on-error", `--dbname=${pg.url(db)}`, plainDump]);
          } else {
            await restorePostgres(store, master, await resolveBackup(store, master, ASSET, "latest"), pg.url(db), { mode: "fail", validateOnly: false, jobs: 2 });
          }
        });
        (which === "baseline" ? baseline : ours).push(ms);
        console.log(`  round ${round} ${which.padEnd(8)} ${secs(ms)} s  (${(dumpMiB / (ms / 1000)).toFixed(0)} MiB/s of dump)`);
        await runSql(pg.url(), [`DROP DATABASE ${db}`]);
      }
    }
    const b = median(baseline);
    const o = median(ours);
    console.log("");
    console.log(`baseline pg_restore -j2 (plain file): median ${secs(b)} s`);
    console.log(`drposture restore (decrypt+verify+pg_restore -j2): median ${secs(o)} s`);
    console.log(`ratio ours/baseline: ${(o / b).toFixed(2)} (target <= 1.30: ${o / b <= 1.3 ? "met" : "NOT met"})`);
  } finally {
    await pg.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
