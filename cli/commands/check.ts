/** `drposture check`: the policy pack against a stack, offline. */
import type { Command } from "commander";
import { existsSync, statSync } from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "./common";
import type { CheckResult } from "../../lib/policy/check";
import { CliError, EXIT } from "../exitCodes";
import { table } from "../table";

export function printCheck(r: CheckResult, out: NodeJS.WritableStream = process.stdout): void {
  out.write(`Previewing stack ${r.stack} (project ${r.project}) under mocks; policy pack ${r.pack.name}@${r.pack.version}, ${r.pack.policies} policies, config ${r.pack.configFile ? path.relative(process.cwd(), r.pack.configFile) : "(schema defaults)"}\n\n`);
  const counts = new Map<string, number>();
  for (const x of r.resources) counts.set(x.type, (counts.get(x.type) ?? 0) + 1);
  out.write(`Resources: ${r.resources.length}\n${table(["type", "count"], [...counts.entries()].sort().map(([t, n]) => [t, n]))}\n\n`);
  if (!r.violations.length) {
    out.write("Policies: no violations.\n");
    return;
  }
  const byPolicy = new Map<string, typeof r.violations>();
  for (const v of r.violations) byPolicy.set(v.policy, [...(byPolicy.get(v.policy) ?? []), v]);
  out.write("Policy violations:\n");
  for (const [policy, vs] of byPolicy) {
    out.write(`    [${vs[0]?.level}]  ${policy}\n`);
    for (const v of vs) out.write(`        ${v.urn}\n          ${v.message}\n`);
  }
  const mandatory = r.violations.filter((v) => v.level === "mandatory").length;
  out.write(`\n${mandatory} mandatory, ${r.violations.length - mandatory} advisory violation(s).\n`);
}

/** The pack directory must hold a policy pack whose runner resolves, else a usage error. */
function assertPolicyPack(dir: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`--policy-pack ${dir}: no such directory`, EXIT.usage);
  if (!existsSync(path.join(dir, "PulumiPolicy.yaml"))) throw new CliError(`--policy-pack ${dir}: not a policy pack (no PulumiPolicy.yaml)`, EXIT.usage);
  try {
    require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [dir] });
  } catch {
    throw new CliError(`--policy-pack ${dir}: its dependencies are not installed (no @pulumi/pulumi; run npm install there)`, EXIT.usage);
  }
}

export function registerCheck(program: Command): void {
  program
    .command("check")
    .description("run the policy pack against a stack offline: the program under mocks, the pack over its gRPC protocol")
    .option("--stack <name>", "stack whose Pulumi.<stack>.yaml to use", "prod")
    .option("--cwd <dir>", "Pulumi project directory", PROJECT_ROOT)
    .option("--policy-config <file>", "policy pack config (default: policies/config/<stack>.json)")
    .option("--policy-pack <dir>", "policy pack directory", path.join(PROJECT_ROOT, "policies"))
    .option("--json", "print one JSON object: {stack, resources, violations}")
    .action(async (opts: { stack: string; cwd: string; policyConfig?: string; policyPack: string; json?: boolean }) => {
      // Loaded here, not at start-up: it pulls in @pulumi/pulumi, and the policy pack process
      // should be spawned before that cost is paid.
      const { ProgramError, runCheck } = require("../../lib/policy/check") as typeof import("../../lib/policy/check");
      assertPolicyPack(path.resolve(opts.policyPack));
      let result: CheckResult;
      try {
        result = await runCheck({ cwd: path.resolve(opts.cwd), stack: opts.stack, packDir: path.resolve(opts.policyPack), ...(opts.policyConfig ? { policyConfig: path.resolve(opts.policyConfig) } : {}) });
      } catch (err) {
        if (err instanceof ProgramError) throw new CliError(`the program or its config failed:\n${err.message}`, EXIT.usage);
        throw err;
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ stack: result.stack, resources: result.resources, violations: result.violations }, null, 2)}\n`);
      } else {
        printCheck(result);
      }
      process.exitCode = result.violations.some((v) => v.level === "mandatory") ? EXIT.failed : EXIT.ok;
    });
}
