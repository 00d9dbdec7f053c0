/**
 * drposture: the project's own command. Exit codes: 0 ok, 1 policy or verification
 * failure, 2 usage or input error (see exitCodes.ts).
 */
import { Command, CommanderError } from "commander";
import { registerBackup } from "./commands/backup";
import { registerCheck } from "./commands/check";
import { registerDrill } from "./commands/drill";
import { registerListVerify } from "./commands/listVerify";
import { registerPosture } from "./commands/posture";
import { registerRestore } from "./commands/restore";
import { registerRunbook } from "./commands/runbook";
import { CliError, EXIT } from "./exitCodes";

/** Errors that mean bad input (exit 2): named, so main.ts need not load their modules. */
const USAGE_ERRORS = new Set(["PostureConfigError", "StackConfigError", "StoreSpecError", "KeySourceError", "RestoreInputError", "FixtureError"]);

export function buildProgram(): Command {
  const program = new Command("drposture")
    .description("Disaster recovery as code for Cloudflare Workers (D1, KV, R2) and Neon Postgres")
    .showHelpAfterError()
    .exitOverride();
  registerPosture(program);
  registerCheck(program);
  registerBackup(program);
  registerListVerify(program);
  registerRestore(program);
  registerDrill(program);
  registerRunbook(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (err instanceof CliError) {
      process.stderr.write(`drposture: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof Error && USAGE_ERRORS.has(err.name)) {
      process.stderr.write(`drposture: ${err.message}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`drposture: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.failed;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
