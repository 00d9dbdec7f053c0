// `node --require` this in the policy pack process: a V8 code cache for the large files the pack
// compiles at every start. run-policy-pack always registers ts-node, which loads the
// TypeScript compiler (9 MB of JavaScript); parsing it was about a third of the pack's start-up,
// and the pack's start-up is on the path of every `drposture check`. Node 22 has this built in
// (module.enableCompileCache); Node 20 does not. Only the compile step changes: the file's own
// source still runs, and a cache V8 refuses (another Node, changed source) is rebuilt.
// Off with DRPOSTURE_CHECK_CODE_CACHE=0; DRPOSTURE_CODE_CACHE_DIR moves it (tests).
"use strict";
const { createHash } = require("node:crypto");
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require("node:fs");
const Module = require("node:module");
const path = require("node:path");
const vm = require("node:vm");

/** Below this a file parses about as fast as its cache is read and checked. At 64 KiB the pack
 * also caches the SDK's generated protobuf modules: its start measured ~8% shorter than with
 * TypeScript's compiler alone cached (median of 9, interleaved). */
const MIN_BYTES = 64 * 1024;
const CACHE = process.env.DRPOSTURE_CODE_CACHE_DIR || path.join(__dirname, "..", "..", "node_modules", ".cache", "drposture", "v8-code-cache");
const DIGEST = 32;
/** What this process's compiles did: cache used, absent or not intact, refused by V8. */
const stats = { hits: 0, misses: 0, rejected: 0 };

/** The cache file of this source under this Node: V8's data behind a SHA-256 of it. */
function cacheFile(filename, source) {
  const key = createHash("sha256").update(`${process.version}\0${process.arch}\0${filename}\0`).update(source).digest("hex");
  return path.join(CACHE, `${key}.v8`);
}

/** The cached data, or undefined when absent or not intact (a torn or altered file). */
function readCached(file) {
  let raw;
  try {
    raw = readFileSync(file);
  } catch {
    return undefined;
  }
  const data = raw.subarray(DIGEST);
  return raw.length > DIGEST && createHash("sha256").update(data).digest().equals(raw.subarray(0, DIGEST)) ? data : undefined;
}

/** Written whole or not at all (temp file, then rename): concurrent packs may race here. */
function writeCached(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(CACHE, { recursive: true });
    writeFileSync(tmp, Buffer.concat([createHash("sha256").update(data).digest(), data]));
    renameSync(tmp, file);
  } catch {
    /* a read-only checkout still works, just slower */
  }
}

/** Compiles and runs one CommonJS module as Module.prototype._compile does, through the cache. */
function compileCached(mod, content, filename) {
  const file = cacheFile(filename, content);
  const cachedData = readCached(file);
  const script = new vm.Script(Module.wrap(content), {
    filename,
    cachedData,
    importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (cachedData === undefined) stats.misses++;
  else if (script.cachedDataRejected) stats.rejected++;
  else stats.hits++;
  const wrapper = script.runInThisContext({ displayErrors: true });
  const result = wrapper.call(mod.exports, mod.exports, Module.createRequire(filename), mod, filename, path.dirname(filename));
  // After the module ran: the cache then holds the functions its load compiled, not just the top level.
  if (cachedData === undefined || script.cachedDataRejected) writeCached(file, script.createCachedData());
  return result;
}

function install() {
  const compile = Module.prototype._compile;
  Module.prototype._compile = function compileWithCache(content, filename) {
    // A hashbang line is only valid at the start of a script, not inside Module.wrap's function.
    if (content.length < MIN_BYTES || !filename.endsWith(".js") || content.startsWith("#!")) return compile.call(this, content, filename);
    return compileCached(this, content, filename);
  };
}

if (process.env.DRPOSTURE_CHECK_CODE_CACHE !== "0") install();

module.exports = { cacheFile, stats, MIN_BYTES };
