/** `drposture runbook`: the DR runbook for a stack, generated from its posture. */
import type { Command } from "commander";
import { existsSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { CliError, EXIT } from "../exitCodes";
import { PROJECT_ROOT } from "./common";
import { loadStackPosture } from "./posture";

/** --out must name a file in an existing directory: checked before the stack is read. */
function assertWritableTarget(out: string): void {
  const dir = path.dirname(path.resolve(out));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`--out ${out}: directory ${dir} does not exist (create it first)`, EXIT.usage);
  if (existsSync(out) && statSync(out).isDirectory()) throw new CliError(`--out ${out}: is a directory; name a file, e.g. ${path.join(out, "runbook.md")}`, EXIT.usage);
}

export function registerRunbook(program: Command): void {
  program
    .command("runbook")
    .description("print the Markdown runbook of a stack: RPO/RTO table, a section per scenario with the exact commands, incident templates")
    .option("--stack <name>", "stack", "prod")
    .option("--cwd <dir>", "project directory", PROJECT_ROOT)
    .option("--out <file>", "write to a file instead of stdout")
    .action((o: { stack: string; cwd: string; out?: string }) => {
      if (o.out) assertWritableTarget(o.out);
      const { generateRunbook } = require("../../lib/runbook/runbook") as typeof import("../../lib/runbook/runbook");
      const text = generateRunbook(loadStackPosture(o.cwd, o.stack));
      if (o.out) writeFileSync(o.out, text);
      else process.stdout.write(text);
    });
}
