// `node --require` this in the policy pack process (cwd: the pack's directory): long strings in
// the Analyzer requests it receives are decoded by Node (see nativeStringDecoder.cjs).
"use strict";
const { install, packGoogleProtobuf } = require("./nativeStringDecoder.cjs");

try {
  install(packGoogleProtobuf(process.cwd()));
} catch {
  /* no SDK where expected: the pack decodes as it always does, and reports what is missing */
}
