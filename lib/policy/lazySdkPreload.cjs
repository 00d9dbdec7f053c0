// `node --require` this in the policy pack process (cwd: the pack's directory): the pack and
// @pulumi/policy resolve the SDK from there, so that is the SDK whose unused parts are deferred.
"use strict";
const path = require("node:path");
const { deferUnusedSdkParts, lazySdk } = require("./lazySdk.cjs");

const from = [process.cwd()];
try {
  from.push(path.dirname(require.resolve("@pulumi/policy/package.json", { paths: [process.cwd()] })));
} catch {
  /* not a CrossGuard pack: the SDK alone */
}
if (lazySdk()) deferUnusedSdkParts(from);
