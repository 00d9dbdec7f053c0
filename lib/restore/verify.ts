/**
 * Verification of a store: every manifest (MAC, format), every artifact it names (exists,
 * size), every backup it depends on; with `readDataPercent`, that share of the artifacts is
 * downloaded and decrypted, checking both SHA-256s and every chunk's tag.
 */
import { openArtifact } from "../backup/artifacts";
import { listTierObjects, readManifest } from "../backup/catalog";
import type { MasterKey } from "../format/keys";
import { MANIFEST_NAME, parseObjectKey } from "../format/layout";
import { verifyManifest, type ArtifactEntry, type Manifest } from "../format/manifest";
import type { BackupStorage } from "../storage/types";

export interface VerifyFailure {
  readonly key: string;
  readonly problem: string;
}

export interface VerifyResult {
  readonly store: string;
  readonly manifests: number;
  readonly artifacts: number;
  readonly artifactsRead: number;
  readonly bytesRead: number;
  /** Artifacts no manifest names (left by failed or interrupted backups; not backups). */
  readonly unreferenced: number;
  readonly failures: VerifyFailure[];
}

export interface VerifyOptions {
  /** "kind/name" or a name. */
  readonly asset?: string;
  readonly readDataPercent?: number;
  readonly onProgress?: (done: number, total: number) => void;
  readonly random?: () => number;
}

export async function verifyStore(store: BackupStorage, master: MasterKey, o: VerifyOptions = {}): Promise<VerifyResult> {
  const failures: VerifyFailure[] = [];
  const manifestKeys: string[] = [];
  const objects = new Map<string, number>();
  for await (const obj of listTierObjects(store)) {
    const p = parseObjectKey(obj.key);
    if (!p) continue;
    if (o.asset && o.asset !== `${p.kind}/${p.asset}` && o.asset !== p.asset) continue;
    objects.set(obj.key, obj.size);
    if (p.file === MANIFEST_NAME) manifestKeys.push(obj.key);
  }
  const referenced = new Set<string>(manifestKeys);
  const toRead: ArtifactEntry[] = [];
  let artifacts = 0;
  let done = 0;
  for (const key of manifestKeys) {
    let m: Manifest | null;
    try {
      m = await readManifest(store, key);
      if (!m) throw new Error("vanished while verifying");
      await verifyManifest(master, m, key, key);
    } catch (err) {
      failures.push({ key, problem: (err as Error).message });
      continue;
    }
    for (const a of m.artifacts) {
      artifacts++;
      referenced.add(a.key);
      const size = objects.get(a.key) ?? (await store.head(a.key))?.size;
      if (size === undefined) failures.push({ key: a.key, problem: `missing (named by ${key})` });
      else if (size !== a.ciphertextBytes) failures.push({ key: a.key, problem: `size ${size} bytes, manifest says ${a.ciphertextBytes}` });
      else toRead.push(a);
    }
    for (const dep of m.dependsOn) {
      if (!objects.has(dep.key) && !(await store.head(dep.key))) failures.push({ key, problem: `depends on ${dep.key}, which is missing` });
    }
    o.onProgress?.(++done, manifestKeys.length);
  }
  const share = Math.max(0, Math.min(100, o.readDataPercent ?? 0));
  const random = o.random ?? Math.random;
  const sample = share >= 100 ? toRead : toRead.filter(() => random() * 100 < share);
  if (share > 0 && !sample.length && toRead.length) sample.push(toRead[Math.floor(random() * toRead.length)] as ArtifactEntry);
  let bytesRead = 0;
  for (const a of sample) {
    try {
      const stream = await openArtifact(store, master, a);
      for await (const part of stream as unknown as AsyncIterable<Uint8Array>) bytesRead += part.byteLength;
    } catch (err) {
      failures.push({ key: a.key, problem: (err as Error).message });
    }
  }
  const unreferenced = [...objects.keys()].filter((k) => !referenced.has(k)).length;
  return { store: store.label, manifests: manifestKeys.length, artifacts, artifactsRead: sample.length, bytesRead, unreferenced, failures };
}
