/**
 * KV backup: every key with its binary value, metadata and expiration.
 *  - full: the whole namespace (always for weekly/monthly tiers and the day's first backup);
 *  - differential ("incremental" in the manifest): keys added, changed or deleted since the
 *    day's full backup, found by comparing with that backup's index. Restore = full + the
 *    newest differential.
 * One step = one list page plus one read per key, within the step's operation budget (KV
 * allows 1000 operations per invocation); the list cursor carries over to the next step.
 * Values are read one by one as ArrayBuffer: KV's bulk get returns text or JSON only.
 */
import { readManifest } from "../../lib/backup/catalog";
import { compareUtf8, entryHash, type KvEntryRecord, type KvIndexLine } from "../../lib/backup/kvRecords";
import { toBase64 } from "../../lib/format/bytes";
import type { ArtifactEntry, ManifestRef } from "../../lib/format/manifest";
import type { BackupJob, JobContext } from "../engine/job";
import { linesUpTo, START, type IndexPosition } from "./orderedIndex";

interface Cursor {
  list: string | null;
  /** Position in the base backup's index (differential only). */
  base: IndexPosition;
}

interface Details {
  differential: boolean;
  base: ManifestRef | null;
  baseIndex: ArtifactEntry[];
}

const MAX_LIST = 1000;

function namespace(ctx: JobContext): KVNamespace {
  const kv = ctx.env[ctx.asset.binding ?? ""] as KVNamespace | undefined;
  if (!kv) throw new Error(`KV binding ${ctx.asset.binding} for ${ctx.asset.name} is not bound to the Worker`);
  return kv;
}

export const kvJob: BackupJob<Cursor, Details> = {
  async start(ctx) {
    const full = { cursor: { list: null, base: START }, mode: "full" as const, details: { differential: false, base: null, baseIndex: [] } };
    const lastFull = ctx.previous?.lastFull;
    const sameDay = lastFull && lastFull.createdAt.slice(0, 10) === ctx.createdAt.slice(0, 10);
    if (ctx.tier !== "daily" || !lastFull || !sameDay || lastFull.mode !== "full") return full;
    const base = await readManifest(ctx.storage, lastFull.key);
    if (!base) return full;
    const ref: ManifestRef = { backupId: base.backupId, tier: base.tier, key: lastFull.key };
    return {
      cursor: full.cursor,
      mode: "incremental",
      details: { differential: true, base: ref, baseIndex: base.artifacts.filter((a) => a.role === "kv-index") },
      dependsOn: [ref],
    };
  },

  async step(ctx, cursor, d) {
    const kv = namespace(ctx);
    const page = await kv.list<unknown>({ limit: Math.min(MAX_LIST, Math.max(1, ctx.plan.limits.opsPerStep - 1)), ...(cursor.list ? { cursor: cursor.list } : {}) });
    const records: KvEntryRecord[] = [];
    const index: KvIndexLine[] = [];
    for (const key of page.keys) {
      const value = await kv.get(key.name, "arrayBuffer");
      if (value === null) continue; // expired or deleted since the listing
      const v = toBase64(new Uint8Array(value));
      const h = entryHash(key.name, v, key.metadata, key.expiration);
      index.push([key.name, h]);
      records.push({ k: key.name, v, ...(key.metadata !== undefined && key.metadata !== null ? { m: key.metadata } : {}), ...(key.expiration ? { e: key.expiration } : {}) });
    }
    const done = page.list_complete;
    let base = cursor.base;
    let changed = records;
    let deleted = 0;
    if (d.differential) {
      const lastKey = done ? null : (page.keys[page.keys.length - 1]?.name ?? null);
      const r = await linesUpTo<KvIndexLine>(ctx, d.baseIndex, base, lastKey, (l) => l[0]);
      base = r.pos;
      const before = new Map(r.lines);
      const now = new Set(index.map(([k]) => k));
      changed = records.filter((rec, i) => before.get(rec.k) !== (index[i] as KvIndexLine)[1]);
      const gone: KvEntryRecord[] = r.lines.filter(([k]) => !now.has(k)).map(([k]) => ({ k, deleted: true }));
      deleted = gone.length;
      changed = [...changed, ...gone].sort((x, y) => compareUtf8(x.k, y.k));
    }
    const n = String(ctx.step).padStart(5, "0");
    if (changed.length || !d.differential) {
      await ctx.writeArtifact(`entries-${n}`, "kv-entries", async (out) => {
        for (const r of changed) await out.line(r);
      });
    }
    await ctx.writeArtifact(`index-${n}`, "kv-index", async (out) => {
      for (const l of index) await out.line(l);
    });
    return {
      cursor: done ? null : { list: page.list_complete ? null : page.cursor, base },
      details: d,
      counts: { keys: index.length, written: changed.length - deleted, deleted },
    };
  },

  async finish(_ctx, d) {
    return { details: { differential: d.differential, base: d.base?.backupId ?? null } };
  },
};
