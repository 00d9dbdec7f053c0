/**
 * D1, KV and R2 as `wrangler dev` keeps them on disk (`--persist-to DIR` stores them under
 * DIR/v3/), opened through Miniflare: a restore target for local rebuilds and drills, with the
 * same binding API as in a Worker.
 *
 * Nothing of it outlives the command (ownedMiniflare.ts: workerd stopped and Miniflare's
 * temporary directory removed on dispose, on a failed command, on Ctrl-C and on a forced exit).
 */
import * as path from "node:path";
import type { Miniflare } from "miniflare";
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

/** `id` is the D1 database id, KV namespace id or R2 bucket name. */
export async function openLocalBindings(dir: string, kind: "d1" | "kv" | "r2", id: string): Promise<LocalBindings> {
  const root = path.resolve(dir, "v3");
  // Owned: stopped (and its temporary directory removed) on dispose, on a failed command, on
  // Ctrl-C through the registry, and on a forced exit.
  const mf = ownedMiniflare(
    {
      modules: true,
      script: "export default { fetch() { return new Response(null, { status: 404 }); } };",
      compatibilityDate: WORKER_COMPATIBILITY_DATE,
      ...(kind === "d1" ? { d1Databases: { TARGET: id }, d1Persist: path.join(root, "d1") } : {}),
      ...(kind === "kv" ? { kvNamespaces: { TARGET: id }, kvPersist: path.join(root, "kv") } : {}),
      ...(kind === "r2" ? { r2Buckets: { TARGET: id }, r2Persist: path.join(root, "r2") } : {}),
    },
    `local:${dir}#${id}`,
  );
  try {
    await mf.ready;
  } catch (err) {
    await mf.dispose();
    throw err;
  }
  return {
    mf,
    d1: () => mf.getD1Database("TARGET"),
    kv: () => mf.getKVNamespace("TARGET"),
    r2: () => mf.getR2Bucket("TARGET"),
    dispose: () => mf.dispose(),
  };
}
