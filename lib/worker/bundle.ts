/**
 * Bundles worker/ into one ES module with esbuild, deterministically: same sources, same bytes
 * (no timestamps, no absolute paths, no source maps), so `pulumi preview` shows no change when
 * nothing changed and the Worker's version is the bundle's SHA-256.
 */
import { buildSync } from "esbuild";
import { createHash } from "node:crypto";
import * as path from "node:path";

export const WORKER_ROOT = path.resolve(__dirname, "..", "..");
export const WORKER_ENTRY = "worker/index.ts";

export interface WorkerBundle {
  /** The module's source. */
  readonly content: string;
  /** Hex SHA-256 of `content`. */
  readonly sha256: string;
  /** Short version string for manifests: the first 12 hex characters of the hash. */
  readonly version: string;
}

const cache = new Map<string, WorkerBundle>();

/** The backup Worker's bundle. */
export function bundleWorker(): WorkerBundle {
  return bundleModule(WORKER_ENTRY);
}

/** Any Worker entry point of this repository (the benchmarks and the local limits shim have
 * their own); `external` names sibling modules provided at run time. */
export function bundleModule(entry: string, external: readonly string[] = []): WorkerBundle {
  const cacheKey = `${entry}\0${external.join(",")}`;
  const hit = cache.get(cacheKey);
  if (hit) return hit;
  const started = performance.now();
  const result = buildSync({
    absWorkingDir: WORKER_ROOT,
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser", "import", "default"],
    target: "es2022",
    // Provided by the Workers runtime (nodejs_compat flag).
    external: ["node:*", "cloudflare:*", ...external],
    legalComments: "none",
    sourcemap: false,
    minify: false,
    charset: "utf8",
    logLevel: "silent",
  });
  const file = result.outputFiles?.[0];
  if (!file) throw new Error(`esbuild produced no output for ${entry}`);
  const content = file.text;
  const sha256 = createHash("sha256").update(content).digest("hex");
  const bundle = { content, sha256, version: sha256.slice(0, 12) };
  cache.set(cacheKey, bundle);
  if (process.env.DRPOSTURE_TRACE === "1") process.stderr.write(`[bundle] ${entry}: esbuild ${Math.round(performance.now() - started)}ms\n`);
  return bundle;
}
