// The Pulumi SDK parts a check never calls, loaded on first use instead of at require time.
// `require("@pulumi/pulumi")` eagerly loads the Automation API and the closure serializer, and
// through them the TypeScript compiler, npm's arborist and sigstore: about two thirds of the
// SDK's load time. A program under mocks and a policy pack use neither, unless they do: each
// deferred module is a stand-in whose first use loads the real one, so behaviour is unchanged.
// One module outside the SDK goes the same way: zod's locales (every language's error messages,
// ~30 ms of the check's start), which `require("zod")` loads whole for `z.locales`; zod's own
// English messages are configured from their own module and do not need it.
// Used in the check's own process (required before the SDK) and in the policy pack's
// (`node --require` this file, the pack's directory as cwd).
"use strict";
const Module = require("node:module");
const { existsSync, readFileSync } = require("node:fs");
const path = require("node:path");

/** Modules deferred (package, path inside it), and how their stand-in looks:
 * - "namespace": only ever imported as a whole (`pulumi.automation`, `z.locales`); any property
 *   access loads it.
 * - "functions": its exports are read at load time (`runtime/index.js` re-exports them), so the
 *   stand-in exports a forwarding function per `exports.NAME =` of the real file. */
const DEFERRED = [
  ["@pulumi/pulumi", "automation/index.js", "namespace"],
  ["@pulumi/pulumi", "runtime/closure/serializeClosure.js", "functions"],
  ["@pulumi/pulumi", "runtime/closure/codePaths.js", "functions"],
  ["zod", "v4/locales/index.cjs", "namespace"],
];

/** Names a compiled CommonJS file assigns with `exports.NAME = ` at the start of a line. */
function exportedNames(file) {
  return [...readFileSync(file, "utf8").matchAll(/^exports\.([A-Za-z_$][\w$]*) = /gm)].map((m) => m[1]);
}

function standIn(kind, file, load) {
  if (kind === "namespace") {
    return new Proxy(
      {},
      {
        get: (_, key) => (key === "__esModule" ? true : load()[key]),
        has: (_, key) => key in load(),
        ownKeys: () => Reflect.ownKeys(load()),
        getOwnPropertyDescriptor: (_, key) => Object.getOwnPropertyDescriptor(load(), key),
      },
    );
  }
  const names = exportedNames(file);
  if (!names.length) return null;
  const exports = { __esModule: true };
  for (const name of names) {
    exports[name] = function (...args) {
      return load()[name].apply(this, args);
    };
  }
  return exports;
}

/** Defers the modules above of package `pkg` installed at `root` (its package dir). Skips what
 * is already loaded or not there (another layout): then it loads as usual. */
function deferIn(pkg, root) {
  const deferred = [];
  for (const [p, rel, kind] of DEFERRED) {
    if (p !== pkg) continue;
    const file = path.join(root, rel);
    if (require.cache[file] || !existsSync(file)) continue;
    let real;
    const load = () => {
      if (!real) {
        if (require.cache[file] === stub) delete require.cache[file];
        real = require(file);
      }
      return real;
    };
    const exports = standIn(kind, file, load);
    if (!exports) continue;
    const stub = new Module(file);
    stub.filename = file;
    stub.loaded = true;
    stub.exports = exports;
    require.cache[file] = stub;
    deferred.push(file);
  }
  return deferred;
}

/** The dirs of `pkg` that `from` (directories) would load, by real path as Node caches them. */
function packageRoots(pkg, from) {
  const roots = new Set();
  for (const dir of from) {
    try {
      roots.add(path.dirname(require.resolve(`${pkg}/package.json`, { paths: [dir] })));
    } catch {
      /* not installed there */
    }
  }
  return [...roots];
}

/** Defers the unused parts for code that resolves the packages above from `from`; returns the
 * files deferred. */
function deferUnusedSdkParts(from) {
  const packages = [...new Set(DEFERRED.map(([pkg]) => pkg))];
  return packages.flatMap((pkg) => packageRoots(pkg, from).flatMap((root) => deferIn(pkg, root)));
}

/** DRPOSTURE_CHECK_LAZY_SDK=0 loads the SDK whole, as a plain `require` does (an escape hatch
 * should a future SDK lay its modules out differently, and the tests' reference run). */
function lazySdk() {
  return process.env.DRPOSTURE_CHECK_LAZY_SDK !== "0";
}

module.exports = { deferUnusedSdkParts, lazySdk, DEFERRED };

