#!/usr/bin/env node
// Entry point of `drposture` (package.json "bin").
require("./register.cjs");
// `drposture ... | head` closes stdout early; that is not an error.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});
const { main } = require("./main.ts");
// Ctrl-C / SIGTERM: stop child processes, delete temp data (decrypted first), exit 130.
require("../lib/process/cleanup.ts").installInterruptHandlers({ json: process.argv.includes("--json") });
main(process.argv.slice(2)).then((code) => process.exit(code));
