/**
 * `drposture list`: the backups of a store, each manifest verified (MAC, key, and that it lies
 * where its signed tier, asset and backup id say) before anything it says is shown. A manifest
 * that fails (altered, forged, moved, another key, not even JSON) is one REJECTED row with the
 * reason, never a lost listing; an asset behind its sealed latest pointer is a problem too.
 */
import { listBackups, listTierObjects, readVerifiedManifest } from "../backup/catalog";
import { assessHealth, trendOf } from "../backup/health";
import { rollbackProblems } from "../backup/rollback";
import type { MasterKey } from "../format/keys";
import { assetId, parseObjectKey, type AssetRef } from "../format/layout";
import { ManifestError, type Manifest } from "../format/manifest";
import type { BackupStorage } from "../storage/types";
import { assetMatches, namedAsset } from "./verify";

export interface ListedBackup {
  readonly store: string;
  readonly asset: string;
  readonly tier: string;
  readonly backupId: string;
  readonly manifest: string;
  readonly status: "ok" | "rejected";
  /** Why the manifest was rejected. */
  readonly problem?: string;
  readonly mode?: Manifest["mode"];
  readonly sourcePointInTime?: string;
  readonly bytes?: number;
  readonly artifacts?: number;
  /** Duration, items and bytes against the backups before it (manifests from format 1.1 on). */
  readonly health?: { readonly durationSeconds: number; readonly items: number | null; readonly bytes: number | null; readonly trend: string; readonly warnings: string[] };
}

export interface StoreListing {
  readonly rows: ListedBackup[];
  /** Asset-level problems (behind the latest pointer, a pointer that does not open). */
  readonly problems: Array<{ key: string; problem: string }>;
}

async function assetsOf(store: BackupStorage, asset: string | undefined): Promise<AssetRef[]> {
  const assets = new Map<string, AssetRef>();
  for await (const obj of listTierObjects(store)) {
    const p = parseObjectKey(obj.key);
    if (p && assetMatches(asset, p.kind, p.asset)) assets.set(`${p.kind}/${p.asset}`, { kind: p.kind, name: p.asset });
  }
  return [...assets.values()];
}

export async function listStoreBackups(store: BackupStorage, master: MasterKey, asset?: string): Promise<StoreListing> {
  const rows: ListedBackup[] = [];
  const verified: Manifest[] = [];
  const assets = await assetsOf(store, asset);
  for (const a of assets) {
    for (const ref of await listBackups(store, a)) {
      const row = { store: store.label, asset: assetId(a), tier: ref.tier, backupId: ref.backupId, manifest: ref.key };
      try {
        const m = await readVerifiedManifest(store, master, ref.key);
        verified.push(m);
        const bytes = m.artifacts.reduce((n, x) => n + x.ciphertextBytes, 0);
        const health = m.health && { durationSeconds: m.health.durationSeconds, items: m.health.items, bytes: m.health.bytes, trend: trendOf(m), warnings: assessHealth(m).map((f) => f.message) };
        rows.push({ ...row, status: "ok", mode: m.mode, sourcePointInTime: m.sourcePointInTime, bytes, artifacts: m.artifacts.length, ...(health ? { health } : {}) });
      } catch (err) {
        if (!(err instanceof ManifestError)) throw err;
        rows.push({ ...row, status: "rejected", problem: err.message });
      }
    }
  }
  const problems = await rollbackProblems(store, master, [...assets, ...namedAsset(asset)], verified);
  return { rows, problems };
}
