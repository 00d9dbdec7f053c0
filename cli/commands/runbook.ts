/** `drposture runbook`: the DR runbook for a stack, generated from its posture. */
import type { Command } from "commander";
import { writeFileSync } from "node:fs";
import { PROJECT_ROOT } from "./common";
import { loadStackPosture } from "./posture";

export function registerRunbook(program: Command): void {
  program
    .command("runbook")
    .description("print the Markdown runbook of a stack: RPO/RTO table, a section per scenario with the exact commands, incident templates")
    .option("--stack <name>", "stack", "prod")
    .option("--cwd <dir>", "project directory", PROJECT_ROOT)
    .option("--out <file>", "write to a file instead of stdout")
    .action((o: { stack: string; cwd: string; out?: string }) => {
      const { generateRunbook } = require("../../lib/runbook/runbook") as typeof import("../../lib/runbook/runbook");
      const text = generateRunbook(loadStackPosture(o.cwd, o.stack));
      if (o.out) writeFileSync(o.out, text);
      else process.stdout.write(text);
    });
}
