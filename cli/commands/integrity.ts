/**
 * `drposture integrity`: the post-restore checks on a restored database — built-in (foreign
 * keys, sequences, FTS5, migration tables in applied order) and the stack's declared ones
 * (`drposture:integrity`). Exit 0 all passed, 1 any failed, 2 usage or config error.
 */
import { InvalidArgumentError, type Command } from "commander";
import type { IntegrityResult } from "../../lib/integrity/result";
import type { Posture } from "../../lib/posture/model";
import { POSTGRES_URL } from "../../lib/postgres/connectionUrl";
import { CliError, EXIT } from "../exitCodes";
import { assetOption, PROJECT_ROOT } from "./common";
import { loadStackPosture } from "./posture";

interface Opts {
  stack: string;
  cwd: string;
  postgres?: string;
  d1?: string;
  asset?: string;
  json?: boolean;
}

/** The declared D1 checks to run: those of --asset, or of the one asset that declares any. */
function d1Checks(posture: Posture, asset: string | undefined) {
  const declared = posture.integrity.d1;
  if (asset !== undefined) {
    const d1Assets = posture.assets.filter((a) => a.kind === "d1").map((a) => a.name);
    if (!d1Assets.includes(asset)) throw new CliError(`--asset ${asset}: not a D1 asset of stack ${posture.stack} (D1 assets: ${d1Assets.join(", ") || "none"})`, EXIT.usage);
    return declared[asset] ?? [];
  }
  const names = Object.keys(declared);
  if (names.length > 1) throw new CliError(`--asset: the stack declares D1 checks for ${names.join(", ")}; name the restored database's asset with --asset`, EXIT.usage);
  return names.length ? (declared[names[0] as string] ?? []) : [];
}

function postgresChecks(posture: Posture, asset: string | undefined) {
  const neon = posture.assets.find((a) => a.kind === "neon");
  if (asset !== undefined && asset !== neon?.name) throw new CliError(`--asset ${asset}: not the Postgres asset of stack ${posture.stack} (${neon ? `neon/${neon.name}` : "the stack has no neon"})`, EXIT.usage);
  return posture.integrity.postgres;
}

async function runChecks(o: Opts, posture: Posture): Promise<IntegrityResult[]> {
  if (o.postgres !== undefined) {
    const { postgresIntegrity } = require("../../lib/integrity/postgres") as typeof import("../../lib/integrity/postgres");
    return postgresIntegrity(o.postgres, postgresChecks(posture, o.asset));
  }
  const declared = d1Checks(posture, o.asset);
  const { openD1Target } = require("../../lib/integrity/d1Target") as typeof import("../../lib/integrity/d1Target");
  const { d1Integrity } = require("../../lib/integrity/d1") as typeof import("../../lib/integrity/d1");
  const target = await openD1Target(o.d1 as string);
  try {
    if (target.load && !target.load.ok) return [target.load];
    return [...(target.load ? [target.load] : []), ...(await d1Integrity(target.db, declared))];
  } finally {
    await target.dispose();
  }
}

function printText(results: readonly IntegrityResult[]): void {
  for (const r of results) {
    process.stdout.write(`${r.ok ? "ok  " : "FAIL"}  ${r.check}: ${r.detail}\n`);
    if (!r.ok) for (const row of r.sample ?? []) process.stdout.write(`        ${JSON.stringify(row)}\n`);
  }
  const failed = results.filter((r) => !r.ok).length;
  process.stdout.write(failed ? `\n${failed} of ${results.length} check(s) failed\n` : `\nall ${results.length} check(s) passed\n`);
}

function postgresUrl(value: string): string {
  if (!POSTGRES_URL.test(value)) throw new InvalidArgumentError("expected a postgres:// or postgresql:// connection URL");
  return value;
}

export function registerIntegrity(program: Command): void {
  program
    .command("integrity")
    .description("check a restored database: foreign keys, sequences, FTS5, migration tables, and the stack's declared checks (drposture:integrity)")
    .option("--stack <name>", "stack whose Pulumi.<stack>.yaml declares the checks", "prod")
    .option("--cwd <dir>", "project directory", PROJECT_ROOT)
    .option("--postgres <url>", "the restored PostgreSQL database (postgres://…)", postgresUrl)
    .option("--d1 <target>", "the restored D1 database: local:DIR#DATABASE_ID (wrangler dev state) or file:PATH.sql (loaded into a throwaway local D1)")
    .option("--asset <name>", "the asset the database is a restore of (whose declared checks run)", assetOption(false))
    .option("--json", "machine-readable output: {checks: [{name, ok, rows, sample, detail}], ok}")
    .action(async (o: Opts) => {
      if ((o.postgres === undefined) === (o.d1 === undefined)) throw new CliError("name the restored database: exactly one of --postgres URL and --d1 local:DIR#ID|file:PATH.sql", EXIT.usage);
      const posture = loadStackPosture(o.cwd, o.stack);
      const results = await runChecks(o, posture);
      const ok = results.every((r) => r.ok);
      if (o.json) {
        const checks = results.map((r) => ({ name: r.check, ok: r.ok, rows: r.rows ?? 0, sample: r.sample ?? [], detail: r.detail }));
        process.stdout.write(`${JSON.stringify({ checks, ok }, null, 2)}\n`);
      } else printText(results);
      process.exitCode = ok ? EXIT.ok : EXIT.failed;
    });
}
