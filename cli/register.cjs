// Lets Node require this repository's TypeScript directly: `.ts` files are compiled to CommonJS
// by esbuild on load. Only `.ts` is hooked (node_modules JavaScript loads untouched), and the
// output is cached by content hash in node_modules/.cache/drposture-ts, so `drposture` starts
// close to a plain Node process. Used by cli/bin.cjs, the Neon settings command and the
// benchmarks: `node -r ./cli/register.cjs file.ts`.
"use strict";
const { createHash } = require("node:crypto");
const { mkdirSync, readFileSync, writeFileSync } = require("node:fs");
const path = require("node:path");

const CACHE = path.join(__dirname, "..", "node_modules", ".cache", "drposture-ts");
let esbuild;

function compile(source, filename) {
  const key = createHash("sha256").update("v1\0").update(filename).update("\0").update(source).digest("hex");
  const cached = path.join(CACHE, `${key}.js`);
  try {
    return readFileSync(cached, "utf8");
  } catch {
    /* not cached yet */
  }
  esbuild ??= require("esbuild");
  const { code } = esbuild.transformSync(source, { loader: "ts", format: "cjs", target: "node20", sourcefile: filename });
  try {
    mkdirSync(CACHE, { recursive: true });
    writeFileSync(cached, code);
  } catch {
    /* a read-only checkout still works, just slower */
  }
  return code;
}

if (!require.extensions[".ts"]) {
  require.extensions[".ts"] = function compileTs(module, filename) {
    module._compile(compile(readFileSync(filename, "utf8"), filename), filename);
  };
}
