/**
 * Object key layout in both backup buckets:
 *   <tier>/<kind>/<asset>/<backupId>/manifest.json        the commit point, written last
 *   <tier>/<kind>/<asset>/<backupId>/<artifact>.drpenc    encrypted artifacts
 *   _state/...                                            job cursors and indexes (not backups)
 * backupId = UTC time to the millisecond + random suffix, so names sort by time.
 */
import { randomBytes, toHex } from "./bytes";

export type Tier = "daily" | "weekly" | "monthly";
export const TIERS: readonly Tier[] = ["daily", "weekly", "monthly"];
export type AssetKind = "d1" | "kv" | "r2" | "neon";

export const MANIFEST_NAME = "manifest.json";
export const ARTIFACT_SUFFIX = ".drpenc";
export const STATE_PREFIX = "_state/";

export interface AssetRef {
  readonly kind: AssetKind;
  readonly name: string;
}

export function assetId(a: AssetRef): string {
  return `${a.kind}/${a.name}`;
}

export function newBackupId(at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, "").replace(".", "");
  return `${stamp}-${toHex(randomBytes(4))}`;
}

/** Time encoded in a backup id. */
export function backupIdTime(backupId: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z-[0-9a-f]{8}$/.exec(backupId);
  if (!m) throw new Error(`not a backup id: ${backupId}`);
  const [, y, mo, d, h, mi, s, ms] = m;
  return new Date(Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!, +ms!));
}

export function assetPrefix(tier: Tier, a: AssetRef): string {
  return `${tier}/${a.kind}/${a.name}/`;
}

export function backupPrefix(tier: Tier, a: AssetRef, backupId: string): string {
  return `${assetPrefix(tier, a)}${backupId}/`;
}

export function manifestKey(tier: Tier, a: AssetRef, backupId: string): string {
  return `${backupPrefix(tier, a, backupId)}${MANIFEST_NAME}`;
}

export interface ParsedKey {
  tier: Tier;
  kind: AssetKind;
  asset: string;
  backupId: string;
  file: string;
}

export function parseObjectKey(key: string): ParsedKey | undefined {
  const m = /^(daily|weekly|monthly)\/(d1|kv|r2|neon)\/([a-z][a-z0-9-]*)\/([0-9TZ-]+-[0-9a-f]{8})\/(.+)$/.exec(key);
  if (!m) return undefined;
  return { tier: m[1] as Tier, kind: m[2] as AssetKind, asset: m[3]!, backupId: m[4]!, file: m[5]! };
}
