/** `drposture runbook`: the DR runbook for a stack, generated from its posture. */
import { Option, type Command } from "commander";
import { existsSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { closest } from "../../lib/posture/didYouMean";
import { SCENARIO_SLUGS } from "../../lib/runbook/scenarios";
import { CliError, EXIT } from "../exitCodes";
import { PROJECT_ROOT } from "./common";
import { loadStackPosture } from "./posture";

type Format = "markdown" | "html";

/** The nearest existing ancestor of `dir` (itself included) when it is not a directory. */
function fileInTheWay(dir: string): string | null {
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(d)) return statSync(d).isDirectory() ? null : d;
    if (path.dirname(d) === d) return null;
  }
}

/** --out must name a file in an existing directory: checked before the stack is read. */
function assertWritableTarget(out: string): void {
  if (!out) throw new CliError("--out: is empty; name a file, e.g. runbook.md", EXIT.usage);
  if (existsSync(out) && statSync(out).isDirectory()) throw new CliError(`--out ${out}: is a directory; name a file, e.g. ${path.join(out, "runbook.md")}`, EXIT.usage);
  if (/[\\/]$/.test(out)) throw new CliError(`--out ${out}: names a directory; name a file, e.g. ${path.join(out, "runbook.md")}`, EXIT.usage);
  const dir = path.dirname(path.resolve(out));
  const file = fileInTheWay(dir);
  if (file) throw new CliError(`--out ${out}: ${file} is a file, not a directory`, EXIT.usage);
  if (!existsSync(dir)) throw new CliError(`--out ${out}: directory ${dir} does not exist (create it first)`, EXIT.usage);
}

/** --scenario must be one of the runbook's slugs: checked before the stack is read. */
function assertScenario(name: string): void {
  if (SCENARIO_SLUGS.includes(name)) return;
  const guess = closest(name, SCENARIO_SLUGS);
  throw new CliError(`--scenario ${name}: unknown scenario${guess ? ` (did you mean ${guess}?)` : ""}; scenarios: ${SCENARIO_SLUGS.join(", ")}`, EXIT.usage);
}

/** Explicit --format wins; otherwise an --out ending in .html or .htm means HTML. */
const formatOf = (o: { format?: Format; out?: string }): Format => o.format ?? (o.out && /\.html?$/i.test(o.out) ? "html" : "markdown");

export function registerRunbook(program: Command): void {
  program
    .command("runbook")
    .description("print the runbook of a stack: RPO/RTO table, incident response, a section per scenario with the exact commands, review templates")
    .option("--stack <name>", "stack", "prod")
    .option("--cwd <dir>", "project directory", PROJECT_ROOT)
    .option("--out <file>", "write to a file instead of stdout (a name ending in .html writes HTML)")
    .option("--scenario <name>", `only the header and this scenario: ${SCENARIO_SLUGS.join(", ")}`)
    .addOption(new Option("--format <format>", "markdown, or html (a standalone page)").choices(["markdown", "html"]))
    .action(async (o: { stack: string; cwd: string; out?: string; scenario?: string; format?: Format }) => {
      if (o.scenario !== undefined) assertScenario(o.scenario);
      if (o.out !== undefined) assertWritableTarget(o.out);
      const { generateRunbook } = require("../../lib/runbook/runbook") as typeof import("../../lib/runbook/runbook");
      const posture = loadStackPosture(o.cwd, o.stack);
      const markdown = generateRunbook(posture, new Date(), o.scenario);
      let text = markdown;
      if (formatOf(o) === "html") {
        const { runbookHtml } = require("../../lib/runbook/html") as typeof import("../../lib/runbook/html");
        text = await runbookHtml(markdown, `Disaster-recovery runbook: ${posture.stack}${o.scenario ? ` (${o.scenario})` : ""}`);
      }
      if (o.out !== undefined) writeFileSync(o.out, text);
      else process.stdout.write(text);
    });
}
