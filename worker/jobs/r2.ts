/**
 * R2 backup: a mirror of a source bucket. Each step lists pages (resuming after the last key
 * done), keeps objects whose etag is unchanged since the previous backup (when that copy lives
 * long enough), and streams new or changed objects into this step's pack artifact, recording
 * HTTP and custom metadata in the inventory. Small objects are read a few ahead of the copy
 * (ReadAhead). A step stops at its byte or operation budget; an object larger than the budget
 * is copied in ranges over several steps, pinned to its etag.
 */
import type { ByteSink } from "../../lib/backup/artifacts";
import { READS_IN_FLIGHT } from "../../lib/backup/fanout";
import { readManifest } from "../../lib/backup/catalog";
import { compareUtf8 } from "../../lib/backup/kvRecords";
import { reusable, type InventoryLine, type PackSegment } from "../../lib/backup/r2Records";
import { manifestKey, parseObjectKey } from "../../lib/format/layout";
import { verifyManifest, type ArtifactEntry, type ManifestRef } from "../../lib/format/manifest";
import type { BackupJob, JobContext } from "../engine/job";
import { linesUpTo, START, type IndexPosition } from "./orderedIndex";

interface Pending {
  line: Omit<InventoryLine, "segs">;
  segs: PackSegment[];
  done: number;
}

interface Cursor {
  /** Last source key fully handled. */
  after: string | null;
  /** Position in the previous backup's inventory of the first line after `after`. */
  prev: IndexPosition;
  /** An object whose copy continues in the next step. */
  pending: Pending | null;
}

interface Details {
  prevInventory: ArtifactEntry[];
  prev: ManifestRef | null;
}

/** Mutable progress of one step. */
interface Progress extends Cursor {
  complete: boolean;
  ops: number;
  bytes: number;
  copied: number;
  reused: number;
  lines: InventoryLine[];
  dependsOn: Map<string, ManifestRef>;
}

function bucket(ctx: JobContext): R2Bucket {
  const b = ctx.env[ctx.asset.binding ?? ""] as R2Bucket | undefined;
  if (!b) throw new Error(`R2 binding ${ctx.asset.binding} for ${ctx.asset.name} is not bound to the Worker`);
  return b;
}

function describe(o: R2Object): Omit<InventoryLine, "segs"> {
  const http = o.httpMetadata && Object.keys(o.httpMetadata).length ? (JSON.parse(JSON.stringify(o.httpMetadata)) as Record<string, unknown>) : undefined;
  const custom = o.customMetadata && Object.keys(o.customMetadata).length ? o.customMetadata : undefined;
  return { k: o.key, size: o.size, etag: o.etag, uploaded: o.uploaded.toISOString(), ...(http ? { http } : {}), ...(custom ? { custom } : {}) };
}

function refOf(manifestKeyText: string): ManifestRef {
  const p = parseObjectKey(manifestKeyText);
  if (!p) throw new Error(`not a manifest key: ${manifestKeyText}`);
  return { backupId: p.backupId, tier: p.tier, key: manifestKeyText };
}

type Read = Promise<R2ObjectBody | R2Object | null>;

/** Objects up to this size are read ahead whole (six reads in flight, as Workers allow six
 * connections waiting at once): on Cloudflare each read is a round trip, and a bucket of many
 * small uploads is mostly those. Larger objects are read one range at a time. */
const READ_AHEAD_BYTES = 4 * 1024 * 1024;

/** Whole-object reads issued ahead of the copy, charged to the step's budgets when issued. */
class ReadAhead {
  private readonly issued = new Map<string, Read>();
  private reserved = 0;
  constructor(private readonly src: R2Bucket, private readonly g: Progress, private readonly limits: { opsPerStep: number; bytesPerStep: number }) {}

  /** Issues reads for the next objects of `todo` (from index `from`) while the budgets allow. */
  fill(todo: readonly R2Object[], from: number): void {
    for (let i = from; i < todo.length && this.issued.size < READS_IN_FLIGHT - 1; i++) {
      const o = todo[i] as R2Object;
      if (this.issued.has(o.key)) continue;
      if (o.size > READ_AHEAD_BYTES || this.g.ops + 1 > this.limits.opsPerStep || this.g.bytes + this.reserved + o.size > this.limits.bytesPerStep) return;
      const r = this.src.get(o.key, { onlyIf: { etagMatches: o.etag } });
      r.catch(() => undefined); // surfaced when taken
      this.issued.set(o.key, r);
      this.reserved += o.size;
      this.g.ops++;
    }
  }

  /** The read issued for `p` (a whole object not started yet), if any. */
  take(p: Pending): Read | undefined {
    const r = p.done === 0 ? this.issued.get(p.line.k) : undefined;
    if (r) {
      this.issued.delete(p.line.k);
      this.reserved -= p.line.size;
    }
    return r;
  }

  has(key: string): boolean {
    return this.issued.has(key);
  }

  /** Releases reads the step will not use. */
  async release(): Promise<void> {
    const rest = [...this.issued.values()];
    this.issued.clear();
    for (const r of rest) await r.then((o) => (o && "body" in o ? o.body.cancel() : undefined), () => undefined);
  }
}

/** Copies the next range of a pending object into the pack; false when the object changed. */
async function copyRange(ctx: JobContext, src: R2Bucket, p: Pending, out: ByteSink, g: Progress, ahead?: ReadAhead): Promise<void> {
  const want = Math.min(p.line.size - p.done, Math.max(1, ctx.plan.limits.bytesPerStep - g.bytes));
  const early = ahead?.take(p);
  const obj = await (early ?? src.get(p.line.k, { range: { offset: p.done, length: want }, onlyIf: { etagMatches: p.line.etag } }));
  if (!early) g.ops++;
  if (!obj || !("body" in obj)) {
    // Changed or deleted while being copied: leave it out; the next backup takes the new one.
    p.done = p.line.size;
    p.segs = [];
    return;
  }
  const offset = out.written;
  const n = await out.pipeFrom(obj.body as ReadableStream<Uint8Array>);
  p.segs.push({ m: manifestKey(ctx.tier, ctx.asset, ctx.backupId), a: "", o: offset, n, x: ctx.expiresAt });
  p.done += n;
  g.bytes += n;
}

function settle(p: Pending, g: Progress): void {
  if (p.segs.length || p.line.size === 0) {
    g.lines.push({ ...p.line, segs: p.segs });
    g.copied++;
  }
  g.after = p.line.k;
}

async function copyStep(ctx: JobContext, src: R2Bucket, d: Details, g: Progress, out: ByteSink): Promise<void> {
  const { opsPerStep, bytesPerStep } = ctx.plan.limits;
  const exhausted = () => g.ops >= opsPerStep || g.bytes >= bytesPerStep;
  if (g.pending) {
    await copyRange(ctx, src, g.pending, out, g);
    if (g.pending.done < g.pending.line.size) return;
    settle(g.pending, g);
    g.pending = null;
  }
  while (!exhausted()) {
    const page = await src.list({ limit: Math.min(1000, opsPerStep), include: ["httpMetadata", "customMetadata"], ...(g.after !== null ? { startAfter: g.after } : {}) });
    g.ops++;
    const last = page.truncated ? (page.objects[page.objects.length - 1]?.key ?? null) : null;
    const prev = await linesUpTo<InventoryLine>(ctx, d.prevInventory, g.prev, last, (l) => l.k);
    const old = new Map(prev.lines.map((l) => [l.k, l]));
    const reuse = (o: R2Object) => {
      const before = old.get(o.key);
      return before && reusable(before, o.etag, ctx.expiresAt) ? before : null;
    };
    const todo = page.objects.filter((o) => o.size > 0 && !reuse(o));
    const ahead = new ReadAhead(src, g, { opsPerStep, bytesPerStep });
    let nextTodo = 0;
    try {
      for (const o of page.objects) {
        const before = reuse(o);
        if (before) {
          g.lines.push({ ...describe(o), segs: before.segs });
          for (const s of before.segs) g.dependsOn.set(s.m, refOf(s.m));
          g.after = o.key;
          g.reused++;
          continue;
        }
        // A read already issued (and charged) for this object is used even at the budget's end.
        if (exhausted() && !ahead.has(o.key)) break;
        const p: Pending = { line: describe(o), segs: [], done: 0 };
        if (o.size > 0) {
          if (todo[nextTodo]?.key === o.key) nextTodo++;
          await copyRange(ctx, src, p, out, g, ahead);
          // Reads of the next objects go out while this one is written (after its own read
          // is charged, so the reads ahead never take the step past its budget).
          ahead.fill(todo, nextTodo);
        }
        if (p.done < p.line.size) {
          g.pending = p;
          break;
        }
        settle(p, g);
      }
    } finally {
      await ahead.release();
    }
    // Resume the previous inventory at its first line after the last key handled.
    const next = prev.lines.findIndex((l) => g.after !== null && compareUtf8(l.k, g.after) > 0);
    g.prev = next >= 0 ? (prev.at[next] as IndexPosition) : prev.pos;
    if (g.pending || g.after !== (page.objects[page.objects.length - 1]?.key ?? g.after)) return;
    if (!page.truncated) {
      g.complete = true;
      return;
    }
  }
}

export const r2Job: BackupJob<Cursor, Details> = {
  async start(ctx) {
    const prevKey = ctx.previous?.latest.key;
    // The previous inventory decides what is copied again: only a verified manifest may say so
    // (an edited or planted one starts a full mirror instead).
    const prev = prevKey ? await readManifest(ctx.storage, prevKey).then(async (m) => (m && (await verifyManifest(ctx.master, m, prevKey, prevKey).then(() => true, () => false)) ? m : null), () => null) : null;
    return {
      cursor: { after: null, prev: START, pending: null },
      mode: "mirror",
      details: {
        prevInventory: prev?.artifacts.filter((a) => a.role === "r2-inventory") ?? [],
        prev: prev && prevKey ? { backupId: prev.backupId, tier: prev.tier, key: prevKey } : null,
      },
    };
  },

  async step(ctx, cursor, d) {
    const src = bucket(ctx);
    const g: Progress = { ...cursor, complete: false, ops: 0, bytes: 0, copied: 0, reused: 0, lines: [], dependsOn: new Map() };
    const n = String(ctx.step).padStart(5, "0");
    const pack = await ctx.writeArtifact(`pack-${n}`, "r2-pack", (out) => copyStep(ctx, src, d, g, out));
    // Segments copied in this step point at the pack just written.
    for (const s of [...g.lines.flatMap((l) => l.segs), ...(g.pending?.segs ?? [])]) if (s.a === "") s.a = pack.key;
    await ctx.writeArtifact(`inventory-${n}`, "r2-inventory", async (out) => {
      for (const l of g.lines) await out.line(l);
    });
    const own = manifestKey(ctx.tier, ctx.asset, ctx.backupId);
    return {
      cursor: g.complete && !g.pending ? null : { after: g.after, prev: g.prev, pending: g.pending },
      details: d,
      counts: { objects: g.lines.length, copied: g.copied, reused: g.reused, bytes: g.bytes, sourceBytes: g.lines.reduce((n, l) => n + l.size, 0) },
      dependsOn: [...g.dependsOn.values()].filter((r) => r.key !== own),
    };
  },

  async finish(_ctx, d) {
    return { details: { previous: d.prev?.backupId ?? null } };
  },
};
