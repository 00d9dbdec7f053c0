/**
 * Finding backups: manifests by listing (the truth), and a small "latest" pointer per asset
 * under _state/ (a cache updated after each commit) so that the watchdog and the tier choice
 * cost one read instead of a listing. Tier choice by date lives here too.
 */
import { assetPrefix, MANIFEST_NAME, parseObjectKey, STATE_PREFIX, TIERS, type AssetRef, type Tier } from "../format/layout";
import { parseManifest, type Manifest, type ManifestRef } from "../format/manifest";
import { getText, type BackupStorage, type ObjectInfo } from "../storage/types";

export interface BackupSummary extends ManifestRef {
  readonly mode: Manifest["mode"];
  readonly createdAt: string;
  readonly sourcePointInTime: string;
  readonly completedAt: string;
  readonly expiresAt: string;
}

export interface LatestPointer {
  readonly asset: string;
  readonly latest: BackupSummary;
  readonly byTier: Partial<Record<Tier, BackupSummary>>;
  /** Newest full backup (the base of KV incrementals). */
  readonly lastFull?: BackupSummary;
}

export function summarize(m: Manifest, key: string): BackupSummary {
  return {
    backupId: m.backupId,
    tier: m.tier,
    key,
    mode: m.mode,
    createdAt: m.createdAt,
    sourcePointInTime: m.sourcePointInTime,
    completedAt: m.completedAt,
    expiresAt: m.expiresAt,
  };
}

export const latestPointerKey = (a: AssetRef) => `${STATE_PREFIX}latest/${a.kind}/${a.name}.json`;

export async function readLatest(storage: BackupStorage, a: AssetRef): Promise<LatestPointer | null> {
  const text = await getText(storage, latestPointerKey(a));
  if (!text) return null;
  try {
    return JSON.parse(text) as LatestPointer;
  } catch {
    return null;
  }
}

export async function writeLatest(storage: BackupStorage, a: AssetRef, previous: LatestPointer | null, m: Manifest, key: string): Promise<LatestPointer> {
  const s = summarize(m, key);
  const pointer: LatestPointer = {
    asset: `${a.kind}/${a.name}`,
    latest: s,
    byTier: { ...(previous?.byTier ?? {}), [m.tier]: s },
    ...(m.mode === "full" || m.mode === "logical" || m.mode === "mirror" ? { lastFull: s } : previous?.lastFull ? { lastFull: previous.lastFull } : {}),
  };
  await storage.put(latestPointerKey(a), JSON.stringify(pointer), { contentType: "application/json" });
  return pointer;
}

/**
 * Every object under the tier prefixes, tier by tier. Backups live only there, and the
 * verifier and restorer identities may list only there (an s3:prefix condition), so a listing
 * of the whole bucket would be refused by S3 with 403.
 */
export async function* listTierObjects(storage: BackupStorage, tiers: readonly Tier[] = TIERS): AsyncIterable<ObjectInfo> {
  for (const tier of tiers) yield* storage.list(`${tier}/`);
}

/**
 * Whether an object exists, asked by listing its key as a prefix. A HEAD of a missing key is
 * answered 403, not 404, to an identity without an unconditioned s3:ListBucket (the verifier
 * and the restorer may list only under the tier prefixes), so existence is asked this way.
 */
export async function objectExists(storage: BackupStorage, key: string): Promise<ObjectInfo | null> {
  for await (const o of storage.list(key)) {
    if (o.key === key) return o;
    break;
  }
  return null;
}

/** Every committed backup of an asset (those with a manifest), oldest first. */
export async function listBackups(storage: BackupStorage, a: AssetRef, tiers: readonly Tier[] = TIERS): Promise<ManifestRef[]> {
  const out: ManifestRef[] = [];
  for (const tier of tiers) {
    for await (const o of storage.list(assetPrefix(tier, a))) {
      const p = parseObjectKey(o.key);
      if (p && p.file === MANIFEST_NAME) out.push({ backupId: p.backupId, tier: p.tier, key: o.key });
    }
  }
  return out.sort((x, y) => (x.backupId < y.backupId ? -1 : 1));
}

export async function readManifest(storage: BackupStorage, key: string): Promise<Manifest | null> {
  const text = await getText(storage, key);
  return text === null ? null : parseManifest(text, `${storage.label}/${key}`);
}

/** Newest committed backup, trusting the pointer only if its manifest still exists. */
export async function findLatest(storage: BackupStorage, a: AssetRef): Promise<{ manifest: Manifest; key: string } | null> {
  const pointer = await readLatest(storage, a);
  if (pointer) {
    const m = await readManifest(storage, pointer.latest.key);
    if (m) return { manifest: m, key: pointer.latest.key };
  }
  const all = await listBackups(storage, a);
  const last = all[all.length - 1];
  if (!last) return null;
  const m = await readManifest(storage, last.key);
  return m ? { manifest: m, key: last.key } : null;
}

function isoWeekStart(d: Date): number {
  const day = (d.getUTCDay() + 6) % 7; // Monday = 0
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day);
}

/**
 * The tier a backup starting at `now` lands in: the first backup of a UTC month is monthly,
 * the first of an ISO week weekly, the rest daily. Decided from what exists (not from the
 * calendar slot), so a failed first run is made up by the next one.
 */
export function chooseTier(now: Date, pointer: Pick<LatestPointer, "byTier"> | null): Tier {
  const monthly = pointer?.byTier.monthly ? new Date(pointer.byTier.monthly.createdAt) : null;
  if (!monthly || monthly.getUTCFullYear() !== now.getUTCFullYear() || monthly.getUTCMonth() !== now.getUTCMonth()) return "monthly";
  const weekly = [pointer?.byTier.weekly, pointer?.byTier.monthly]
    .filter((s): s is BackupSummary => !!s)
    .map((s) => new Date(s.createdAt))
    .some((d) => isoWeekStart(d) === isoWeekStart(now));
  return weekly ? "daily" : "weekly";
}

export function addDays(iso: string | Date, days: number): string {
  return new Date(new Date(iso).getTime() + days * 86_400_000).toISOString();
}
