/**
 * Bundles worker/ into one ES module with esbuild, deterministically: same sources, same bytes
 * (no timestamps, no absolute paths, no source maps), so `pulumi preview` shows no change when
 * nothing changed and the Worker's version is the bundle's SHA-256. Kept on disk between runs
 * (bundleCache.ts): a `drposture check` or `pulumi preview` with unchanged sources skips esbuild.
 */
import type { BuildOptions } from "esbuild";
import { createHash } from "node:crypto";
import * as path from "node:path";
import { cacheKey, readCached, writeCached, type CacheOutcome } from "./bundleCache";

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

/** Where bundles are kept between runs (see bundleCache.ts for what makes an entry valid). */
export const BUNDLE_CACHE_DIR = path.join(WORKER_ROOT, "node_modules", ".cache", "drposture", "worker-bundle");

export interface BundleOptions {
  /** Directory the entry and its imports resolve from; default: this repository. */
  readonly root?: string;
  /** Disk cache directory; null: always build. */
  readonly cacheDir?: string | null;
}

const memo = new Map<string, WorkerBundle>();

/** How the last bundleModule call got its bundle (tests, DRPOSTURE_TRACE). */
export let lastBundleOutcome: CacheOutcome | "memory" | "uncached" = "uncached";

/** Forgets the bundles built in this process (tests: the next call sees only the disk cache). */
export function forgetBundlesInMemory(): void {
  memo.clear();
}

/** The backup Worker's bundle. */
export function bundleWorker(): WorkerBundle {
  return bundleModule(WORKER_ENTRY);
}

function esbuildOptions(root: string, entry: string, external: readonly string[]): BuildOptions & { write: false } {
  return {
    absWorkingDir: root,
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
  };
}

/** Any Worker entry point of this repository (the benchmarks and the local limits shim have
 * their own); `external` names sibling modules provided at run time. */
export function bundleModule(entry: string, external: readonly string[] = [], o: BundleOptions = {}): WorkerBundle {
  const root = o.root ?? WORKER_ROOT;
  const cacheDir = o.cacheDir === undefined ? BUNDLE_CACHE_DIR : o.cacheDir;
  const options = esbuildOptions(root, entry, external);
  // esbuild's version is read from its package.json: loading esbuild itself is what a hit saves.
  const key = cacheKey([require("esbuild/package.json").version, options]);
  const hit = memo.get(key);
  if (hit) return ((lastBundleOutcome = "memory"), hit);
  const started = performance.now();
  const cached = cacheDir ? readCached(cacheDir, root, key) : "miss";
  if (typeof cached !== "string") {
    const bundle = { content: cached.content, sha256: cached.sha256, version: cached.sha256.slice(0, 12) };
    memo.set(key, bundle);
    lastBundleOutcome = "hit";
    trace(`${entry}: cached bundle ${Math.round(performance.now() - started)}ms`);
    return bundle;
  }
  const builtSince = Date.now();
  const { buildSync } = require("esbuild") as typeof import("esbuild");
  const result = buildSync({ ...options, metafile: true });
  const file = result.outputFiles?.[0];
  if (!file) throw new Error(`esbuild produced no output for ${entry}`);
  const content = file.text;
  const sha256 = createHash("sha256").update(content).digest("hex");
  const bundle = { content, sha256, version: sha256.slice(0, 12) };
  if (cacheDir) writeCached(cacheDir, root, key, Object.keys(result.metafile?.inputs ?? {}), content, sha256, builtSince);
  memo.set(key, bundle);
  lastBundleOutcome = cached;
  trace(`${entry}: esbuild ${Math.round(performance.now() - started)}ms (cache ${cached})`);
  return bundle;
}

function trace(line: string): void {
  if (process.env.DRPOSTURE_TRACE === "1") process.stderr.write(`[bundle] ${line}\n`);
}
