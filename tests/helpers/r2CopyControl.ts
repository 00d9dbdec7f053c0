/**
 * The baseline for R2 memory measurements: a bare Worker that copies one object to another key
 * through the R2 binding in 8 MiB multipart parts, no drposture code. What workerd's resident
 * set grows by here is the runtime's and Miniflare's R2 simulator's own cost of moving the bytes.
 */
import { Miniflare } from "miniflare";
import { WORKER_COMPATIBILITY_DATE } from "../../lib/local/localWorker";
import { peakRssMiB, workerdPids } from "../../lib/local/workerdMemory";

const SCRIPT = `export default { async fetch(req, env) {
  const src = await env.B.get("video.bin");
  const up = await env.B.createMultipartUpload("copy.bin");
  const reader = src.body.getReader();
  const parts = [];
  let buf = new Uint8Array(8 * 1024 * 1024), fill = 0, n = 1;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    let at = 0;
    while (at < value.length) {
      const k = Math.min(buf.length - fill, value.length - at);
      buf.set(value.subarray(at, at + k), fill); fill += k; at += k;
      if (fill === buf.length) { parts.push(await up.uploadPart(n++, buf)); buf = new Uint8Array(buf.length); fill = 0; }
    }
  }
  if (fill) parts.push(await up.uploadPart(n++, buf.subarray(0, fill)));
  await up.complete(parts);
  return new Response(String(n - 1));
} }`;

/** Peak RSS growth (MiB) of workerd while the bare Worker copies an object of `mib` MiB. */
export async function bareR2CopyGrowth(mib: number, seed: (bucket: Awaited<ReturnType<Miniflare["getR2Bucket"]>>) => Promise<void>): Promise<number> {
  const mf = new Miniflare({ modules: true, script: SCRIPT, r2Buckets: ["B"], compatibilityDate: WORKER_COMPATIBILITY_DATE });
  try {
    await mf.ready;
    await seed(await mf.getR2Bucket("B"));
    const pid = workerdPids().at(-1);
    if (!pid) throw new Error("workerd process not found");
    const before = peakRssMiB(pid);
    const parts = Number(await (await mf.dispatchFetch("http://control/")).text());
    if (parts !== Math.ceil(mib / 8)) throw new Error(`control copy wrote ${parts} parts`);
    return peakRssMiB(pid) - before;
  } finally {
    await mf.dispose();
  }
}
