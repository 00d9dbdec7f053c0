/**
 * The scratch KV namespace: emptied key by key (KV has no bulk delete on the binding); restored
 * by restoreKv (the CLI's code); read back with list (metadata and expiration come with it)
 * and one get per key. A key is rendered as [key, value (base64), metadata, expiration] on
 * both sides. Keys that expire before the test's cutoff may vanish before they are read back,
 * so they are restored but kept out of both digests.
 */
import { toBase64 } from "../../lib/format/bytes";
import { canonicalJson } from "../../lib/format/manifest";
import { bindingKvSink, restoreKv, type KvLike, type KvSink } from "../../lib/restore/kvRestore";
import type { StepBudget } from "./budget";
import { artifactWindow, type PartDone, type RestorePart, type ScratchTarget } from "./scratch";

interface ListedKey {
  name: string;
  metadata?: unknown;
  expiration?: number;
}

export interface KvNamespaceLike extends KvLike {
  list(o: { prefix?: string; cursor?: string; limit?: number }): Promise<{ keys: ListedKey[]; list_complete: boolean; cursor?: string }>;
  get(key: string, type: "arrayBuffer"): Promise<ArrayBuffer | null>;
}

export const kvItem = (key: string, value: Uint8Array, metadata: unknown, expiration: number | undefined) =>
  `kv\0${canonicalJson([key, toBase64(value), metadata ?? null, expiration ?? null])}`;

const lasts = (expiration: number | undefined, cutoff: number) => expiration === undefined || expiration > cutoff;

export function scratchKv(kv: KvNamespaceLike, label: string): ScratchTarget {
  return {
    label,
    async empty(budget) {
      for (;;) {
        budget.op();
        const page = await kv.list({ limit: Math.min(1000, budget.opsLeft) });
        for (const k of page.keys) {
          budget.op();
          await kv.delete(k.name);
        }
        if (!page.keys.length) return true;
        if (budget.spent) return false;
      }
    },

    async restore(p: RestorePart): Promise<PartDone> {
      const inner = bindingKvSink(kv, label);
      const sink: KvSink = {
        ...inner,
        keys: (prefix) => {
          p.budget.op();
          return inner.keys(prefix);
        },
        put: (key, value, options) => {
          p.budget.op();
          if (lasts(options.expiration, p.cutoff)) p.expected.add(kvItem(key, value, options.metadata, options.expiration));
          return inner.put(key, value, options);
        },
      };
      // A differential merges two streams and is read whole each part; a full backup resumes
      // at the artifact the previous part ended in.
      const { window, resume } = artifactWindow(p);
      const report = await restoreKv(p.store, p.master, p.resolved, sink, { mode: p.skip === 0 ? "fail" : "overwrite", validateOnly: false, window });
      return { report, resume: resume() };
    },

    async verify(cursor, budget, actual, cutoff) {
      let at = cursor ?? undefined;
      for (;;) {
        budget.op();
        // Each listed key costs a get: the page is sized to what the step can still read.
        const page = await kv.list({ limit: Math.min(1000, Math.max(1, Math.floor(budget.opsLeft))), ...(at ? { cursor: at } : {}) });
        for (const k of page.keys) {
          if (!lasts(k.expiration, cutoff)) continue;
          budget.op();
          const value = await kv.get(k.name, "arrayBuffer");
          // Gone between list and get: it expired or was deleted; the digests will disagree.
          if (value === null) continue;
          budget.read(value.byteLength);
          actual.add(kvItem(k.name, new Uint8Array(value), k.metadata, k.expiration));
        }
        if (page.list_complete || !page.cursor) return null;
        at = page.cursor;
        if (budget.spent) return at;
      }
    },
  };
}
