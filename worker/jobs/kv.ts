/**
 * KV backup: every key with its binary value, metadata and expiration.
 *  - full: the whole namespace (always for weekly/monthly tiers and the day's first backup);
 *  - differential ("incremental" in the manifest): keys added, changed or deleted since the
 *    day's full backup, found by comparing with that backup's index. Restore = full + the
 *    newest differential.
 * A namespace of a million keys cannot be read in one chain of steps inside a 15-minute RPO
 * (about 1,250 invocations of ~800 reads, one after the other). So the job's own steps only
 * list: each list page (at most one invocation's worth of reads) becomes a task with its key
 * names, metadata and expiration (and, in a differential, the base index lines over its key
 * range), written encrypted under _state/tasks/. The tasks read the values in parallel on the
 * queue's consumers (kvPage.ts); the engine adopts their artifacts in page order, so the
 * manifest's entries and index stay sorted by key (worker/engine/tasks.ts).
 */
import { DeferredArtifact, openArtifact, readLines } from "../../lib/backup/artifacts";
import { readManifest } from "../../lib/backup/catalog";
import type { KvIndexLine } from "../../lib/backup/kvRecords";
import { verifyManifest, type ArtifactEntry, type ManifestRef } from "../../lib/format/manifest";
import type { TaskRef } from "../env";
import type { BackupJob, JobContext, TaskRun, TaskSpan } from "../engine/job";
import { taskInputKey } from "../engine/tasks";
import { KvPageWalk } from "./kvPage";
import type { ListedKey } from "./kvValue";
import { linesUpTo, START, type IndexPosition } from "./orderedIndex";
import { kvPageKeys as pageKeys, kvPagesPerStep as pagesPerStep, KV_TASK_OVERHEAD_OPS as TASK_OVERHEAD_OPS } from "../../lib/backup/fanout";

interface Cursor {
  /** KV list cursor of the next page (null: the first page). */
  list: string | null;
  /** Position in the base backup's index (differential only). */
  base: IndexPosition;
  /** Tasks queued so far (the next page's task number). */
  pages: number;
  /** Last key listed so far (null: none yet; absent in cursors saved before it was kept). */
  last?: string | null;
}

interface Details {
  differential: boolean;
  base: ManifestRef | null;
  baseIndex: ArtifactEntry[];
}

/** Where a task's next part resumes: after the last key the previous part handled. */
interface Resume {
  after: string;
}

/** One line of a task's input: a listed key, a line of the base index over its range, or the
 * page's span (after the previous page's last key, up to its own). */
type InputLine = ["k", string, unknown, number | null] | ["b", string, string] | ["s", string | null, string | null];



function namespace(ctx: JobContext): KVNamespace {
  const kv = ctx.env[ctx.asset.binding ?? ""] as KVNamespace | undefined;
  if (!kv) throw new Error(`KV binding ${ctx.asset.binding} for ${ctx.asset.name} is not bound to the Worker`);
  return kv;
}



async function readInput(ctx: JobContext, n: number, entry: ArtifactEntry): Promise<{ keys: ListedKey[]; base: KvIndexLine[]; span?: TaskSpan }> {
  // The queue message names the input: it must be this backup's input of this task.
  if (entry?.key !== taskInputKey(ctx.asset, ctx.backupId, n)) throw new Error(`KV task ${n} of backup ${ctx.backupId}: ${entry?.key} is not the input of task ${n}`);
  const keys: ListedKey[] = [];
  const base: KvIndexLine[] = [];
  let span: TaskSpan | undefined;
  for await (const raw of readLines(await openArtifact(ctx.storage, ctx.master, entry))) {
    const l = raw as InputLine;
    if (l[0] === "k") keys.push({ name: l[1], ...(l[2] !== null && l[2] !== undefined ? { metadata: l[2] } : {}), ...(l[3] ? { expiration: l[3] } : {}) });
    else if (l[0] === "s") span = { after: l[1], last: l[2] };
    else base.push([l[1], l[2]]);
  }
  return { keys, base, ...(span ? { span } : {}) };
}

export const kvJob: BackupJob<Cursor, Details> = {
  async start(ctx) {
    const full = { cursor: { list: null, base: START, pages: 0, last: null }, mode: "full" as const, details: { differential: false, base: null, baseIndex: [] } };
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

  /** Lists pages and queues one task per page. */
  async step(ctx, cursor, d) {
    const kv = namespace(ctx);
    const { opsPerStep } = ctx.plan.limits;
    const tasks: TaskRef[] = [];
    let { list, base, pages, last } = cursor;
    for (let i = 0; i < pagesPerStep(opsPerStep); i++) {
      const page = await kv.list<unknown>({ limit: pageKeys(opsPerStep), ...(list ? { cursor: list } : {}) });
      // KV may return an empty page before the end (keys expired meanwhile): nothing to read,
      // and no key to bound the base index lines by (null would take them all).
      if (!page.keys.length && !page.list_complete) {
        list = page.cursor;
        continue;
      }
      const pageEnd = page.keys[page.keys.length - 1]?.name ?? last ?? null;
      // The base index lines up to this page's last key (all the rest after the last page).
      const pageLast = page.list_complete ? null : (page.keys[page.keys.length - 1]?.name ?? null);
      const lines = d.differential ? await linesUpTo<KvIndexLine>(ctx, d.baseIndex, base, pageLast, (l) => l[0]) : null;
      if (lines) base = lines.pos;
      const input = await ctx.writeTaskInput(pages, async (out) => {
        if (last !== undefined) await out.line(["s", last, pageEnd] satisfies InputLine);
        for (const k of page.keys) await out.line(["k", k.name, k.metadata ?? null, k.expiration ?? null] satisfies InputLine);
        for (const l of lines?.lines ?? []) await out.line(["b", l[0], l[1]] satisfies InputLine);
      });
      tasks.push({ n: pages++, part: 0, input });
      if (page.list_complete) return { cursor: null, details: d, tasks };
      list = page.cursor;
      if (last !== undefined) last = pageEnd;
    }
    return { cursor: { list, base, pages, ...(last !== undefined ? { last } : {}) }, details: d, tasks };
  },

  /** Reads one page's values (or the rest of them) into its entries and index artifacts. */
  async task(ctx, run: TaskRun, d) {
    const kv = namespace(ctx);
    const { opsPerStep, bytesPerStep } = ctx.plan.limits;
    const { keys, base, span } = await readInput(ctx, run.n, run.input as ArtifactEntry);
    const after = (run.resume as Resume | null)?.after ?? null;
    const walk = new KvPageWalk(kv, { opsPerStep, bytesPerStep, opsSpent: Math.min(TASK_OVERHEAD_OPS, opsPerStep - 1) }, d.differential ? base : null, after);
    const todo = after === null ? keys : keys.slice(keys.findIndex((k) => k.name === after) + 1);
    const name = `${String(run.n).padStart(6, "0")}-${run.part}`;
    // Opened on the first byte: a differential task over unchanged keys adds no object.
    const entries = new DeferredArtifact((p) => ctx.writeArtifact(`entries-${name}`, "kv-entries", p));
    try {
      await walk.run(todo, entries);
    } catch (err) {
      await entries.abort(err);
      throw err;
    }
    await entries.close();
    if (walk.index.length) {
      await ctx.writeArtifact(`index-${name}`, "kv-index", async (out) => {
        for (const l of walk.index) await out.line(l);
      });
    }
    const resume: Resume | null = walk.stopped && walk.lastDone !== null ? { after: walk.lastDone } : null;
    if (walk.stopped && walk.lastDone === null && todo.length) throw new Error(`KV task ${run.n} could not read one key within its step budget`);
    return { resume, counts: { keys: walk.index.length, written: walk.written, deleted: walk.deleted, listed: walk.handled }, ...(span ? { span } : {}) };
  },

  async finish(_ctx, d) {
    return { details: { differential: d.differential, base: d.base?.backupId ?? null } };
  },
};
