/**
 * KV backup: every key with its binary value, metadata and expiration.
 *  - full: the whole namespace (always for weekly/monthly tiers and the day's first backup);
 *  - differential ("incremental" in the manifest): keys added, changed or deleted since the
 *    day's full backup, found by comparing with that backup's index. Restore = full + the
 *    newest differential.
 * One step = one list page (or the rest of one) and one read per key, until the step's
 * operation budget (KV allows 1,000 operations per invocation) or byte budget is spent; a step
 * that stops inside a page resumes after the last key it handled (kvPage.ts). Values stream
 * into the artifact (kvValue.ts), so memory stays at a chunk whatever their size.
 */
import { DeferredArtifact } from "../../lib/backup/artifacts";
import { readManifest } from "../../lib/backup/catalog";
import { compareUtf8, type KvIndexLine } from "../../lib/backup/kvRecords";
import { verifyManifest, type ArtifactEntry, type ManifestRef } from "../../lib/format/manifest";
import type { BackupJob, JobContext } from "../engine/job";
import { KvPageWalk } from "./kvPage";
import type { ListedKey } from "./kvValue";
import { linesUpTo, START, type IndexPosition } from "./orderedIndex";

interface Cursor {
  /** KV list cursor of the page being worked on (null: the first page). */
  list: string | null;
  /** Last key of that page already written (null: none yet). */
  after: string | null;
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
    const full = { cursor: { list: null, after: null, base: START }, mode: "full" as const, details: { differential: false, base: null, baseIndex: [] } };
    const lastFull = ctx.previous?.lastFull;
    const sameDay = lastFull && lastFull.createdAt.slice(0, 10) === ctx.createdAt.slice(0, 10);
    if (ctx.tier !== "daily" || !lastFull || !sameDay || lastFull.mode !== "full") return full;
    const base = await readManifest(ctx.storage, lastFull.key);
    // A base that does not verify where it sits is not a base: take a full backup instead.
    if (!base || !(await verifyManifest(ctx.master, base, lastFull.key, lastFull.key).then(() => true, () => false))) return full;
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
    const { opsPerStep, bytesPerStep } = ctx.plan.limits;
    const page = await kv.list<unknown>({ limit: Math.min(MAX_LIST, Math.max(1, opsPerStep - 1)), ...(cursor.list ? { cursor: cursor.list } : {}) });
    const todo = page.keys.filter((k) => cursor.after === null || compareUtf8(k.name, cursor.after) > 0) as ListedKey[];
    // The base backup's lines over the rest of this page's key range (differential only).
    const pageLast = page.list_complete ? null : (page.keys[page.keys.length - 1]?.name ?? null);
    const base = d.differential ? await linesUpTo<KvIndexLine>(ctx, d.baseIndex, cursor.base, pageLast, (l) => l[0]) : null;
    const walk = new KvPageWalk(kv, { opsPerStep, bytesPerStep, opsSpent: 1 }, base?.lines ?? null, cursor.after);
    const n = String(ctx.step).padStart(5, "0");
    // Opened on the first byte: a differential step over unchanged keys adds no object.
    const entries = new DeferredArtifact((p) => ctx.writeArtifact(`entries-${n}`, "kv-entries", p));
    try {
      await walk.run(todo, entries);
    } catch (err) {
      await entries.abort(err);
      throw err;
    }
    await entries.close();
    if (walk.index.length) {
      await ctx.writeArtifact(`index-${n}`, "kv-index", async (out) => {
        for (const l of walk.index) await out.line(l);
      });
    }
    // Where the base index continues: after the last key handled, or past this page's range.
    const resume = walk.resumeLine();
    const basePos = !base ? cursor.base : resume >= 0 ? (base.at[resume] as IndexPosition) : base.pos;
    const next: Cursor | null = walk.stopped ? { list: cursor.list, after: walk.lastDone, base: basePos } : page.list_complete ? null : { list: page.cursor, after: null, base: basePos };
    return { cursor: next, details: d, counts: { keys: walk.index.length, written: walk.written, deleted: walk.deleted, listed: walk.handled } };
  },

  async finish(_ctx, d) {
    return { details: { differential: d.differential, base: d.base?.backupId ?? null } };
  },
};
