/**
 * lib/policy/codeCachePreload.cjs: a V8 code cache for the large files the policy pack
 * compiles at every start (the TypeScript compiler). Each test runs fresh Node processes with
 * the preload and a cache directory of its own. What must hold: a cached module behaves as it
 * does without the cache (exports, require, __filename, errors); the cache is used when
 * intact and rebuilt when torn, altered or made for other source; small files are left alone;
 * an unwritable cache costs nothing but speed; and the check's verdicts are the same with the
 * cache off.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { drposture } from "../helpers/cli";
import { ROOT } from "../helpers/program";

const exec = promisify(execFile);
const PRELOAD = path.join(ROOT, "lib", "policy", "codeCachePreload.cjs");

/** The preload's exports, without installing its hook in this (the test runner's) process. */
function preloadModule(): { cacheFile(filename: string, source: string): string; MIN_BYTES: number } {
  const before = process.env.DRPOSTURE_CHECK_CODE_CACHE;
  process.env.DRPOSTURE_CHECK_CODE_CACHE = "0";
  try {
    return require(PRELOAD);
  } finally {
    if (before === undefined) delete process.env.DRPOSTURE_CHECK_CODE_CACHE;
    else process.env.DRPOSTURE_CHECK_CODE_CACHE = before;
  }
}

let dir: string;
let cache: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "drposture-code-cache-"));
  cache = path.join(dir, "cache");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A CommonJS module of `bytes` or more that uses what a module gets from its wrapper. */
function bigModule(name: string, bytes: number, extra = ""): string {
  const fns: string[] = [];
  for (let i = 0, n = 0; n < bytes; i++) n += fns[fns.push(`function f${i}(x) { return x * ${i} + ${i % 7}; }\n`) - 1]!.length;
  const file = path.join(dir, name);
  writeFileSync(path.join(dir, "dep.js"), "exports.x = 42;\n");
  writeFileSync(
    file,
    `"use strict";\n${fns.join("")}
exports.sum = f1(2);
exports.last = f${fns.length - 1}(0) === ${(fns.length - 1) % 7};
exports.file = __filename;
exports.dir = __dirname;
exports.dep = require("./dep.js").x;
exports.resolved = require.resolve("./dep.js");
exports.self = module.filename === __filename && this === module.exports;
${extra}\n`,
  );
  return file;
}

async function load(file: string, env: NodeJS.ProcessEnv = {}): Promise<{ exports: Record<string, unknown>; stats: Record<string, number> }> {
  const script = `
    const m = require(${JSON.stringify(file)});
    const { stats } = require(${JSON.stringify(PRELOAD)});
    console.log(JSON.stringify({ exports: m, stats }));`;
  const { stdout } = await exec(process.execPath, ["--require", PRELOAD, "-e", script], { env: { ...process.env, DRPOSTURE_CODE_CACHE_DIR: cache, ...env } });
  return JSON.parse(stdout);
}

const cacheFiles = () => {
  try {
    return readdirSync(cache).filter((f) => f.endsWith(".v8"));
  } catch {
    return [];
  }
};

describe("the policy pack's code cache", () => {
  it("runs a large module as Node does, writes its cache once, then compiles from it", async () => {
    const file = bigModule("big.js", 1.2 * 1024 * 1024);
    const expected = { sum: 3, last: true, file, dir, dep: 42, resolved: path.join(dir, "dep.js"), self: true };
    const cold = await load(file);
    expect(cold.exports).toMatchObject(expected);
    expect(cold.stats).toEqual({ hits: 0, misses: 1, rejected: 0 });
    const [written] = cacheFiles();
    expect(cacheFiles()).toHaveLength(1);
    const before = statSync(path.join(cache, written as string)).mtimeMs;

    const warm = await load(file);
    expect(warm.exports).toEqual(cold.exports);
    expect(warm.stats).toEqual({ hits: 1, misses: 0, rejected: 0 });
    expect(statSync(path.join(cache, written as string)).mtimeMs).toBe(before);

    const without = await load(file, { DRPOSTURE_CHECK_CODE_CACHE: "0" });
    expect(without.exports).toEqual(cold.exports);
  });

  it("leaves files under its threshold (64 KiB) to Node, and writes nothing when turned off", async () => {
    const { MIN_BYTES } = preloadModule();
    expect(MIN_BYTES).toBe(64 * 1024);
    const small = bigModule("small.js", MIN_BYTES - 2000);
    expect(readFileSync(small, "utf8").length).toBeLessThan(MIN_BYTES);
    expect((await load(small)).stats).toEqual({ hits: 0, misses: 0, rejected: 0 });
    expect(cacheFiles()).toEqual([]);
    const big = bigModule("big.js", 1.1 * 1024 * 1024);
    await load(big, { DRPOSTURE_CHECK_CODE_CACHE: "0" });
    expect(cacheFiles()).toEqual([]);
  });

  it("rebuilds a torn or altered cache file instead of trusting it", async () => {
    const file = bigModule("big.js", 1.1 * 1024 * 1024);
    await load(file);
    const [name] = cacheFiles();
    const cached = path.join(cache, name as string);
    const intact = readFileSync(cached);

    writeFileSync(cached, intact.subarray(0, intact.length >> 1)); // torn: a crash mid-write
    let r = await load(file);
    expect(r.exports.sum).toBe(3);
    expect(r.stats).toEqual({ hits: 0, misses: 1, rejected: 0 });
    expect(readFileSync(cached).length).toBeGreaterThan(intact.length >> 1);

    const altered = Buffer.from(readFileSync(cached));
    altered[altered.length - 100] = (altered[altered.length - 100] as number) ^ 0xff; // one byte changed
    writeFileSync(cached, altered);
    r = await load(file);
    expect(r.exports.sum).toBe(3);
    expect(r.stats).toEqual({ hits: 0, misses: 1, rejected: 0 });
  });

  it("rebuilds a well-formed cache that V8 refuses (made for other source)", async () => {
    const other = bigModule("other.js", 1.1 * 1024 * 1024, "exports.other = true;");
    await load(other);
    const [otherCache] = cacheFiles();
    const file = bigModule("big.js", 1.1 * 1024 * 1024);
    const { cacheFile } = preloadModule();
    // The other module's data, intact digest and all, where this module's cache belongs.
    const target = path.join(cache, path.basename(cacheFile(file, readFileSync(file, "utf8"))));
    writeFileSync(target, readFileSync(path.join(cache, otherCache as string)));
    const r = await load(file);
    expect(r.exports).toMatchObject({ sum: 3, dep: 42, self: true });
    expect(r.exports.other).toBeUndefined();
    expect(r.stats).toEqual({ hits: 0, misses: 0, rejected: 1 });
    expect((await load(file)).stats).toEqual({ hits: 1, misses: 0, rejected: 0 });
  });

  it("costs only speed when the cache cannot be written", async () => {
    const file = bigModule("big.js", 1.1 * 1024 * 1024);
    writeFileSync(cache, "a file where the cache directory would go");
    const r = await load(file);
    expect(r.exports.sum).toBe(3);
    expect(r.stats).toEqual({ hits: 0, misses: 1, rejected: 0 });
  });

  it("lets a module's load error through, as Node would", async () => {
    const file = bigModule("throws.js", 1.1 * 1024 * 1024, 'throw new Error("bad module");');
    await expect(load(file)).rejects.toThrow(/bad module/);
    mkdirSync(cache, { recursive: true });
    expect(cacheFiles()).toEqual([]);
  });

  it.each(["backup-frequency-meets-rpo", "compliant"])("gives the same check verdicts as no cache (hand-written stack %s)", async (stack) => {
    const run = async (codeCache: string) => {
      const r = await drposture(["check", "--json", "--cwd", path.join(ROOT, "tests", "fixtures", "handwritten"), "--stack", stack, "--policy-config", path.join(ROOT, "policies", "config", "prod.json")], { env: { DRPOSTURE_CHECK_CODE_CACHE: codeCache, DRPOSTURE_CODE_CACHE_DIR: cache } });
      return { code: r.code, out: r.stdout };
    };
    const off = await run("0");
    const cold = await run("1");
    const warm = await run("1");
    expect(cold).toEqual(off);
    expect(warm).toEqual(off);
    expect(off.code).toBe(stack === "compliant" ? 0 : 1);
    expect(cacheFiles().length).toBeGreaterThan(0); // the pack's TypeScript compiler
  });
});
