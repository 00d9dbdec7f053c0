/**
 * Choosing the backup to restore (`--from latest | <backupId or manifest key> | <ISO time>`)
 * and loading what it depends on, every manifest's MAC checked before anything is trusted.
 */
import { listBackups, readManifest } from "../backup/catalog";
import { backupIdTime, type AssetRef } from "../format/layout";
import type { MasterKey } from "../format/keys";
import { verifyManifest, type Manifest } from "../format/manifest";
import type { BackupStorage } from "../storage/types";

export class RestoreInputError extends Error {
  override readonly name = "RestoreInputError";
}

export interface Resolved {
  readonly manifest: Manifest;
  readonly key: string;
  /** Manifests this backup depends on, by manifest key (KV full base, R2 earlier packs). */
  readonly dependencies: ReadonlyMap<string, Manifest>;
}

/** The manifest key `--from` selects (unverified: the caller verifies it). */
export async function pick(store: BackupStorage, asset: AssetRef, from: string): Promise<string> {
  const all = await listBackups(store, asset);
  if (!all.length) throw new RestoreInputError(`no committed backup of ${asset.kind}/${asset.name} in ${store.label}`);
  if (from === "latest") return (all[all.length - 1] as { key: string }).key;
  const exact = all.find((b) => b.backupId === from || b.key === from);
  if (exact) return exact.key;
  const t = Date.parse(from);
  if (Number.isNaN(t)) throw new RestoreInputError(`--from ${from}: expected "latest", a backup id, a manifest key or an ISO time`);
  // Newest backup whose source point is at or before the time asked for.
  const candidates = all.filter((b) => backupIdTime(b.backupId).getTime() <= t).reverse();
  for (const c of candidates) {
    const m = await readManifest(store, c.key);
    if (m && Date.parse(m.sourcePointInTime) <= t) return c.key;
  }
  throw new RestoreInputError(`no backup of ${asset.kind}/${asset.name} at or before ${from}`);
}

export async function resolveBackup(store: BackupStorage, master: MasterKey, asset: AssetRef, from: string): Promise<Resolved> {
  const key = await pick(store, asset, from);
  const manifest = await readManifest(store, key);
  if (!manifest) throw new RestoreInputError(`${store.label}/${key} vanished`);
  await verifyManifest(master, manifest, `${store.label}/${key}`, key);
  const dependencies = new Map<string, Manifest>();
  for (const ref of manifest.dependsOn) {
    const dep = await readManifest(store, ref.key);
    if (!dep) throw new RestoreInputError(`backup ${manifest.backupId} needs ${ref.key}, which is missing from ${store.label}`);
    await verifyManifest(master, dep, `${store.label}/${ref.key}`, ref.key);
    dependencies.set(ref.key, dep);
  }
  return { manifest, key, dependencies };
}
