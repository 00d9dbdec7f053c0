/**
 * The manifest: one per backup, written last. An artifact without a manifest is not a backup.
 * It is plain JSON (listing and planning need it without decrypting anything) and carries an
 * HMAC-SHA256 over its canonical form with a key derived from the master key, so a manifest
 * cannot be edited to point at other artifacts or hashes.
 */
import type { ArtifactStats } from "./artifactCipher";
import { fromBase64, textEncoder, toBase64 } from "./bytes";
import type { MasterKey } from "./keys";
import { manifestKey, type AssetKind, type Tier } from "./layout";

export const MANIFEST_FORMAT = "drposture-manifest/1";

export interface ArtifactEntry extends ArtifactStats {
  /** File name inside the backup's prefix. */
  readonly name: string;
  /** Full object key. */
  readonly key: string;
  /** What the plaintext holds, e.g. "d1-rows", "kv-entries", "kv-index", "r2-pack", "pg_dump". */
  readonly role: string;
}

/** One backup's figures. items/bytes describe the source state the backup holds; null where
 * the backup cannot tell (a KV differential holds only what changed, so no total bytes). */
export interface HealthSample {
  readonly backupId: string;
  readonly mode: Manifest["mode"];
  readonly durationSeconds: number;
  readonly items: number | null;
  readonly bytes: number | null;
}

export interface BackupHealth {
  readonly durationSeconds: number;
  readonly items: number | null;
  /** What `items` counts: rows, keys, objects. */
  readonly itemsLabel: string | null;
  readonly bytes: number | null;
  /** Earlier backups of this asset, oldest first (at most 10 per mode: lib/backup/health.ts). */
  readonly history: readonly HealthSample[];
}

export interface ManifestRef {
  readonly backupId: string;
  readonly tier: Tier;
  readonly key: string;
}

export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly backupId: string;
  readonly stack: string;
  readonly asset: { readonly kind: AssetKind; readonly name: string; readonly sourceId: string };
  readonly tier: Tier;
  /** full / incremental (KV), mirror (R2), logical (D1, pg_dump). */
  readonly mode: "full" | "incremental" | "mirror" | "logical";
  readonly createdAt: string;
  /** The source state this backup reflects; RPO is measured from here. */
  readonly sourcePointInTime: string;
  readonly completedAt: string;
  /** When the tier's lifecycle deletes this backup's own objects. */
  readonly expiresAt: string;
  readonly keyId: string;
  readonly encryption: { readonly cipher: "AES-256-GCM"; readonly kdf: "HKDF-SHA256"; readonly chunkSize: number };
  readonly artifacts: readonly ArtifactEntry[];
  readonly counts: Readonly<Record<string, number>>;
  /** Earlier backups whose artifacts a restore also needs (KV chain, R2 unchanged objects). */
  readonly dependsOn: readonly ManifestRef[];
  /** Kind-specific facts (consistency, pg_dump version, chain position...). */
  readonly details: Readonly<Record<string, unknown>>;
  readonly producer: { readonly name: string; readonly version: string };
  /** Duration and size of this backup and of the ones before it (absent before format 1.1). */
  readonly health?: BackupHealth;
  readonly mac?: string;
}

/** Why a manifest was refused; "wrong-key" names the key id it claims in `keyId`. */
export type ManifestRejection = "missing" | "malformed" | "wrong-key" | "unsigned" | "altered" | "misplaced";

export class ManifestError extends Error {
  override readonly name = "ManifestError";
  constructor(
    message: string,
    readonly reason: ManifestRejection = "malformed",
    /** The key id the manifest names, when the reason is "wrong-key". */
    readonly keyId?: string,
  ) {
    super(message);
  }
}

/** JSON with object keys sorted at every level: the bytes the MAC covers. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export async function signManifest(master: MasterKey, manifest: Omit<Manifest, "mac">): Promise<Manifest> {
  const mac = await crypto.subtle.sign("HMAC", master.macKey, textEncoder.encode(canonicalJson(manifest)));
  return { ...manifest, mac: toBase64(new Uint8Array(mac)) };
}

export function parseManifest(text: string, label = "manifest"): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch {
    throw new ManifestError(`${label} is not valid JSON`, "malformed");
  }
  if (!m || typeof m !== "object" || Array.isArray(m)) throw new ManifestError(`${label} is not a manifest (not a JSON object)`, "malformed");
  if (m.format !== MANIFEST_FORMAT) throw new ManifestError(`${label}: unsupported format ${JSON.stringify(m.format)}`, "malformed");
  return m;
}

/**
 * Checks the MAC (and that the key is the one the manifest names). With `key`, also that the
 * manifest sits where its signed content says it belongs (tier, asset, backup id): a valid
 * manifest copied under another key (a newer backup id, another asset) is refused, so an older
 * backup cannot be passed off as the latest nor one asset's backup as another's.
 */
export async function verifyManifest(master: MasterKey, manifest: Manifest, label = "manifest", key?: string): Promise<void> {
  if (manifest.keyId !== master.id) {
    const named = String(manifest.keyId);
    throw new ManifestError(`${label}: written with key ${named}, but the key given is ${master.id} (wrong key)`, "wrong-key", named);
  }
  if (typeof manifest.mac !== "string" || !manifest.mac) throw new ManifestError(`${label}: has no MAC`, "unsigned");
  const { mac, ...rest } = manifest;
  let macBytes: Uint8Array<ArrayBuffer>;
  try {
    macBytes = fromBase64(mac);
  } catch {
    throw new ManifestError(`${label}: MAC is not base64 (the manifest was altered)`, "altered");
  }
  let canonical: string;
  try {
    canonical = canonicalJson(rest);
  } catch (err) {
    // Nested deeper than the stack (planted): one more bad manifest, not a crash of the reader.
    throw new ManifestError(`${label}: cannot be checked (${(err as Error).message}; the manifest was altered)`, "altered");
  }
  const ok = await crypto.subtle.verify("HMAC", master.macKey, macBytes, textEncoder.encode(canonical) as Uint8Array<ArrayBuffer>);
  if (!ok) throw new ManifestError(`${label}: MAC does not match (the manifest was altered)`, "altered");
  if (key !== undefined) {
    // Signed fields only: where the manifest's own tier, asset and backup id say it lives.
    const home = manifestKey(manifest.tier, manifest.asset, manifest.backupId);
    if (key !== home) throw new ManifestError(`${label}: this manifest belongs at ${home}, not ${key} (moved or copied; refused)`, "misplaced");
  }
}
