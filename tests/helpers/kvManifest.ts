/**
 * A committed KV backup written by hand into a store (one entries artifact, a signed manifest
 * without health figures, as written before they existed): what the CLI tests list and verify.
 */
import { writeArtifact } from "../../lib/backup/artifacts";
import type { MasterKey } from "../../lib/format/keys";
import { manifestKey } from "../../lib/format/layout";
import { MANIFEST_FORMAT, signManifest, type Manifest } from "../../lib/format/manifest";
import type { BackupStorage } from "../../lib/storage/types";

export async function writeKvBackup(store: BackupStorage, master: MasterKey, name: string, backupId: string, keys: number): Promise<Manifest> {
  const asset = { kind: "kv" as const, name };
  const entry = await writeArtifact(store, master, { key: `daily/kv/${name}/${backupId}/entries-00001-aaaaaa.drpenc`, name: "entries-00001", role: "kv-entries" }, async (out) => {
    for (let k = 0; k < keys; k++) await out.line({ k: `key-${k}`, v: Buffer.from(`value ${k}`).toString("base64") });
  });
  const m = await signManifest(master, {
    format: MANIFEST_FORMAT,
    backupId,
    stack: "t",
    asset: { ...asset, sourceId: "x" },
    tier: "daily",
    mode: "full",
    createdAt: "2026-11-20T10:10:10.000Z",
    sourcePointInTime: "2026-11-20T10:10:10.000Z",
    completedAt: "2026-11-20T10:10:11.000Z",
    expiresAt: "2026-11-27T10:10:10.000Z",
    keyId: master.id,
    encryption: { cipher: "AES-256-GCM", kdf: "HKDF-SHA256", chunkSize: 65536 },
    artifacts: [entry],
    counts: { keys },
    dependsOn: [],
    details: {},
    producer: { name: "test", version: "1" },
  });
  await store.put(manifestKey("daily", asset, backupId), JSON.stringify(m));
  return m;
}
