/**
 * R2 restore: every object of the inventory, its bytes read from the pack segments that hold
 * them (ranged reads, each chunk authenticated), written with its HTTP and custom metadata.
 * Sinks: an R2 binding (Worker, Miniflare, `wrangler dev` state) or any BackupStorage (R2 or
 * S3 through the S3 API, a local directory).
 */
import { openArtifact, readLines } from "../backup/artifacts";
import { openArtifactRange } from "../backup/artifactRange";
import type { InventoryLine } from "../backup/r2Records";
import type { MasterKey } from "../format/keys";
import type { ArtifactEntry, Manifest } from "../format/manifest";
import { StorageError, type BackupStorage } from "../storage/types";
import { RestoreRefusedError, type RestoreOptions, type RestoreReport, type RestoreWindow } from "./modes";
import { RestoreInputError, type Resolved } from "./resolve";

export interface R2Sink {
  readonly label: string;
  keys(prefix: string): AsyncIterable<string>;
  put(key: string, body: ReadableStream<Uint8Array>, size: number, meta: { http?: Record<string, unknown>; custom?: Record<string, string> }): Promise<void>;
  delete(key: string): Promise<void>;
}

/** The inventory, from artifact `w.from` on when resuming a windowed restore. */
export async function* inventoryOf(store: BackupStorage, master: MasterKey, m: Manifest, w?: RestoreWindow): AsyncGenerator<InventoryLine> {
  const artifacts = m.artifacts.filter((x) => x.role === "r2-inventory");
  let item = w?.from?.first ?? 0;
  for (let i = w?.from?.artifact ?? 0; i < artifacts.length; i++) {
    w?.onArtifact?.(i, item);
    for await (const line of readLines(await openArtifact(store, master, artifacts[i] as ArtifactEntry))) {
      item++;
      yield line as InventoryLine;
    }
  }
}

/** An object's bytes, segment after segment. */
export function objectBody(store: BackupStorage, master: MasterKey, r: Resolved, line: InventoryLine): ReadableStream<Uint8Array> {
  const entryOf = (manifestKey: string, artifactKey: string): ArtifactEntry => {
    const m = manifestKey === r.key ? r.manifest : r.dependencies.get(manifestKey);
    const e = m?.artifacts.find((a) => a.key === artifactKey);
    if (!e) throw new StorageError(`${line.k}: pack ${artifactKey} is not listed in ${manifestKey}`);
    return e;
  };
  const segs = [...line.segs];
  let current: ReadableStreamDefaultReader<Uint8Array> | null = null;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (!current) {
          const s = segs.shift();
          if (!s) return controller.close();
          current = openArtifactRange(store, master, entryOf(s.m, s.a), s.o, s.n).getReader();
        }
        const { value, done } = await current.read();
        if (done) {
          current = null;
          continue;
        }
        controller.enqueue(value);
        return;
      }
    },
  });
}

/** The most failed keys one error message lists. */
const LISTED_FAILURES = 20;

/** Errors that stop the whole restore rather than one object: the backup is bad, or the operator said stop. */
const FATAL = new Set(["ArtifactIntegrityError", "ManifestError", "InterruptedError"]);

export async function restoreR2(store: BackupStorage, master: MasterKey, r: Resolved, sink: R2Sink, o: RestoreOptions): Promise<RestoreReport> {
  const prefix = o.only ?? "";
  const present = new Set<string>();
  // A later part of a windowed restore: the first part checked the target.
  if (o.mode !== "overwrite" && !o.window?.skip) for await (const k of sink.keys(prefix)) present.add(k);
  if (o.mode === "fail" && present.size) {
    throw new RestoreRefusedError(`${sink.label} already holds ${present.size} object(s)${prefix ? ` under "${prefix}"` : ""}; refusing to overwrite. Restore into an empty bucket, or choose --mode skip, overwrite or clear.`);
  }
  // With --only, cleared once the backup is known to hold something under the prefix: an
  // --only that matches nothing fails before it has deleted anything.
  let cleared = o.mode !== "clear" || o.validateOnly;
  if (!cleared && !prefix) {
    for (const k of present) await sink.delete(k);
    cleared = true;
  }
  let restored = 0;
  let skipped = 0;
  let bytes = 0;
  let inBackup = 0;
  const failed: string[] = [];
  let next: number | undefined;
  const skip = o.window?.skip ?? 0;
  if (o.window?.from) inBackup = o.window.from.first;
  for await (const line of inventoryOf(store, master, r.manifest, o.window)) {
    const index = inBackup++;
    if (index < skip || (prefix && !line.k.startsWith(prefix))) continue;
    if (o.window?.stop?.()) {
      next = index;
      break;
    }
    if (!cleared) {
      for (const k of present) await sink.delete(k);
      cleared = true;
    }
    if (o.mode === "skip" && present.has(line.k)) {
      skipped++;
      continue;
    }
    const body = objectBody(store, master, r, line);
    if (o.validateOnly) {
      // Read and authenticate every byte; write nothing.
      let n = 0;
      for await (const part of body as unknown as AsyncIterable<Uint8Array>) n += part.byteLength;
      if (n !== line.size) throw new StorageError(`${line.k}: backup holds ${n} bytes, inventory says ${line.size}`);
    } else {
      try {
        await sink.put(line.k, body, line.size, { ...(line.http ? { http: line.http } : {}), ...(line.custom ? { custom: line.custom } : {}) });
      } catch (err) {
        if (FATAL.has((err as Error).name)) throw err;
        // One object the target cannot take does not stop the others; all of them are named below.
        failed.push(`${JSON.stringify(line.k)}: ${(err as Error).message}`);
        continue;
      }
    }
    restored++;
    bytes += line.size;
    o.onProgress?.(restored);
  }
  if (prefix && restored + skipped + failed.length === 0 && !o.window) {
    throw new RestoreInputError(`--only ${JSON.stringify(prefix)}: no object of backup ${r.manifest.backupId} (${inBackup} object(s)) has a key starting with it; nothing restored`);
  }
  if (failed.length) {
    const more = failed.length > LISTED_FAILURES ? `; and ${failed.length - LISTED_FAILURES} more` : "";
    throw new StorageError(`restore incomplete: ${failed.length} of ${failed.length + restored + skipped} object(s) could not be written to ${sink.label} (${restored} restored): ${failed.slice(0, LISTED_FAILURES).join("; ")}${more}`);
  }
  return { restored, skipped, details: { bytes }, validateOnly: o.validateOnly, ...(next !== undefined ? { next } : {}) };
}

/** An R2 bucket through its binding API. */
export interface R2Like {
  list(o: { prefix?: string; cursor?: string }): Promise<{ objects: Array<{ key: string }>; truncated: boolean; cursor?: string }>;
  put(key: string, value: Uint8Array, options?: { httpMetadata?: Record<string, unknown>; customMetadata?: Record<string, string> }): Promise<unknown>;
  delete(key: string): Promise<void>;
}

async function readExactly(body: ReadableStream<Uint8Array>, size: number, key: string): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let at = 0;
  for await (const part of body as unknown as AsyncIterable<Uint8Array>) {
    if (at + part.byteLength > size) throw new StorageError(`${key}: more bytes than the inventory's ${size}`);
    out.set(part, at);
    at += part.byteLength;
  }
  if (at !== size) throw new StorageError(`${key}: ${at} bytes, inventory says ${size}`);
  return out;
}

/** Every object of a bucket under `prefix`, following list cursors. */
export async function* r2Objects<O extends { key: string }>(
  bucket: { list(o: { prefix?: string; cursor?: string; include?: string[] }): Promise<{ objects: O[]; truncated: boolean; cursor?: string }> },
  prefix = "",
  include?: string[],
): AsyncGenerator<O> {
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ ...(prefix ? { prefix } : {}), ...(include ? { include } : {}), ...(cursor ? { cursor } : {}) });
    yield* page.objects;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
}

export function bindingR2Sink(bucket: R2Like, label: string): R2Sink {
  return {
    label,
    keys: async function* (prefix) {
      for await (const o of r2Objects(bucket, prefix)) yield o.key;
    },
    put: async (key, body, size, meta) => {
      await bucket.put(key, await readExactly(body, size, key), { ...(meta.http ? { httpMetadata: meta.http } : {}), ...(meta.custom ? { customMetadata: meta.custom } : {}) });
    },
    delete: (key) => bucket.delete(key),
  };
}

export function storageR2Sink(storage: BackupStorage): R2Sink {
  return {
    label: storage.label,
    keys: async function* (prefix) {
      for await (const o of storage.list(prefix)) yield o.key;
    },
    put: async (key, body, _size, meta) => {
      const http = Object.fromEntries(Object.entries(meta.http ?? {}).filter(([, v]) => typeof v === "string")) as Record<string, string>;
      await storage.put(key, body, { ...(Object.keys(http).length ? { httpMetadata: http } : {}), ...(meta.custom ? { customMetadata: meta.custom } : {}) });
    },
    delete: (key) => storage.delete(key),
  };
}
