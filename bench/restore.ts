/**
 * bench/restore: what our Postgres restore path costs over plain `pg_restore`, in one run.
 * A throwaway PostgreSQL 15 cluster gets ~`--mib` MiB of data (four tables of random bytea,
 * which neither TOAST nor pg_dump can compress, plus an indexed events table), backed up with
 * `backupPostgres` into a DirStorage and, as a replica, into the vault bucket of the strict
 * local S3 world of the prod stack (lib/local/localWorld.ts, the writer's identity). The plain
 * custom-format dump is put into the same bucket the same way (a multipart upload by the
 * writer). Then, alternating, `--rounds` times each into a fresh database:
 *   dir baseline: `pg_restore -j2` from the already-decrypted dump file;
 *   dir ours:     `restorePostgres` from the DirStorage (resolve + verify the manifest,
 *                 decrypt and authenticate every chunk to a temp file, TOC check, `pg_restore -j2`);
 *   s3 baseline:  the plain dump downloaded from the local S3 endpoint by the AWS SDK's own
 *                 client (GetObject streamed to a file), then `pg_restore -j2`;
 *   s3 ours:      `restorePostgres` from the s3:// store with the restorer's identity.
 * Prints each run, the medians and both ratios ours/baseline (dir target ≤ 1.3, S3 ≤ 1.2),
 * then the phases measured apart (best of --phase-rounds, default 2): the downloads alone, and download + decrypt with
 * the decryption in a worker thread and on the main thread (the restore's path is the worker
 * thread for a remote store, the main thread for a directory).
 * Run: npm run bench:restore -- [--mib 1024] [--rounds 3] [--phase-rounds 2]
 */
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { Agent } from "node:https";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { openArtifact } from "../lib/backup/artifacts";
import { backupPostgres } from "../lib/backup/postgresBackup";
import type { ArtifactEntry } from "../lib/format/manifest";
import { importMasterKey } from "../lib/format/keys";
import { startLocalWorld } from "../lib/local/localWorld";
import { pgTool, runSql, startPgCluster } from "../lib/local/postgres";
import { trustInThisProcess } from "../lib/local/tls";
import { cleanupPath, installInterruptHandlers } from "../lib/process/cleanup";
import { decryptToFileOffThread } from "../lib/restore/offThreadDecrypt";
import { decryptDumpTo, restorePostgres } from "../lib/restore/postgresRestore";
import { resolveBackup } from "../lib/restore/resolve";
import { DirStorage } from "../lib/storage/dirStorage";
import { streamToFile } from "../lib/storage/streamToFile";
import type { BackupStorage } from "../lib/storage/types";

const exec = promisify(execFile);
const args = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const MIB = arg("mib", 1024);
const ROUNDS = arg("rounds", 3);
const PHASE_ROUNDS = arg("phase-rounds", 2);
const TABLES = 4;
const ROW_KIB = 8;
const ASSET = { kind: "neon" as const, name: "bench" };
/** Inside a tier prefix: the only place the writer may put and the restorer may get. */
const PLAIN_KEY = "daily/bench-plain/plain-dump.pgc";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const secs = (ms: number) => (ms / 1000).toFixed(2);

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function loadSource(url: (db?: string) => string, rowsPerTable: number): Promise<void> {
  await runSql(url(), ["CREATE DATABASE src"]);
  await runSql(url("src"), [
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
}

/** GetObject, its body piped to a file. The file stream gets the 8 MiB buffer our restore's
 * own writes use (streamToFile.ts), so the baseline does not lose time to 16 KiB writes. */
async function sdkDownload(sdk: S3Client, bucket: string, key: string, file: string): Promise<void> {
  const r = await sdk.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  await pipeline(r.Body as Readable, createWriteStream(file, { mode: 0o600, highWaterMark: 8 << 20 }));
}

type Runner = "dir baseline" | "dir ours" | "s3 baseline" | "s3 ours";
const RUNNERS: readonly Runner[] = ["dir baseline", "dir ours", "s3 baseline", "s3 ours"];

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), "drposture-bench-restore-"));
  const unregisterWork = cleanupPath(work);
  const [pg, world] = await Promise.all([startPgCluster(), startLocalWorld({ stack: "prod", dir: path.join(work, "world") })]);
  await trustInThisProcess(world.tls.caPem);
  try {
    const rowsPerTable = Math.max(1, Math.round((MIB * 1024) / ROW_KIB / TABLES));
    console.log(`bench/restore: ${TABLES} tables x ${rowsPerTable} rows x ${ROW_KIB} KiB random bytea + 1,000,000 indexed events; ${ROUNDS} rounds each`);
    console.log(`  load average at start: ${(await import("node:os")).loadavg().map((x) => x.toFixed(2)).join(" ")}`);
    const tLoad = await timed(() => loadSource(pg.url, rowsPerTable));
    console.log(`  load source: ${secs(tLoad)} s`);

    const master = await importMasterKey(randomBytes(32));
    const dirStore = new DirStorage(path.join(work, "store"));
    const writer = world.s3Storage(world.s3Keys("writer"));
    const s3Store = world.s3Storage(world.s3Keys("restorer"));
    let backupKey = "";
    const tBackup = await timed(async () => {
      const r = await backupPostgres({ url: pg.url("src"), stores: [dirStore, writer], master, stack: "bench", asset: ASSET, sourceId: "bench", tierDays: { daily: 7, weekly: 28, monthly: 93 } });
      backupKey = r.key;
    });
    const plainDump = path.join(work, "plain.pgc");
    await decryptDumpTo(dirStore, master, await resolveBackup(dirStore, master, ASSET, "latest"), plainDump);
    const dumpBytes = statSync(plainDump).size;
    const dumpMiB = dumpBytes / 1048576;
    console.log(`  backup (pg_dump -Fc -Z6 + encrypt, dir + S3 replica): ${secs(tBackup)} s, dump ${dumpMiB.toFixed(0)} MiB, manifest ${backupKey}`);
    // The plain dump goes up as the backup's artifacts did: a streamed multipart put by the writer.
    await writer.put(PLAIN_KEY, Readable.toWeb(createReadStream(plainDump, { highWaterMark: 1 << 20 })) as ReadableStream<Uint8Array>, { contentType: "application/octet-stream" });

    const keys = world.s3Keys("restorer");
    const sdk = new S3Client({ region: world.s3Region, endpoint: world.aws.url, forcePathStyle: true, credentials: keys, requestHandler: { httpsAgent: new Agent({ ca: world.tls.caPem, keepAlive: true }) } });
    const pgRestore = (db: string, file: string) => exec(pgTool("pg_restore"), ["--jobs=2", "--no-owner", "--no-privileges", "--exit-on-error", `--dbname=${pg.url(db)}`, file]);
    const restoreFrom = async (store: BackupStorage, db: string) =>
      restorePostgres(store, master, await resolveBackup(store, master, ASSET, "latest"), pg.url(db), { mode: "fail", validateOnly: false, jobs: 2 });
    const run: Record<Runner, (db: string) => Promise<unknown>> = {
      "dir baseline": (db) => pgRestore(db, plainDump),
      "dir ours": (db) => restoreFrom(dirStore, db),
      "s3 baseline": async (db) => {
        const file = path.join(work, "downloaded.pgc");
        try {
          await sdkDownload(sdk, world.s3BucketName, PLAIN_KEY, file);
          await pgRestore(db, file);
        } finally {
          rmSync(file, { force: true });
        }
      },
      "s3 ours": (db) => restoreFrom(s3Store, db),
    };

    const times = new Map<Runner, number[]>(RUNNERS.map((r) => [r, []]));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const which of RUNNERS) {
        const db = `r_${which.replace(" ", "_")}_${round}`;
        await runSql(pg.url(), [`CREATE DATABASE ${db}`]);
        const ms = await timed(() => run[which](db));
        times.get(which)?.push(ms);
        console.log(`  round ${round} ${which.padEnd(12)} ${secs(ms)} s  (${(dumpMiB / (ms / 1000)).toFixed(0)} MiB/s of dump)`);
        await runSql(pg.url(), [`DROP DATABASE ${db}`]);
      }
    }
    const m = Object.fromEntries(RUNNERS.map((r) => [r, median(times.get(r) ?? [])])) as Record<Runner, number>;
    const dirRatio = m["dir ours"] / m["dir baseline"];
    const s3Ratio = m["s3 ours"] / m["s3 baseline"];
    console.log("");
    console.log(`baseline pg_restore -j2 (plain file): median ${secs(m["dir baseline"])} s`);
    console.log(`drposture restore from a directory store (decrypt+verify+pg_restore -j2): median ${secs(m["dir ours"])} s`);
    console.log(`baseline S3 GetObject (AWS SDK) + pg_restore -j2: median ${secs(m["s3 baseline"])} s`);
    console.log(`drposture restore from s3:// (download+decrypt+verify+pg_restore -j2): median ${secs(m["s3 ours"])} s`);
    console.log(`ratio dir ours/baseline: ${dirRatio.toFixed(2)} (target <= 1.30: ${dirRatio <= 1.3 ? "met" : "NOT met"})`);
    console.log(`ratio S3 ours/baseline:  ${s3Ratio.toFixed(2)} (target <= 1.20: ${s3Ratio <= 1.2 ? "met" : "NOT met"})`);

    await printPhases({ work, sdk, bucket: world.s3BucketName, s3Store, dirStore, master, dumpMiB, backupKey });
  } finally {
    await world.close();
    await pg.stop();
    rmSync(work, { recursive: true, force: true });
    unregisterWork();
  }
}

/** The S3 path's phases measured apart, to see where the time goes. */
async function printPhases(o: {
  work: string;
  sdk: S3Client;
  bucket: string;
  s3Store: BackupStorage;
  dirStore: BackupStorage;
  master: Awaited<ReturnType<typeof importMasterKey>>;
  dumpMiB: number;
  backupKey: string;
}): Promise<void> {
  const file = path.join(o.work, "phase.out");
  const phases: Array<[string, () => Promise<unknown>]> = [];
  const phase = async (label: string, fn: () => Promise<unknown>) => void phases.push([label, fn]);
  const resolvedS3 = await resolveBackup(o.s3Store, o.master, ASSET, "latest");
  const resolvedDir = await resolveBackup(o.dirStore, o.master, ASSET, "latest");
  const dumpEntry = (r: typeof resolvedS3) => r.manifest.artifacts.find((a) => a.role === "pg_dump") as ArtifactEntry;
  const artifact = dumpEntry(resolvedS3).key;
  console.log("");
  console.log(`phases (best of ${PHASE_ROUNDS}, alternating):`);
  await phase("S3 GetObject plain dump (AWS SDK) to a file", () => sdkDownload(o.sdk, o.bucket, PLAIN_KEY, file));
  await phase("S3 get ciphertext (our store, no decrypt) to a file", async () => streamToFile((await o.s3Store.get(artifact)) as ReadableStream<Uint8Array>, file));
  await phase("S3 get + decrypt + authenticate, worker thread (restore's path)", () => decryptDumpTo(o.s3Store, o.master, resolvedS3, file));
  await phase("S3 get + decrypt + authenticate, all on the main thread", async () => streamToFile(await openArtifact(o.s3Store, o.master, dumpEntry(resolvedS3)), file));
  // A directory store's dump is decrypted on the main thread (restore's path); the worker-thread
  // phase shows why (postgresRestore.ts).
  await phase("dir read + decrypt + authenticate, worker thread", async () => {
    const entry = dumpEntry(resolvedDir);
    const body = (await o.dirStore.get(entry.key)) as ReadableStream<Uint8Array>;
    return decryptToFileOffThread(body, { master: o.master, expected: entry, label: `dir/${entry.key}`, file, mode: 0o600 });
  });
  await phase("dir read + decrypt + authenticate, main thread (restore's path)", () => decryptDumpTo(o.dirStore, o.master, resolvedDir, file));
  const best = new Map<string, number>();
  for (let round = 0; round < PHASE_ROUNDS; round++) {
    for (const [label, fn] of phases) {
      const ms = await timed(fn);
      rmSync(file, { force: true });
      best.set(label, Math.min(ms, best.get(label) ?? Infinity));
    }
  }
  for (const [label, ms] of best) console.log(`  ${label.padEnd(66)} ${secs(ms)} s  (${(o.dumpMiB / (ms / 1000)).toFixed(0)} MiB/s)`);
}

// Ctrl-C stops PostgreSQL and the local S3 world and deletes the temp data, as the CLI does.
installInterruptHandlers();
main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
