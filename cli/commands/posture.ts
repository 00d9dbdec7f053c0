/** `drposture posture`: the posture a stack's config declares, with every derived number. */
import type { Command } from "commander";
import type { Posture } from "../../lib/posture/model";
import { table } from "../table";

/** The posture declared by DIR/Pulumi.STACK.yaml (validated; throws PostureConfigError). */
export function loadStackPosture(cwd: string, stack: string): Posture {
  // Required lazily: commands that do not need the schema start faster.
  const { decodeRawConfig } = require("../../lib/posture/configKeys") as typeof import("../../lib/posture/configKeys");
  const { parsePosture } = require("../../lib/posture/model") as typeof import("../../lib/posture/model");
  const { readStackConfig } = require("../../lib/pulumi/stackConfig") as typeof import("../../lib/pulumi/stackConfig");
  const { assertStackName } = require("../../lib/posture/stackName") as typeof import("../../lib/posture/stackName");
  assertStackName(stack);
  const cfg = readStackConfig(cwd, stack);
  return parsePosture(decodeRawConfig(cfg.config), stack);
}

export function registerPosture(program: Command): void {
  program
    .command("posture")
    .description("show the DR posture a stack's config declares: RPO/RTO per asset, backup crons, tier retention")
    .option("--stack <name>", "stack whose Pulumi.<stack>.yaml to read", "prod")
    .option("--cwd <dir>", "project directory", process.cwd())
    .option("--json", "print the posture model as JSON")
    .action((opts: { stack: string; cwd: string; json?: boolean }) => {
      const p = loadStackPosture(opts.cwd, opts.stack);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(p, null, 2)}\n`);
        return;
      }
      process.stdout.write(`stack ${p.stack} (${p.environment}); primary ${p.primaryRegion}, S3 copy ${p.vault.s3Region}, lock ${p.vault.objectLockMode}\n\n`);
      process.stdout.write(
        `${table(
          ["priority", "asset", "source", "RPO min", "RTO min", "backup cron (UTC)"],
          p.assets.map((a) => [a.priority, a.id, a.sourceId, a.rpoMinutes, a.rtoMinutes, a.backupCron]),
        )}\n\n`,
      );
      process.stdout.write(`${table(["tier", "prefix", "kept (days)"], p.tiers.map((t) => [t.tier, t.prefix, t.retentionDays]))}\n`);
      if (p.neon) process.stdout.write(`\nNeon ${p.neon.projectId}: restore window ${p.neon.restoreWindowDays} days\n`);
    });
}
