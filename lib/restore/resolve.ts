/**
 * Choosing the backup to restore (`--from latest | <backupId or manifest key> | <ISO time>`)
 * and loading what it depends on. Selection reads signed fields only: candidates are walked
 * newest first by listing, each verified (MAC, key, and that it lies where its signed tier,
 * asset and backup id say), rejected ones are skipped and reported, and the newest verified one
 * wins. `latest` and a time are then checked against the sealed latest pointer (rollback.ts);
 * naming a backup id is the operator's explicit choice and is not.
 */
import { listBackups, listTierObjects, readManifest, readVerifiedManifest } from "../backup/catalog";
import { checkRollback } from "../backup/rollback";
import { assetId, backupIdTime, MANIFEST_NAME, parseObjectKey, type AssetRef } from "../format/layout";
import type { MasterKey } from "../format/keys";
import { ManifestError, type Manifest, type ManifestRef, type ManifestRejection } from "../format/manifest";
import type { BackupStorage } from "../storage/types";
import { RestoreRefusedError } from "./modes";

export class RestoreInputError extends Error {
  override readonly name = "RestoreInputError";
}

export interface SkippedManifest {
  readonly key: string;
  readonly reason: string;
  readonly rejection: ManifestRejection;
  /** The key id the manifest names, when it names another key. */
  readonly keyId?: string;
}

export interface Resolved {
  readonly manifest: Manifest;
  readonly key: string;
  /** Manifests this backup depends on, by manifest key (KV full base, R2 earlier packs). */
  readonly dependencies: ReadonlyMap<string, Manifest>;
  /** Newer candidates refused on the way (altered, moved, another key), to tell the operator. */
  readonly skipped: readonly SkippedManifest[];
  /** Things the operator should know that did not stop the restore. */
  readonly warnings: readonly string[];
}

const BACKUP_ID = /^\d{8}T\d{9}Z-[0-9a-f]{8}$/;

/** Walks refs newest first; returns the first verified one `accept` takes, skipping rejects. */
async function newestVerified(store: BackupStorage, master: MasterKey, refs: readonly ManifestRef[], skipped: SkippedManifest[], accept: (m: Manifest) => boolean = () => true): Promise<{ manifest: Manifest; key: string } | null> {
  for (const ref of [...refs].reverse()) {
    try {
      const manifest = await readVerifiedManifest(store, master, ref.key);
      if (accept(manifest)) return { manifest, key: ref.key };
    } catch (err) {
      if (!(err instanceof ManifestError)) throw err;
      skipped.push({ key: ref.key, reason: err.message, rejection: err.reason, ...(err.keyId ? { keyId: err.keyId } : {}) });
    }
  }
  return null;
}

function notFound(store: BackupStorage, asset: AssetRef, from: string, all: readonly ManifestRef[]): RestoreInputError {
  const id = parseObjectKey(from)?.backupId ?? from;
  const older = all.filter((b) => b.backupId < id).at(-1);
  const newer = all.find((b) => b.backupId > id);
  const nearest = [older && `${older.backupId} (before)`, newer && `${newer.backupId} (after)`].filter(Boolean).join(", ");
  return new RestoreInputError(`no backup with id ${from} of ${assetId(asset)} in ${store.label}; nearest: ${nearest} (drposture list shows them all)`);
}

function noneVerified(store: BackupStorage, master: MasterKey, asset: AssetRef, skipped: readonly SkippedManifest[]): ManifestError {
  const first = skipped[0] as SkippedManifest;
  if (skipped.every((s) => s.rejection === "wrong-key")) {
    const named = [...new Set(skipped.map((s) => s.keyId))].join(", ");
    return new ManifestError(`no backup of ${assetId(asset)} in ${store.label} verifies with the key given: they were written with key ${named}, the key given is ${master.id} (wrong key; check --key-file or the escrow secret)`, "wrong-key", first.keyId);
  }
  const why = skipped.slice(0, 3).map((s) => s.reason).join("; ");
  return new ManifestError(`no verified backup of ${assetId(asset)} in ${store.label}: ${skipped.length} manifest(s) rejected (${why}${skipped.length > 3 ? "; ..." : ""})`, first.rejection);
}

/** The manifest `--from` selects, verified; rejected newer candidates are added to `skipped`. */
async function select(store: BackupStorage, master: MasterKey, asset: AssetRef, from: string, all: readonly ManifestRef[], skipped: SkippedManifest[]): Promise<{ manifest: Manifest; key: string; named?: true }> {
  const exact = all.find((b) => b.backupId === from || b.key === from);
  if (exact) return { manifest: await readVerifiedManifest(store, master, exact.key), key: exact.key, named: true };
  if (BACKUP_ID.test(from) || parseObjectKey(from)) throw notFound(store, asset, from, all);
  if (from === "latest") {
    const found = await newestVerified(store, master, all, skipped);
    if (!found) throw noneVerified(store, master, asset, skipped);
    return found;
  }
  const t = Date.parse(from);
  if (Number.isNaN(t)) throw new RestoreInputError(`--from ${from}: expected "latest", a backup id, a manifest key or an ISO time`);
  // Newest backup whose signed source point is at or before the time asked for.
  const candidates = all.filter((b) => backupIdTime(b.backupId).getTime() <= t);
  const found = await newestVerified(store, master, candidates, skipped, (m) => Date.parse(m.sourcePointInTime) <= t);
  if (!found) throw skipped.length ? noneVerified(store, master, asset, skipped) : new RestoreInputError(`no backup of ${assetId(asset)} at or before ${from} in ${store.label}`);
  return found;
}

/**
 * Refuses `latest` or a time when the store is behind what the Worker last committed: the
 * answer would silently be an older backup. Naming a backup id goes ahead (with a warning).
 */
async function guardRollback(store: BackupStorage, master: MasterKey, asset: AssetRef, from: string, named: boolean, all: readonly ManifestRef[], chosen: Manifest, warnings: string[]): Promise<void> {
  const newest = from === "latest" ? chosen : (await newestVerified(store, master, all.filter((b) => b.backupId >= chosen.backupId), []))?.manifest ?? chosen;
  const check = await checkRollback(store, master, asset, newest.backupId);
  if (check.unchecked) warnings.push(check.unchecked);
  if (!check.rollback) return;
  if (named) {
    warnings.push(check.rollback);
    return;
  }
  throw new RestoreRefusedError(`refusing --from ${from}: ${check.rollback}. To restore anyway, name the backup: --from ${newest.backupId}`);
}

export async function resolveBackup(store: BackupStorage, master: MasterKey, asset: AssetRef, from: string): Promise<Resolved> {
  const all = await listBackups(store, asset);
  if (!all.length) {
    const check = await checkRollback(store, master, asset, null);
    if (check.rollback) throw new RestoreRefusedError(check.rollback);
    throw new RestoreInputError(`no committed backup of ${assetId(asset)} in ${store.label}`);
  }
  const skipped: SkippedManifest[] = [];
  const warnings: string[] = [];
  const { manifest, key, named } = await select(store, master, asset, from, all, skipped);
  await guardRollback(store, master, asset, from, !!named, all, manifest, warnings);
  const dependencies = new Map<string, Manifest>();
  for (const ref of manifest.dependsOn) {
    try {
      dependencies.set(ref.key, await readVerifiedManifest(store, master, ref.key));
    } catch (err) {
      if (err instanceof ManifestError && err.reason === "missing") throw new RestoreInputError(`backup ${manifest.backupId} needs ${ref.key}, which is missing from ${store.label}`);
      throw err;
    }
  }
  return { manifest, key, dependencies, skipped, warnings };
}

/**
 * The key id of the backup a command will read first, for finding its key in the escrow. Read
 * before any key is at hand, so unverified: only a name to look up; a wrong one fails later, at
 * verification, and is never trusted. `asset` is "kind/name" or a name; `from` a restore's --from.
 */
export async function keyIdHint(store: BackupStorage, asset?: string, from?: string): Promise<string | undefined> {
  const [kind, name] = asset?.includes("/") ? (asset.split("/") as [string, string]) : [undefined, asset];
  if (kind && name) {
    // One asset: only its prefixes are listed.
    const all = await listBackups(store, { kind: kind as AssetRef["kind"], name });
    const ref = (from && all.find((b) => b.backupId === from || b.key === from)) || all.at(-1);
    return ref ? (await readManifest(store, ref.key).catch(() => null))?.keyId : undefined;
  }
  let newest: { id: string; key: string } | undefined;
  for await (const o of listTierObjects(store)) {
    const p = parseObjectKey(o.key);
    if (!p || p.file !== MANIFEST_NAME || (name && p.asset !== name) || (kind && p.kind !== kind)) continue;
    if (from && (p.backupId === from || o.key === from)) return (await readManifest(store, o.key).catch(() => null))?.keyId;
    if (!newest || p.backupId > newest.id) newest = { id: p.backupId, key: o.key };
  }
  return newest ? (await readManifest(store, newest.key).catch(() => null))?.keyId : undefined;
}
