/**
 * KV restore: a full backup, or a full backup plus the differential chained to it, merged in
 * key order as two streams (memory does not grow with the namespace). Values are written as
 * bytes with their metadata and expiration; keys whose expiration has passed are skipped (KV
 * would refuse them).
 * Sinks: a KV binding (Worker, Miniflare, `wrangler dev` state) or a JSON file in the format
 * `wrangler kv bulk put` reads (kvFileSink.ts, Node only). This file runs in the Worker too.
 */
import { openArtifact, readLines } from "../backup/artifacts";
import { compareUtf8, type KvEntryRecord } from "../backup/kvRecords";
import { fromBase64 } from "../format/bytes";
import type { MasterKey } from "../format/keys";
import type { Manifest } from "../format/manifest";
import type { BackupStorage } from "../storage/types";
import { BoundedWrites } from "./boundedWrites";
import { RestoreRefusedError, type RestoreOptions, type RestoreReport, type RestoreWindow } from "./modes";
import { RestoreInputError, type Resolved } from "./resolve";

export interface KvSink {
  readonly label: string;
  keys(prefix: string): AsyncIterable<string>;
  put(key: string, value: Uint8Array, options: { metadata?: unknown; expiration?: number }): Promise<void>;
  delete(key: string): Promise<void>;
  close?(): Promise<void>;
  /** Drops what a failed restore wrote (a file target), if the target can. */
  abort?(): Promise<void>;
  /** How many puts may run side by side (a file is written in order: 1). */
  readonly parallelPuts?: number;
}

/** Bytes of values in flight at most (a KV value reaches 25 MiB). */
const IN_FLIGHT_BYTES = 64 * 1024 * 1024;

async function* entriesOf(store: BackupStorage, master: MasterKey, m: Manifest, w?: RestoreWindow): AsyncGenerator<KvEntryRecord> {
  const artifacts = m.artifacts.filter((x) => x.role === "kv-entries");
  let item = w?.from?.first ?? 0;
  for (let i = w?.from?.artifact ?? 0; i < artifacts.length; i++) {
    w?.onArtifact?.(i, item);
    for await (const line of readLines(await openArtifact(store, master, artifacts[i] as Manifest["artifacts"][number]))) {
      item++;
      yield line as KvEntryRecord;
    }
  }
}

/** The namespace as of the backup: base entries overlaid with the differential, in key order.
 * A full backup can start at a later artifact (`w.from`); a differential is read whole. */
export async function* kvState(store: BackupStorage, master: MasterKey, r: Resolved, w?: RestoreWindow): AsyncGenerator<KvEntryRecord> {
  if (r.manifest.mode !== "incremental") {
    yield* entriesOf(store, master, r.manifest, w);
    return;
  }
  const base = [...r.dependencies.values()][0];
  if (!base) throw new RestoreRefusedError(`differential backup ${r.manifest.backupId} has no full backup to apply to`);
  const a = entriesOf(store, master, base);
  const b = entriesOf(store, master, r.manifest);
  let x = await a.next();
  let y = await b.next();
  while (!x.done || !y.done) {
    const order = x.done ? 1 : y.done ? -1 : compareUtf8(x.value.k, y.value.k);
    if (order < 0) {
      yield x.value as KvEntryRecord;
      x = await a.next();
    } else {
      if (!(y.value as KvEntryRecord).deleted) yield y.value as KvEntryRecord;
      if (order === 0) x = await a.next();
      y = await b.next();
    }
  }
}

/** Restores a KV backup into a sink; on failure the sink drops what it wrote, if it can. */
export async function restoreKv(store: BackupStorage, master: MasterKey, r: Resolved, sink: KvSink, o: RestoreOptions): Promise<RestoreReport> {
  try {
    return await writeKv(store, master, r, sink, o);
  } catch (err) {
    await sink.abort?.();
    throw err;
  }
}

async function writeKv(store: BackupStorage, master: MasterKey, r: Resolved, sink: KvSink, o: RestoreOptions): Promise<RestoreReport> {
  const prefix = o.only ?? "";
  const present = new Set<string>();
  // A later part of a windowed restore: the first part checked the target.
  if (o.mode !== "overwrite" && !o.window?.skip) for await (const k of sink.keys(prefix)) present.add(k);
  if (o.mode === "fail" && present.size) {
    throw new RestoreRefusedError(`${sink.label} already holds ${present.size} key(s)${prefix ? ` under "${prefix}"` : ""}; refusing to overwrite. Restore into an empty namespace, or choose --mode skip, overwrite or clear.`);
  }
  // With --only, cleared once the backup is known to hold something under the prefix: an
  // --only that matches nothing fails before it has deleted anything.
  let cleared = o.mode !== "clear" || o.validateOnly;
  if (!cleared && !prefix) {
    for (const k of present) await sink.delete(k);
    cleared = true;
  }
  const now = Date.now() / 1000;
  let restored = 0;
  let skipped = 0;
  let expired = 0;
  let inBackup = 0;
  let next: number | undefined;
  const skip = o.window?.skip ?? 0;
  // Resumed at a later artifact (full backups only), items are counted from its first.
  if (o.window?.from && r.manifest.mode !== "incremental") inBackup = o.window.from.first;
  const writes = new BoundedWrites(sink.parallelPuts ?? 1, IN_FLIGHT_BYTES);
  try {
    for await (const e of kvState(store, master, r, o.window)) {
      const index = inBackup++;
      if (index < skip || (prefix && !e.k.startsWith(prefix))) continue;
      if (o.window?.stop?.()) {
        next = index;
        break;
      }
      if (!cleared) {
        for (const k of present) await sink.delete(k);
        cleared = true;
      }
      if (e.e !== undefined && e.e <= now + 60) {
        expired++;
        continue;
      }
      if (o.mode === "skip" && present.has(e.k)) {
        skipped++;
        continue;
      }
      if (!o.validateOnly) {
        const value = fromBase64(e.v ?? "");
        const options = { ...(e.m !== undefined ? { metadata: e.m } : {}), ...(e.e !== undefined ? { expiration: e.e } : {}) };
        await writes.add(value.byteLength, () => sink.put(e.k, value, options));
      }
      restored++;
      if (restored % 200 === 0) o.onProgress?.(restored);
    }
  } finally {
    // Every put started has ended before this returns or throws (the target may be closed next).
    await writes.drain().catch(() => undefined);
  }
  await writes.drain();
  if (prefix && restored + skipped + expired === 0 && !o.window) {
    throw new RestoreInputError(`--only ${JSON.stringify(prefix)}: no key of backup ${r.manifest.backupId} (${inBackup} key(s)) starts with it; nothing restored`);
  }
  if (!o.validateOnly) await sink.close?.();
  o.onProgress?.(restored);
  return { restored, skipped, details: { expired }, validateOnly: o.validateOnly, ...(next !== undefined ? { next } : {}) };
}

/** A KV namespace through its binding API. */
export interface KvLike {
  list(o: { prefix?: string; cursor?: string }): Promise<{ keys: Array<{ name: string }>; list_complete: boolean; cursor?: string }>;
  put(key: string, value: ArrayBuffer | ArrayBufferView, options?: { metadata?: unknown; expiration?: number }): Promise<void>;
  delete(key: string): Promise<void>;
}

/** Every key of a namespace under `prefix`, following list cursors. */
export async function* kvKeys<K extends { name: string }>(
  kv: { list(o: { prefix?: string; cursor?: string }): Promise<{ keys: K[]; list_complete: boolean; cursor?: string }> },
  prefix = "",
): AsyncGenerator<K> {
  let cursor: string | undefined;
  do {
    const page = await kv.list({ ...(prefix ? { prefix } : {}), ...(cursor ? { cursor } : {}) });
    yield* page.keys;
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
}

export function bindingKvSink(kv: KvLike, label: string): KvSink {
  return {
    label,
    keys: async function* (prefix) {
      for await (const k of kvKeys(kv, prefix)) yield k.name;
    },
    put: (key, value, options) => kv.put(key, value, options),
    delete: (key) => kv.delete(key),
    parallelPuts: 16,
  };
}
