/**
 * drposture: the project's own command. Exit codes: 0 ok, 1 policy or verification
 * failure, 2 usage or input error, 130 interrupted (see exitCodes.ts and errorBoundary.ts).
 */
import { Command } from "commander";
import { installInterruptHandlers, interruptSignal, INTERRUPTED_EXIT, runCleanups } from "../lib/process/cleanup";
import { registerBackup } from "./commands/backup";
import { registerCheck } from "./commands/check";
import { registerCost } from "./commands/cost";
import { registerDrill } from "./commands/drill";
import { registerIntegrity } from "./commands/integrity";
import { registerListVerify } from "./commands/listVerify";
import { registerPosture } from "./commands/posture";
import { registerRestore } from "./commands/restore";
import { registerRunbook } from "./commands/runbook";
import { report } from "./errorBoundary";
import { EXIT } from "./exitCodes";

export function buildProgram(): Command {
  const program = new Command("drposture")
    .description("Disaster recovery as code for Cloudflare Workers (D1, KV, R2) and Neon Postgres")
    .showHelpAfterError("(drposture COMMAND --help shows the options)")
    .exitOverride();
  registerPosture(program);
  registerCheck(program);
  registerBackup(program);
  registerListVerify(program);
  registerRestore(program);
  registerDrill(program);
  registerRunbook(program);
  registerIntegrity(program);
  registerCost(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
  } catch (err) {
    // After Ctrl-C the command fails because its servers are going away; the signal handler
    // reports the interrupt and exits 130, so that failure is not news.
    if (interruptSignal()) return INTERRUPTED_EXIT;
    return report(err, { json: argv.includes("--json"), debug: !!process.env.DRPOSTURE_DEBUG });
  } finally {
    // Whatever a failed command left registered (servers, temp data) goes now, not at exit.
    await runCleanups((line) => process.stderr.write(`drposture: ${line}\n`));
  }
}

if (require.main === module) {
  installInterruptHandlers({ json: process.argv.includes("--json") });
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
