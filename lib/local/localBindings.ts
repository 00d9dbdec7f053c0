/**
 * D1, KV and R2 as `wrangler dev` keeps them on disk (`--persist-to DIR` stores them under
 * DIR/v3/), opened through Miniflare: a restore target for local rebuilds and drills, with the
 * same binding API as in a Worker.
 *
 * Nothing of it outlives the command: the workerd child is stopped and Miniflare's temporary
 * directory removed on dispose, on a failed command and on Ctrl-C (the cleanup registry), and
 * on any other exit of the process. Miniflare puts that directory in os.tmpdir() and its dispose
 * removes it only fire-and-forget, so a CLI exiting right after left `/tmp/miniflare-*` behind:
 * here it lives inside a directory of ours, removed once workerd has stopped.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { Miniflare, MiniflareOptions } from "miniflare";
import { onCleanup } from "../process/cleanup";
import { WORKER_COMPATIBILITY_DATE } from "./localWorker";
import { ownedMiniflare } from "./ownedMiniflare";

export interface LocalBindings {
  readonly mf: Miniflare;
  d1(): ReturnType<Miniflare["getD1Database"]>;
  kv(): ReturnType<Miniflare["getKVNamespace"]>;
  r2(): ReturnType<Miniflare["getR2Bucket"]>;
  /** Stops workerd and removes the temporary directory; safe to call more than once. */
  dispose(): Promise<void>;
}

/** A Miniflare whose temporary directory is `parent/miniflare-*` rather than `$TMPDIR/miniflare-*`. */
function miniflareIn(parent: string, options: MiniflareOptions, label: string): Miniflare {
  // Miniflare reads os.tmpdir() once, synchronously, in its constructor.
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = parent;
  try {
    // Owned: under the CLI, Ctrl-C disposes it through the registry (not Miniflare's own exit).
    return ownedMiniflare(options, label);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

/** `id` is the D1 database id, KV namespace id or R2 bucket name. */
export async function openLocalBindings(dir: string, kind: "d1" | "kv" | "r2", id: string): Promise<LocalBindings> {
  const root = path.resolve(dir, "v3");
  const parent = mkdtempSync(path.join(tmpdir(), "drposture-miniflare-"));
  const removeParent = () => rmSync(parent, { recursive: true, force: true });
  // Last resort for an exit nobody saw coming: Miniflare's own exit hook kills workerd, this
  // removes what is left of the directory.
  process.on("exit", removeParent);
  let mf: Miniflare | undefined;
  let disposed: Promise<void> | undefined;
  const dispose = () =>
    (disposed ??= (async () => {
      try {
        await mf?.dispose();
      } finally {
        removeParent();
        process.off("exit", removeParent);
        unregister();
      }
    })());
  const unregister = onCleanup(`stop workerd and remove ${parent} (local:${dir}#${id})`, dispose);
  try {
    mf = miniflareIn(parent, {
      modules: true,
      script: "export default { fetch() { return new Response(null, { status: 404 }); } };",
      compatibilityDate: WORKER_COMPATIBILITY_DATE,
      ...(kind === "d1" ? { d1Databases: { TARGET: id }, d1Persist: path.join(root, "d1") } : {}),
      ...(kind === "kv" ? { kvNamespaces: { TARGET: id }, kvPersist: path.join(root, "kv") } : {}),
      ...(kind === "r2" ? { r2Buckets: { TARGET: id }, r2Persist: path.join(root, "r2") } : {}),
    }, `local:${dir}#${id}`);
    await mf.ready;
  } catch (err) {
    await dispose();
    throw err;
  }
  const ready = mf;
  return {
    mf: ready,
    d1: () => ready.getD1Database("TARGET"),
    kv: () => ready.getKVNamespace("TARGET"),
    r2: () => ready.getR2Bucket("TARGET"),
    dispose,
  };
}
