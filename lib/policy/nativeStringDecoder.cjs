// Long strings in the requests a policy pack receives, decoded by Node instead of
// google-protobuf's JavaScript: the pack-side mirror of nativeStrings.ts. google-protobuf's
// BinaryDecoder.readString turns UTF-8 into a string one byte at a time through an array of
// numbers; the Worker script (~600 KB) arrives in Analyze and again in AnalyzeStack, ~18 ms the
// first time and ~7 ms after. Well-formed UTF-8 (Buffer's isUtf8: no overlong forms, no
// surrogates, nothing past U+10FFFF) decodes to the same string either way, so it is decoded
// natively; any other bytes go to google-protobuf, whose lenient handling of them is kept.
// Used by nativeStringDecoderPreload.cjs in the pack process; no side effect on require.
"use strict";
const { isUtf8 } = require("node:buffer");
const path = require("node:path");

/** Shorter strings decode as fast in JavaScript as through a Buffer view. */
const NATIVE_FROM = 1024;

/** readString(length) for BinaryDecoder.prototype, falling back to `original`. */
function nativeReadString(original) {
  function readString(length) {
    if (length >= NATIVE_FROM) {
      const bytes = this.getBuffer();
      const start = this.getCursor();
      if (bytes instanceof Uint8Array && start + length <= bytes.length) {
        const view = Buffer.from(bytes.buffer, bytes.byteOffset + start, length);
        if (isUtf8(view)) {
          this.setCursor(start + length);
          return view.toString("utf8");
        }
      }
    }
    return original.call(this, length);
  }
  readString.nativeStrings = true;
  return readString;
}

/** Replaces readString, and its minified alias the reader calls, on one google-protobuf's
 * BinaryDecoder. False (nothing changed) when the module does not have the shape expected. */
function install(googleProtobuf) {
  const proto = googleProtobuf && googleProtobuf.jspb && googleProtobuf.jspb.BinaryDecoder && googleProtobuf.jspb.BinaryDecoder.prototype;
  const original = proto && proto.readString;
  if (typeof original !== "function") return false;
  if (original.nativeStrings) return true;
  for (const m of ["getBuffer", "getCursor", "setCursor"]) if (typeof proto[m] !== "function") return false;
  const replacement = nativeReadString(original);
  for (const key of Object.keys(proto)) if (proto[key] === original) proto[key] = replacement;
  return true;
}

/** The google-protobuf whose decoder the pack's Analyzer service uses: the one @pulumi/pulumi's
 * generated stubs load, that SDK being the one @pulumi/policy (the pack's server) loads. */
function packGoogleProtobuf(packDir) {
  const from = (pkg, dir) => path.dirname(require.resolve(`${pkg}/package.json`, { paths: [dir] }));
  let dir = packDir;
  try {
    dir = from("@pulumi/policy", packDir);
  } catch {
    /* not a CrossGuard pack: the SDK the pack resolves itself */
  }
  return require(require.resolve("google-protobuf", { paths: [from("@pulumi/pulumi", dir)] }));
}

module.exports = { NATIVE_FROM, install, nativeReadString, packGoogleProtobuf };
