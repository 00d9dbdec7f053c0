/**
 * The independent logical backup of Neon (or any Postgres) outside Neon: `pg_dump` in custom
 * format, streamed through the backup format into the first store, the manifest written only
 * after pg_dump exited 0, then copied to the other stores (artifacts, then manifest).
 */
import { execFile } from "node:child_process";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { pgTool } from "../local/postgres";
import { withPgClient } from "../postgres/client";
import { spawnLibpqTool } from "../postgres/libpqTool";
import { throwIfInterrupted } from "../process/cleanup";
import { DEFAULT_CHUNK_SIZE } from "../format/artifactCipher";
import { randomBytes, toHex } from "../format/bytes";
import type { MasterKey } from "../format/keys";
import { ARTIFACT_SUFFIX, backupPrefix, manifestKey, newBackupId, type AssetRef, type Tier } from "../format/layout";
import { MANIFEST_FORMAT, signManifest, type Manifest } from "../format/manifest";
import type { BackupStorage } from "../storage/types";
import { writeArtifact } from "./artifacts";
import { addDays, chooseTier, findLatest, readLatest, writeLatest } from "./catalog";
import { healthFor } from "./health";
import { lockFor, manifestTags, replicateBackup } from "./replicate";

const exec = promisify(execFile);

export class PostgresBackupError extends Error {
  override readonly name = "PostgresBackupError";
}

export interface PostgresBackupOptions {
  readonly url: string;
  /** First store gets the backup; the others get a copy. */
  readonly stores: readonly BackupStorage[];
  readonly master: MasterKey;
  readonly stack: string;
  readonly asset: AssetRef & { kind: "neon" };
  /** Neon project id (or host) recorded as the source. */
  readonly sourceId: string;
  readonly tierDays: Record<Tier, number>;
  readonly lockMode?: "COMPLIANCE" | "GOVERNANCE";
  readonly now?: () => Date;
  readonly pgDump?: string;
  readonly onProgress?: (bytes: number) => void;
}

export async function pgMajorVersions(url: string, pgDump: string): Promise<{ server: number; serverText: string; client: number; clientText: string }> {
  return withPgClient(url, async (client) => {
    const r = await client.query<{ v: string; t: string }>("SELECT current_setting('server_version_num') AS v, current_setting('server_version') AS t");
    const { stdout } = await exec(pgDump, ["--version"]);
    const clientText = stdout.trim();
    const m = /(\d+)(?:\.(\d+))?/.exec(clientText.replace(/^\D+/, ""));
    return { server: Math.floor(Number(r.rows[0]?.v) / 10000), serverText: String(r.rows[0]?.t), client: Number(m?.[1]), clientText };
  });
}

export async function backupPostgres(o: PostgresBackupOptions): Promise<{ manifest: Manifest; key: string }> {
  const [primary, ...replicas] = o.stores;
  if (!primary) throw new PostgresBackupError("no store to write to");
  const pgDump = o.pgDump ?? pgTool("pg_dump");
  const v = await pgMajorVersions(o.url, pgDump);
  if (v.client < v.server) {
    throw new PostgresBackupError(
      `${v.clientText} is older than the server (PostgreSQL ${v.serverText}); pg_dump cannot dump a newer server. Install postgresql-client-${v.server} and point --pg-dump at it.`,
    );
  }
  const now = o.now ?? (() => new Date());
  const started = now();
  const previous = await readLatest(primary, o.master, o.asset);
  const tier = chooseTier(started, previous);
  const backupId = newBackupId(started);
  const createdAt = started.toISOString();
  const key = `${backupPrefix(tier, o.asset, backupId)}dump-${toHex(randomBytes(3))}${ARTIFACT_SUFFIX}`;

  // pg_dump takes its snapshot at start: that is the source point in time. The password goes
  // through its environment, never its command line; an interrupt stops it.
  const { child, done } = spawnLibpqTool(pgDump, ["--format=custom", "--compress=6", "--no-password"], o.url, { streamStdout: true });
  let bytes = 0;
  const entry = await writeArtifact(primary, o.master, { key, name: "dump", role: "pg_dump" }, async (out) => {
    for await (const part of Readable.toWeb(child.stdout as Readable) as unknown as AsyncIterable<Uint8Array>) {
      throwIfInterrupted();
      await out.write(part);
      bytes += part.byteLength;
      o.onProgress?.(bytes);
    }
  });
  const exit = await done;
  throwIfInterrupted();
  // A dump that did not finish is not a backup: no manifest, so nothing reads it as one.
  if (exit.code !== 0) throw new PostgresBackupError(`pg_dump exited with ${exit.code ?? exit.signal}: ${exit.stderr.trim().split("\n").slice(-3).join(" | ")}`);

  const unsigned: Omit<Manifest, "mac" | "health"> = {
    format: MANIFEST_FORMAT,
    backupId,
    stack: o.stack,
    asset: { kind: "neon", name: o.asset.name, sourceId: o.sourceId },
    tier,
    mode: "logical",
    createdAt,
    sourcePointInTime: createdAt,
    completedAt: now().toISOString(),
    expiresAt: addDays(createdAt, o.tierDays[tier]),
    keyId: o.master.id,
    encryption: { cipher: "AES-256-GCM", kdf: "HKDF-SHA256", chunkSize: DEFAULT_CHUNK_SIZE },
    artifacts: [entry],
    counts: { bytes: entry.plaintextBytes },
    dependsOn: [],
    details: { format: "custom", pgDump: v.clientText, server: v.serverText },
    producer: { name: "drposture-cli", version: "1" },
  };
  // The baseline of the size check; a store this identity may not read gives none.
  const before = await findLatest(primary, o.master, o.asset).then((f) => f?.manifest ?? null, () => null);
  const manifest = await signManifest(o.master, { ...unsigned, health: healthFor(unsigned, before) });
  const mKey = manifestKey(tier, o.asset, backupId);
  await primary.put(mKey, JSON.stringify(manifest, null, 2), { contentType: "application/json", tags: manifestTags(manifest), ...lockFor(manifest, o.tierDays[tier], { write: primary, ...(o.lockMode ? { lockMode: o.lockMode } : {}) }) });
  for (const store of replicas) await replicateBackup(primary, { write: store, ...(o.lockMode ? { lockMode: o.lockMode } : {}) }, manifest, mKey, o.tierDays[tier]);
  // The watchdog's "latest" pointer; a store whose identity may not write _state/ (the S3
  // writer) simply keeps none.
  for (const store of o.stores) await writeLatest(store, o.master, o.asset, previous, manifest, mKey).catch(() => undefined);
  return { manifest, key: mKey };
}
