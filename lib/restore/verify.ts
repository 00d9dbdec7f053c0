/**
 * Verification of a store: every manifest (MAC, key, and that it lies where its signed tier,
 * asset and backup id say), every artifact it names (exists, size), every backup it depends on,
 * and each asset against its sealed latest pointer (rollback.ts); with `readDataPercent`, that
 * share of the artifacts is downloaded and decrypted, checking both SHA-256s and every chunk's
 * tag. Verifying nothing is a failure: a wrong path or asset name must not read as a pass.
 */
import { openArtifact } from "../backup/artifacts";
import { listTierObjects, readVerifiedManifest } from "../backup/catalog";
import { rollbackProblems } from "../backup/rollback";
import type { MasterKey } from "../format/keys";
import { MANIFEST_NAME, parseObjectKey, TIERS, type AssetKind, type AssetRef } from "../format/layout";
import { ManifestError, type ArtifactEntry, type Manifest } from "../format/manifest";
import type { BackupStorage } from "../storage/types";

export interface VerifyFailure {
  readonly key: string;
  readonly problem: string;
}

export interface VerifyResult {
  readonly store: string;
  /** Manifests found, verified or not. */
  readonly manifests: number;
  readonly rejected: number;
  readonly artifacts: number;
  readonly artifactsRead: number;
  readonly bytesRead: number;
  /** Artifacts no manifest names (left by failed or interrupted backups; not backups). */
  readonly unreferenced: number;
  /** Objects of backups whose manifest was rejected: not checked, and not unreferenced. */
  readonly unchecked: number;
  /** Where backups were looked for, for a "nothing found" message. */
  readonly lookedFor: string;
  /** Set when manifests name another key than the one given. */
  readonly wrongKey?: { readonly given: string; readonly named: readonly string[] };
  readonly failures: VerifyFailure[];
}

export interface VerifyOptions {
  /** "kind/name" or a name. */
  readonly asset?: string;
  readonly readDataPercent?: number;
  readonly onProgress?: (done: number, total: number) => void;
  readonly random?: () => number;
}

export const assetMatches = (filter: string | undefined, kind: string, name: string) => !filter || filter === name || filter === `${kind}/${name}`;

/** The asset a --asset KIND/NAME names (a bare NAME could be of any kind). */
export function namedAsset(filter: string | undefined): AssetRef[] {
  const m = /^(d1|kv|r2|neon)\/(.+)$/.exec(filter ?? "");
  return m ? [{ kind: m[1] as AssetKind, name: m[2] as string }] : [];
}

interface Listing {
  readonly manifestKeys: string[];
  readonly objects: Map<string, number>;
  /** Assets with objects here that the filter selects. */
  readonly assets: Map<string, AssetRef>;
  /** Assets present that the --asset filter left out (to name them when nothing matched). */
  readonly others: Set<string>;
}

async function listStore(store: BackupStorage, asset: string | undefined): Promise<Listing> {
  const listing: Listing = { manifestKeys: [], objects: new Map(), assets: new Map(), others: new Set() };
  for await (const obj of listTierObjects(store)) {
    const p = parseObjectKey(obj.key);
    if (!p) continue;
    if (!assetMatches(asset, p.kind, p.asset)) {
      listing.others.add(`${p.kind}/${p.asset}`);
      continue;
    }
    listing.objects.set(obj.key, obj.size);
    listing.assets.set(`${p.kind}/${p.asset}`, { kind: p.kind, name: p.asset });
    if (p.file === MANIFEST_NAME) listing.manifestKeys.push(obj.key);
  }
  return listing;
}

function lookedFor(store: BackupStorage, asset: string | undefined): string {
  const [kind, name] = asset?.includes("/") ? asset.split("/") : [undefined, asset];
  return `{${TIERS.join(",")}}/${kind ?? "<kind>"}/${name ?? "<asset>"}/<backupId>/${MANIFEST_NAME} in ${store.label}`;
}

/** One manifest and what it names: the verified manifest, or why it was rejected. */
async function verifyOne(store: BackupStorage, master: MasterKey, key: string, l: Listing, failures: VerifyFailure[]): Promise<Manifest | ManifestError> {
  let m: Manifest;
  try {
    m = await readVerifiedManifest(store, master, key);
  } catch (err) {
    if (!(err instanceof ManifestError)) throw err;
    failures.push({ key, problem: err.message });
    return err;
  }
  for (const a of m.artifacts) {
    const size = l.objects.get(a.key) ?? (await store.head(a.key))?.size;
    if (size === undefined) failures.push({ key: a.key, problem: `missing (named by ${key})` });
    else if (size !== a.ciphertextBytes) failures.push({ key: a.key, problem: `size ${size} bytes, manifest says ${a.ciphertextBytes}` });
  }
  for (const dep of m.dependsOn) {
    if (!l.objects.has(dep.key) && !(await store.head(dep.key))) failures.push({ key, problem: `depends on ${dep.key}, which is missing` });
  }
  return m;
}

async function readSample(store: BackupStorage, master: MasterKey, toRead: ArtifactEntry[], o: VerifyOptions, failures: VerifyFailure[]): Promise<{ read: number; bytes: number }> {
  const share = Math.max(0, Math.min(100, o.readDataPercent ?? 0));
  const random = o.random ?? Math.random;
  const sample = share >= 100 ? toRead : toRead.filter(() => random() * 100 < share);
  if (share > 0 && !sample.length && toRead.length) sample.push(toRead[Math.floor(random() * toRead.length)] as ArtifactEntry);
  let bytes = 0;
  for (const a of sample) {
    try {
      const stream = await openArtifact(store, master, a);
      for await (const part of stream as unknown as AsyncIterable<Uint8Array>) bytes += part.byteLength;
    } catch (err) {
      failures.push({ key: a.key, problem: (err as Error).message });
    }
  }
  return { read: sample.length, bytes };
}

export async function verifyStore(store: BackupStorage, master: MasterKey, o: VerifyOptions = {}): Promise<VerifyResult> {
  const failures: VerifyFailure[] = [];
  const l = await listStore(store, o.asset);
  const referenced = new Set<string>(l.manifestKeys);
  const rejectedPrefixes: string[] = [];
  const named = new Set<string>();
  const verified: Manifest[] = [];
  const toRead: ArtifactEntry[] = [];
  let done = 0;
  for (const key of l.manifestKeys) {
    const m = await verifyOne(store, master, key, l, failures);
    if (m instanceof ManifestError) {
      rejectedPrefixes.push(key.slice(0, -MANIFEST_NAME.length));
      if (m.reason === "wrong-key" && m.keyId) named.add(m.keyId);
    } else {
      verified.push(m);
      for (const a of m.artifacts) referenced.add(a.key);
      toRead.push(...m.artifacts.filter((a) => l.objects.get(a.key) === a.ciphertextBytes));
    }
    o.onProgress?.(++done, l.manifestKeys.length);
  }
  const { read, bytes } = await readSample(store, master, toRead, o, failures);
  failures.push(...(await rollbackProblems(store, master, [...l.assets.values(), ...namedAsset(o.asset)], verified)));
  const loose = [...l.objects.keys()].filter((k) => !referenced.has(k));
  const unchecked = loose.filter((k) => rejectedPrefixes.some((p) => k.startsWith(p))).length;
  const where = lookedFor(store, o.asset);
  if (!l.manifestKeys.length) {
    const others = l.others.size ? `; backups of other assets are there: ${[...l.others].sort().join(", ")}` : "";
    failures.unshift({ key: store.label, problem: `nothing to verify: no backup found (looked for ${where})${others}` });
  }
  return {
    store: store.label,
    manifests: l.manifestKeys.length,
    rejected: rejectedPrefixes.length,
    artifacts: verified.reduce((n, m) => n + m.artifacts.length, 0),
    artifactsRead: read,
    bytesRead: bytes,
    unreferenced: loose.length - unchecked,
    unchecked,
    lookedFor: where,
    ...(named.size ? { wrongKey: { given: master.id, named: [...named].sort() } } : {}),
    failures,
  };
}
