/**
 * Directory stores holding real signed backups (KV entries, encrypted and MAC'd exactly as the
 * Worker writes them) and the sealed latest pointer the Worker keeps, for the tests of what a
 * store may be trusted with. Nothing here bypasses the format: it uses the shipped writers.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { writeArtifact } from "../../lib/backup/artifacts";
import { readLatest, writeLatest } from "../../lib/backup/catalog";
import type { MasterKey } from "../../lib/format/keys";
import { backupPrefix, manifestKey, type AssetRef, type Tier } from "../../lib/format/layout";
import { MANIFEST_FORMAT, signManifest, type Manifest } from "../../lib/format/manifest";
import type { DirStorage } from "../../lib/storage/dirStorage";

export const TEST_KEY_HEX = "3c".repeat(32);
export const OTHER_KEY_HEX = "a7".repeat(32);

/** A backup id at a time (ms precision) with a recognisable suffix. */
export function backupIdAt(iso: string, suffix = "00000000"): string {
  return `${iso.replace(/[-:]/g, "").replace(".", "")}-${suffix}`;
}

export interface WrittenBackup {
  readonly key: string;
  readonly manifest: Manifest;
}

export interface BackupSpec {
  readonly asset: AssetRef;
  readonly backupId: string;
  /** Key → value of the namespace at the backup. */
  readonly entries: Readonly<Record<string, string>>;
  readonly sourcePointInTime: string;
  readonly tier?: Tier;
  /** Sets the sealed latest pointer as the Worker does after a commit. */
  readonly commit?: boolean;
  readonly chunkSize?: number;
}

/** A full KV backup: one entries artifact, the signed manifest last, then the pointer. */
export async function writeKvBackup(store: DirStorage, master: MasterKey, s: BackupSpec): Promise<WrittenBackup> {
  const tier = s.tier ?? "daily";
  const prefix = backupPrefix(tier, s.asset, s.backupId);
  const entry = await writeArtifact(
    store,
    master,
    { key: `${prefix}entries-00001-aaaaaa.drpenc`, name: "entries-00001", role: "kv-entries" },
    async (out) => {
      for (const k of Object.keys(s.entries).sort()) await out.line({ k, v: Buffer.from(s.entries[k] as string).toString("base64") });
    },
    s.chunkSize,
  );
  const manifest = await signManifest(master, {
    format: MANIFEST_FORMAT,
    backupId: s.backupId,
    stack: "test",
    asset: { ...s.asset, sourceId: `ns-${s.asset.name}` },
    tier,
    mode: "full",
    createdAt: s.sourcePointInTime,
    sourcePointInTime: s.sourcePointInTime,
    completedAt: s.sourcePointInTime,
    expiresAt: "2099-01-01T00:00:00.000Z",
    keyId: master.id,
    encryption: { cipher: "AES-256-GCM", kdf: "HKDF-SHA256", chunkSize: s.chunkSize ?? 65536 },
    artifacts: [entry],
    counts: { keys: Object.keys(s.entries).length },
    dependsOn: [],
    details: {},
    producer: { name: "test", version: "1" },
  });
  const key = manifestKey(tier, s.asset, s.backupId);
  await store.put(key, JSON.stringify(manifest, null, 2));
  if (s.commit !== false) await writeLatest(store, master, s.asset, await readLatest(store, master, s.asset), manifest, key);
  return { key, manifest };
}

export function copyDir(from: string, prefix = "drposture-trust-"): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  cpSync(from, dir, { recursive: true });
  return dir;
}

/** Every file under a directory with its size and mtime: to show that nothing was written. */
export function treeSnapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = `${statSync(p).size}:${statSync(p).mtimeMs}:${readFileSync(p).subarray(0, 64).toString("hex")}`;
    }
  };
  walk(dir);
  return out;
}
