/**
 * The Worker bundle's disk cache: esbuild takes a few hundred milliseconds (and its service
 * process) on every `drposture check` and `pulumi preview`, for a bundle that changes only when
 * its sources do. An entry is found by a hash of what was asked (esbuild version, options, entry)
 * and used only if every fact the build depended on still holds:
 *   - each input file esbuild read has the same SHA-256 (content, not mtime);
 *   - each directory an input came from lists the same names (a new file can change what an
 *     unchanged import resolves to: `./util` as util.tsx beside util.ts);
 *   - each package.json / tsconfig.json / jsconfig.json from those directories up to the root
 *     (or to their package's root) is the same, or still absent (resolution and compile settings).
 * Anything else (an unreadable, truncated or tampered entry) is a miss: the bundle is rebuilt and
 * the entry rewritten. Writes are atomic (temp file + rename), so concurrent checks never read
 * half an entry.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";

const FORMAT = "drposture-worker-bundle-v1";
const CONFIG_FILES = ["package.json", "tsconfig.json", "jsconfig.json"];

/** One fact the bundle depended on: [kind, path relative to the root, hash or listing]. */
type Fact = [kind: "file" | "dir" | "config", rel: string, value: string];

interface Entry {
  readonly format: string;
  readonly key: string;
  readonly facts: Fact[];
  readonly content: string;
  readonly sha256: string;
}

export type CacheOutcome = "hit" | "miss" | "stale" | "corrupt";

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

function readOrNull(file: string): Buffer | null {
  try {
    return readFileSync(file);
  } catch {
    return null;
  }
}

function listing(dir: string): string {
  try {
    return readdirSync(dir).sort().join("/");
  } catch {
    return "(absent)";
  }
}

/** A package's own directory: node_modules/NAME or node_modules/@SCOPE/NAME. */
function isPackageRoot(dir: string): boolean {
  const parent = path.dirname(dir);
  return path.basename(parent) === "node_modules" || (path.basename(parent).startsWith("@") && path.basename(path.dirname(parent)) === "node_modules");
}

/** Directories from `dir` up to `stop` (inclusive), or up to its package's root inside node_modules. */
function ancestors(dir: string, stop: string): string[] {
  const out: string[] = [];
  const inPackage = dir.split(path.sep).includes("node_modules");
  for (let d = dir; ; d = path.dirname(d)) {
    out.push(d);
    if (d === stop || d === path.dirname(d) || (inPackage && isPackageRoot(d))) return out;
  }
}

/** The facts a build with these inputs (paths relative to `root`, as esbuild's metafile has them) rests on. */
export function factsOf(root: string, inputs: readonly string[]): Fact[] {
  const files = [...new Set(inputs)].filter((i) => !i.includes(":")).sort(); // "node:fs"-like externals are not files
  const dirs = new Set(files.map((f) => path.dirname(path.resolve(root, f))));
  const configDirs = new Set([...dirs].flatMap((d) => ancestors(d, root)));
  const rel = (p: string) => path.relative(root, p) || ".";
  const facts: Fact[] = [];
  for (const f of files) facts.push(["file", f, sha256(readOrNull(path.resolve(root, f)) ?? "(absent)")]);
  for (const d of [...dirs].sort()) facts.push(["dir", rel(d), listing(d)]);
  for (const d of [...configDirs].sort()) {
    for (const name of CONFIG_FILES) facts.push(["config", rel(path.join(d, name)), sha256(readOrNull(path.join(d, name)) ?? "(absent)")]);
  }
  return facts;
}

export function cacheKey(parts: unknown): string {
  return sha256(JSON.stringify([FORMAT, parts]));
}

/** The cached bundle for `key` under `root`, if every fact still holds. */
export function readCached(cacheDir: string, root: string, key: string): { content: string; sha256: string } | CacheOutcome {
  const raw = readOrNull(path.join(cacheDir, `${key}.json`));
  if (!raw) return "miss";
  let e: Entry;
  try {
    e = JSON.parse(raw.toString("utf8")) as Entry;
  } catch {
    return "corrupt";
  }
  if (e?.format !== FORMAT || e.key !== key || typeof e.content !== "string" || !Array.isArray(e.facts) || sha256(e.content) !== e.sha256) return "corrupt";
  const recorded = e.facts.filter((f) => f[0] === "file").map((f) => f[1]);
  const now = factsOf(root, recorded);
  if (JSON.stringify(now) !== JSON.stringify(e.facts)) return "stale";
  return { content: e.content, sha256: e.sha256 };
}

/** Whether any input or its directory changed since `since` (ms, wall clock), with a margin for
 * coarse file times: then the facts read now may not be what the build read. */
function touchedSince(root: string, facts: readonly Fact[], since: number): boolean {
  for (const [kind, rel] of facts) {
    let mtime: number;
    try {
      mtime = statSync(path.resolve(root, rel)).mtimeMs;
    } catch {
      if (kind === "config") continue; // absent, as recorded
      return true;
    }
    if (mtime >= since - 2000) return true;
  }
  return false;
}

/** Records a build started at `builtSince` (Date.now()); best effort (a read-only checkout still
 * works, only slower). Not recorded when a source changed around the build: the bundle may hold
 * the old text while the facts would say the new. */
export function writeCached(cacheDir: string, root: string, key: string, inputs: readonly string[], content: string, hash: string, builtSince: number): void {
  const facts = factsOf(root, inputs);
  if (touchedSince(root, facts, builtSince)) return;
  const entry: Entry = { format: FORMAT, key, facts, content, sha256: hash };
  const file = path.join(cacheDir, `${key}.json`);
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(tmp, JSON.stringify(entry));
    renameSync(tmp, file);
  } catch {
    /* not cached: the next run builds again */
  }
}
