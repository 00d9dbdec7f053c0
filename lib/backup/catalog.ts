/**
 * Finding backups: manifests by listing (the truth), and a small sealed "latest" pointer per
 * asset under _state/ (a cache updated after each commit) so that the watchdog and the tier
 * choice cost one read instead of a listing. A pointer that does not open (altered, forged,
 * another key) is ignored; a manifest is trusted only once its MAC and location check out.
 * Tier choice by date lives here too.
 */
import type { MasterKey } from "../format/keys";
import { assetPrefix, MANIFEST_NAME, parseObjectKey, STATE_PREFIX, TIERS, type AssetRef, type Tier } from "../format/layout";
import { ManifestError, parseManifest, verifyManifest, type Manifest, type ManifestRef } from "../format/manifest";
import { openState, sealState, StateSealError } from "../format/sealedState";
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
const latestPurpose = (a: AssetRef) => `latest:${a.kind}/${a.name}`;

export interface LatestRead {
  readonly pointer: LatestPointer | null;
  /** Why a pointer that exists was ignored (its seal failed), if it was. */
  readonly ignored?: string;
}

/** The sealed pointer, or why it was ignored. */
export async function readLatestPointer(storage: BackupStorage, master: MasterKey, a: AssetRef): Promise<LatestRead> {
  const text = await getText(storage, latestPointerKey(a));
  if (!text) return { pointer: null };
  try {
    return { pointer: await openState<LatestPointer>(master, latestPurpose(a), text, `${storage.label}/${latestPointerKey(a)}`) };
  } catch (err) {
    if (err instanceof StateSealError) return { pointer: null, ignored: err.message };
    throw err;
  }
}

export async function readLatest(storage: BackupStorage, master: MasterKey, a: AssetRef): Promise<LatestPointer | null> {
  return (await readLatestPointer(storage, master, a)).pointer;
}

export async function writeLatest(storage: BackupStorage, master: MasterKey, a: AssetRef, previous: LatestPointer | null, m: Manifest, key: string): Promise<LatestPointer> {
  const s = summarize(m, key);
  const pointer: LatestPointer = {
    asset: `${a.kind}/${a.name}`,
    latest: s,
    byTier: { ...(previous?.byTier ?? {}), [m.tier]: s },
    ...(m.mode === "full" || m.mode === "logical" || m.mode === "mirror" ? { lastFull: s } : previous?.lastFull ? { lastFull: previous.lastFull } : {}),
  };
  await storage.put(latestPointerKey(a), await sealState(master, latestPurpose(a), pointer), { contentType: "application/json" });
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

/** Every committed backup of an asset (those with a manifest), oldest first; with `after`, only
 * those with a newer backup id (listed from there on, where the storage can). */
export async function listBackups(storage: BackupStorage, a: AssetRef, tiers: readonly Tier[] = TIERS, after?: string): Promise<ManifestRef[]> {
  const out: ManifestRef[] = [];
  for (const tier of tiers) {
    // "~" sorts after every file name of a backup: the listing starts past `after`'s own objects.
    for await (const o of storage.list(assetPrefix(tier, a), after ? { startAfter: `${assetPrefix(tier, a)}${after}/~` } : {})) {
      const p = parseObjectKey(o.key);
      if (p && p.file === MANIFEST_NAME && (!after || p.backupId > after)) out.push({ backupId: p.backupId, tier: p.tier, key: o.key });
    }
  }
  return out.sort((x, y) => (x.backupId < y.backupId ? -1 : 1));
}

export async function readManifest(storage: BackupStorage, key: string): Promise<Manifest | null> {
  const text = await getText(storage, key);
  return text === null ? null : parseManifest(text, `${storage.label}/${key}`);
}

/**
 * A manifest read and verified where it lies: MAC, key, and that its signed tier, asset and
 * backup id name this very key. Anything else is a ManifestError saying why (its `reason`).
 */
export async function readVerifiedManifest(storage: BackupStorage, master: MasterKey, key: string): Promise<Manifest> {
  const label = `${storage.label}/${key}`;
  const text = await getText(storage, key);
  if (text === null) throw new ManifestError(`${label} is missing`, "missing");
  const m = parseManifest(text, label);
  await verifyManifest(master, m, label, key);
  return m;
}

/**
 * Newest committed backup. The sealed pointer saves most of a listing when its manifest exists,
 * verifies and sits where it belongs; otherwise the listing decides, newest first, skipping any
 * manifest that fails verification (each such failure is reported in `rejected`). A sealed
 * pointer can be replayed by whoever holds the bucket's token, so the backups listed after the
 * one it names are still looked at: an older pointer put back cannot hide the newest backup
 * from the watchdog nor make an older one the health baseline of the next.
 */
export type FoundLatest = { manifest: Manifest; key: string; rejected: string[] } | { manifest: null; key: null; rejected: string[] };

export async function findLatest(storage: BackupStorage, master: MasterKey, a: AssetRef): Promise<FoundLatest | null> {
  const problems = new Set<string>();
  const read = await readLatestPointer(storage, master, a);
  if (read.ignored) problems.add(read.ignored);
  const trusted = async (key: string): Promise<Manifest | null> => {
    try {
      const m = await readManifest(storage, key);
      if (m) await verifyManifest(master, m, `${storage.label}/${key}`, key);
      return m;
    } catch (err) {
      problems.add((err as Error).message);
      return null;
    }
  };
  const pointed = read.pointer ? await trusted(read.pointer.latest.key) : null;
  const all = await listBackups(storage, a, TIERS, pointed?.backupId);
  for (const ref of all.reverse()) {
    const m = await trusted(ref.key);
    if (m) return { manifest: m, key: ref.key, rejected: [...problems] };
  }
  if (pointed && read.pointer) return { manifest: pointed, key: read.pointer.latest.key, rejected: [...problems] };
  return problems.size ? { manifest: null, key: null, rejected: [...problems] } : null;
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
