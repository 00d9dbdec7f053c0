/** `drposture drill`: the restore drill, locally (the project's main job). */
import type { Command } from "commander";
import * as path from "node:path";
import type { Fixture } from "../../lib/drill/fixture";
import type { Posture } from "../../lib/posture/model";
import { CliError, EXIT } from "../exitCodes";
import { table } from "../table";
import { PROJECT_ROOT } from "./common";
import { loadStackPosture } from "./posture";

interface Opts {
  local: boolean;
  fixture?: string;
  keep?: string;
  json?: boolean;
  report: string;
  stack: string;
  cwd: string;
  corrupt?: string;
}

/** --corrupt names one of the drill's assets (checked before anything starts); postgres/NAME
 * is accepted for the Neon asset, as the report names it. Returns the drill's own id. */
function corruptTarget(value: string, fixture: Fixture, posture: Posture): string {
  const { drillAssets } = require("../../lib/drill/environment") as typeof import("../../lib/drill/environment");
  const ids = drillAssets(fixture, posture).map((a) => `${a.kind}/${a.name}`);
  const id = value.replace(/^postgres\//, "neon/");
  if (!ids.includes(id)) throw new CliError(`--corrupt ${value}: not an asset of this drill; expected one of ${ids.join(", ")}`, EXIT.usage);
  return id;
}

export function registerDrill(program: Command): void {
  program
    .command("drill")
    .description("restore drill: seed, back up through the real Worker, destroy, restore, verify, measure RTO/RPO against the stack's targets")
    .option("--local", "run on this machine: throwaway PostgreSQL, workerd (Miniflare) and a local S3 endpoint (the only mode so far)", true)
    .option("--fixture <file>", "seed data (JSON, see README); default: a realistic built-in sample")
    .option("--keep <dir>", "leave the backup destinations (as directories) and the drill's key in DIR")
    .option("--report <dir>", "where to write drill-report.{json,md,html}", path.join(PROJECT_ROOT, ".drposture", "drill"))
    .option("--stack <name>", "stack whose RPO/RTO targets the drill is measured against", "prod")
    .option("--cwd <dir>", "project directory", PROJECT_ROOT)
    .option("--corrupt <asset>", "fault injection: flip a byte of ASSET's backup (kind/name) before restoring; the drill must fail")
    .option("--json", "print the JSON report on stdout")
    .action(async (o: Opts) => {
      const posture = loadStackPosture(o.cwd, o.stack);
      const { loadFixture, sampleFixture } = require("../../lib/drill/fixture") as typeof import("../../lib/drill/fixture");
      const { runDrill } = require("../../lib/drill/runDrill") as typeof import("../../lib/drill/runDrill");
      const { jsonReport, writeReports } = require("../../lib/drill/report") as typeof import("../../lib/drill/report");
      const fixture = o.fixture ? loadFixture(o.fixture) : sampleFixture();
      const corrupt = o.corrupt !== undefined ? corruptTarget(o.corrupt, fixture, posture) : undefined;
      const report = await runDrill({
        fixture,
        posture,
        ...(o.keep ? { keep: path.resolve(o.keep) } : {}),
        ...(corrupt ? { corrupt } : {}),
        onPhase: (p) => {
          if (!o.json) process.stderr.write(`drill: ${p}\n`);
        },
      });
      const files = writeReports(report, path.resolve(o.report));
      if (o.json) {
        process.stdout.write(`${JSON.stringify(jsonReport(report), null, 2)}\n`);
      } else {
        process.stdout.write(
          `\n${table(
            ["asset", "verified", "source", "restored", "RTO s (target)", "RPO s (target)", "error"],
            report.assets.map((a) => [`${a.kind}/${a.name}`, a.verified ? "yes" : "NO", a.sourceCount, a.restoredCount, `${a.rtoSeconds.toFixed(2)} (${a.rtoTargetSeconds})`, `${a.rpoSeconds.toFixed(2)} (${a.rpoTargetSeconds})`, a.error ?? ""]),
          )}\n\ndrill ${report.passed ? "PASSED" : "FAILED"}; reports: ${files.map((f) => path.relative(process.cwd(), f)).join(", ")}\n`,
        );
        const now = report.backupNow;
        if (now) process.stdout.write(`backup now: ${now.asset} ${now.committed ? `backup ${now.backupId} committed` : `NOT committed (${now.error ?? "?"})`} in ${now.seconds.toFixed(1)} s\n`);
        if (o.keep) process.stdout.write(`backups kept in ${o.keep} (verify them: drposture verify --local ${o.keep} --read-data 100)\n`);
      }
      process.exitCode = report.passed ? EXIT.ok : EXIT.failed;
    });
}
