/**
 * The scratch R2 bucket: emptied with R2's bulk delete (up to 1,000 keys per call); restored by
 * restoreR2 (the CLI's code) through a sink that streams each object into the bucket with its
 * length fixed (memory does not grow with object size) while hashing it; read back with list
 * (HTTP and custom metadata included) and one get per object. An object is rendered as
 * [key, size, SHA-256 of the body, HTTP metadata, custom metadata] on both sides.
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../../lib/format/manifest";
import { r2Objects, restoreR2, type R2Sink } from "../../lib/restore/r2Restore";
import type { StepBudget } from "./budget";
import { artifactWindow, type PartDone, type RestorePart, type ScratchTarget } from "./scratch";

/** Documented cap of keys per R2 bulk delete: https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#bucket-method-definitions */
const DELETE_BATCH = 1000;

/** JSON-safe metadata (Dates as ISO text, undefined dropped), so both sides render alike. */
const plain = (v: unknown) => (v === undefined || v === null ? null : JSON.parse(JSON.stringify(v)));

export const r2Item = (key: string, size: number, sha256: string, http: unknown, custom: unknown) =>
  `r2\0${canonicalJson([key, size, sha256, plain(http) ?? {}, plain(custom) ?? {}])}`;

/** Wraps operations so that each also ends (throwing its error) when `put` fails first. */
function untilFailed(put: Promise<unknown>): <T>(op: Promise<T>) => Promise<T> {
  let failure: { error: unknown } | undefined;
  const settled = put.then(
    () => undefined,
    (error: unknown) => void (failure = { error }),
  );
  return <T>(op: Promise<T>) => {
    op.catch(() => undefined); // an op the put's failure left pending may reject later, unobserved
    return Promise.race([op, settled.then(() => (failure ? Promise.reject(failure.error) : op))]);
  };
}

export function scratchR2(bucket: R2Bucket, label: string): ScratchTarget {
  return {
    label,
    async empty(budget) {
      for (;;) {
        budget.op();
        const page = await bucket.list({ limit: DELETE_BATCH });
        if (!page.objects.length) return true;
        budget.op();
        await bucket.delete(page.objects.map((o) => o.key));
        if (budget.spent) return false;
      }
    },

    async restore(p: RestorePart): Promise<PartDone> {
      const sink: R2Sink = {
        label,
        keys: async function* (prefix) {
          p.budget.op();
          for await (const o of r2Objects(bucket as unknown as Parameters<typeof r2Objects>[0], prefix)) yield o.key;
        },
        put: async (key, body, size, meta) => {
          p.budget.op();
          // The body goes into the bucket with its length fixed (streamed, not buffered) and
          // is hashed on the way.
          const fixed = new FixedLengthStream(size);
          const writer = fixed.writable.getWriter();
          const putting = bucket.put(key, fixed.readable, { ...(meta.http ? { httpMetadata: meta.http as R2HTTPMetadata } : {}), ...(meta.custom ? { customMetadata: meta.custom } : {}) });
          // A put that fails before it has read the body reads no more of it: a write would wait
          // for it forever, so each write also ends when the put fails.
          const guard = untilFailed(putting);
          const h = createHash("sha256");
          try {
            for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
              h.update(chunk);
              await guard(writer.write(chunk));
            }
            await guard(writer.close());
          } catch (err) {
            await writer.abort(err).catch(() => undefined);
            await putting.catch(() => undefined);
            throw err;
          }
          await putting;
          p.expected.add(r2Item(key, size, h.digest("hex"), meta.http, meta.custom));
        },
        delete: async (key) => {
          p.budget.op();
          await bucket.delete(key);
        },
      };
      const { window, resume } = artifactWindow(p);
      const report = await restoreR2(p.store, p.master, p.resolved, sink, { mode: p.skip === 0 ? "fail" : "overwrite", validateOnly: false, window });
      return { report, resume: resume() };
    },

    async verify(cursor, budget, actual) {
      let at = cursor ?? undefined;
      for (;;) {
        budget.op();
        const page = await bucket.list({ limit: Math.min(1000, budget.opsLeft), include: ["httpMetadata", "customMetadata"], ...(at ? { cursor: at } : {}) });
        for (const o of page.objects) {
          budget.op();
          const got = await bucket.get(o.key);
          if (!got) continue;
          const h = createHash("sha256");
          let n = 0;
          for await (const chunk of got.body as unknown as AsyncIterable<Uint8Array>) {
            h.update(chunk);
            n += chunk.byteLength;
          }
          const sha256 = h.digest("hex");
          budget.read(n);
          actual.add(r2Item(o.key, n, sha256, o.httpMetadata, o.customMetadata));
        }
        if (!page.truncated || !page.cursor) return null;
        at = page.cursor;
        if (budget.spent) return at;
      }
    },
  };
}
