/** `drposture restore KIND`: bring an asset back from a store into a target. */
import { InvalidArgumentError, Option, type Command } from "commander";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { AssetKind } from "../../lib/format/layout";
import type { RestoreMode, RestoreOptions, RestoreReport } from "../../lib/restore/modes";
import { POSTGRES_URL } from "../../lib/postgres/connectionUrl";
import { onCleanup } from "../../lib/process/cleanup";
import { CliError, EXIT } from "../exitCodes";
import { assetOption, progressBar, type StoreKeyOptions, storesAndKey, withStoreAndKey } from "./common";

interface Opts extends StoreKeyOptions {
  from: string;
  to: string;
  asset?: string;
  validateOnly?: boolean;
  only?: string;
  mode: RestoreMode;
  jobs: number;
  project?: string;
  neonApiUrl: string;
  neonWait: string;
  newBranch?: string;
  showPassword?: boolean;
  presentKeys?: string;
}

const TARGET_HELP = `where to restore:
  d1        file:PATH.sql (for wrangler d1 execute --remote --file) | local:DIR#DATABASE_ID (wrangler dev state)
  kv        file:PATH.json (for wrangler kv bulk put; --present-keys for skip) | local:DIR#NAMESPACE_ID
  r2        s3://BUCKET?region=R | r2://ACCOUNT/BUCKET | a directory | local:DIR#BUCKET
  postgres  a connection string (postgres://...)
  neon      the branch id to restore in place (--project, NEON_API_KEY)`;

/** --jobs: pg_restore's parallelism, a whole number of at least 1. */
function wholeNumberOption(value: string): number {
  if (!/^[1-9][0-9]{0,3}$/.test(value)) throw new InvalidArgumentError(`expected a whole number from 1 to 9999 (parallel pg_restore jobs), got "${value}"`);
  return Number(value);
}

/** The shape of --to for each kind, checked before any store is opened or backup read. */
const TARGET_SHAPES: Record<AssetKind | "postgres", RegExp> = {
  d1: /^(file:.+|local:.+#.+)$/,
  kv: /^(file:.+|local:.+#.+)$/,
  // A directory (no scheme), s3://, r2://, file:// or local:.
  r2: /^(s3:\/\/.+|r2:\/\/.+|file:\/\/.+|local:.+#.+|(?![a-z][a-z0-9+.-]*:).+)$/i,
  postgres: POSTGRES_URL,
  neon: /^br-[a-z0-9-]+$/,
};

function checkTarget(kind: AssetKind | "postgres", to: string): void {
  if (!TARGET_SHAPES[kind].test(to)) {
    const line = TARGET_HELP.split("\n").find((l) => l.trimStart().startsWith(`${kind} `))?.trim() ?? "";
    throw new CliError(`--to ${JSON.stringify(to)} is not a ${kind} target; expected ${line.slice(kind.length).trim()}`, EXIT.usage);
  }
}

function parseLocal(to: string): { dir: string; id: string } {
  const m = /^local:(.+)#(.+)$/.exec(to);
  if (!m) throw new CliError(`--to ${to}: expected local:DIR#ID`, EXIT.usage);
  return { dir: path.resolve(m[1] as string), id: m[2] as string };
}

/** The output of `wrangler kv key list`: a JSON array of {"name", ...}. */
function readPresentKeys(file: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new CliError(`--present-keys ${file}: ${(err as Error).message}`, EXIT.usage);
  }
  if (!Array.isArray(parsed) || !parsed.every((k) => typeof (k as { name?: unknown })?.name === "string")) {
    throw new CliError(`--present-keys ${file}: expected the JSON array that \`wrangler kv key list\` prints ([{"name": ...}, ...])`, EXIT.usage);
  }
  return parsed.map((k) => (k as { name: string }).name);
}

/** restore neon --new-branch: a branch of --to at --from (omitted: now) with a read-write endpoint;
 * the parent is not touched. */
async function newNeonBranch(o: Opts, apiKey: string, projectId: string, wait: { timeoutMs: number; pollIntervalMs?: number }) {
  const name = o.newBranch as string;
  // Neon's limit on branch names (api-client BranchCreateRequest: "@minLength 1 @maxLength 256").
  if (name.length < 1 || name.length > 256 || name.trim() !== name) throw new CliError(`--new-branch "${name}": expected a branch name of 1-256 characters without surrounding spaces`, EXIT.usage);
  const { createNeonBranchAt } = require("../../lib/restore/neonNewBranch") as typeof import("../../lib/restore/neonNewBranch");
  const timestamp = o.from === "latest" ? undefined : new Date(o.from);
  const r = await createNeonBranchAt({ apiKey, apiUrl: o.neonApiUrl, projectId, parentId: o.to, name, ...(timestamp ? { timestamp } : {}), validateOnly: !!o.validateOnly, showPassword: !!o.showPassword, wait });
  if (!o.json && r.branchId) process.stderr.write(`created branch ${r.branchName} (${r.branchId}) from ${r.parentId} at ${r.parentTimestamp ?? "its current state"}; endpoint ${r.host}\n`);
  return r;
}

async function runKind(kind: AssetKind | "postgres", o: Opts, options: RestoreOptions): Promise<RestoreReport | Record<string, unknown>> {
  if (kind !== "neon" && (o.newBranch !== undefined || o.showPassword)) throw new CliError("--new-branch and --show-password are for restore neon only", EXIT.usage);
  if (kind === "neon") {
    const { restoreNeonBranch } = require("../../lib/restore/neonRestore") as typeof import("../../lib/restore/neonRestore");
    const apiKey = process.env.NEON_API_KEY;
    if (!apiKey || !o.project) throw new CliError("restore neon needs --project and NEON_API_KEY", EXIT.usage);
    const t = new Date(o.newBranch !== undefined && o.from === "latest" ? Date.now() : o.from);
    if (Number.isNaN(t.getTime())) throw new CliError(`--from ${o.from}: a Neon restore needs a point in time (ISO 8601)`, EXIT.usage);
    const { waitOptionsFromEnv } = require("../../lib/neon/operations") as typeof import("../../lib/neon/operations");
    const timeoutMs = Number(o.neonWait) * 1000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new CliError(`--neon-wait ${o.neonWait}: expected seconds (a positive number)`, EXIT.usage);
    const wait = { ...waitOptionsFromEnv(process.env), timeoutMs };
    if (o.newBranch !== undefined) return { ...(await newNeonBranch(o, apiKey, o.project, wait)) };
    return { ...(await restoreNeonBranch({ apiKey, apiUrl: o.neonApiUrl, projectId: o.project, branchId: o.to, timestamp: t, validateOnly: !!o.validateOnly, wait })) };
  }
  if (!o.asset) throw new CliError("--asset <name> is needed (the asset's name in the backups, e.g. app-db)", EXIT.usage);
  const { stores, master } = await storesAndKey(o, { asset: `${kind === "postgres" ? "neon" : kind}/${o.asset}`, from: o.from });
  const store = stores[0] as NonNullable<(typeof stores)[0]>;
  const { resolveBackup } = require("../../lib/restore/resolve") as typeof import("../../lib/restore/resolve");
  const backupKind = kind === "postgres" ? "neon" : kind;
  const r = await resolveBackup(store, master, { kind: backupKind, name: o.asset }, o.from);
  // On stderr even with --json: refused manifests are what an operator must hear about.
  for (const s of r.skipped) process.stderr.write(`skipped ${s.key}: ${s.reason}\n`);
  for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
  if (!o.json) process.stderr.write(`restoring ${backupKind}/${o.asset} from backup ${r.manifest.backupId} (${r.manifest.tier}, source point ${r.manifest.sourcePointInTime}) in ${store.label}\n`);

  if (kind === "postgres") {
    const { restorePostgres } = require("../../lib/restore/postgresRestore") as typeof import("../../lib/restore/postgresRestore");
    return restorePostgres(store, master, r, o.to, { ...options, jobs: o.jobs });
  }
  const { openArtifact, readLines } = require("../../lib/backup/artifacts") as typeof import("../../lib/backup/artifacts");
  const local = o.to.startsWith("local:") ? parseLocal(o.to) : null;
  const { openLocalBindings } = require("../../lib/local/localBindings") as typeof import("../../lib/local/localBindings");
  const bindings = local ? await openLocalBindings(local.dir, kind, local.id) : null;
  try {
    if (kind === "d1") {
      const d1 = require("../../lib/restore/d1Restore") as typeof import("../../lib/restore/d1Restore");
      const { sqlFileSink } = require("../../lib/restore/d1ScriptSink") as typeof import("../../lib/restore/d1ScriptSink");
      // checkTarget let through only local: (bindings) and file:.
      const file = bindings ? null : sqlFileSink(o.to.slice(5), o.mode);
      const sink = bindings ? d1.bindingSink((await bindings.d1()) as never, o.to) : (file as NonNullable<typeof file>);
      if (file?.replaces && !o.json) process.stderr.write(`--mode overwrite: replacing the existing file ${o.to.slice(5)}\n`);
      async function* lines() {
        for (const a of r.manifest.artifacts.filter((x) => x.role === "d1-rows")) yield* readLines(await openArtifact(store, master, a));
      }
      // restoreD1 closes the sink (a file is renamed into place) or removes what it wrote.
      return { ...(await d1.restoreD1(lines(), sink, options)), ...(file?.replaces ? { replacedFile: true } : {}) };
    }
    if (kind === "kv") {
      const kv = require("../../lib/restore/kvRestore") as typeof import("../../lib/restore/kvRestore");
      const { wranglerBulkFileSink } = require("../../lib/restore/kvFileSink") as typeof import("../../lib/restore/kvFileSink");
      const sink = bindings ? kv.bindingKvSink((await bindings.kv()) as never, o.to) : wranglerBulkFileSink(o.to.slice(5), o.mode, o.presentKeys ? readPresentKeys(o.presentKeys) : undefined);
      // Awaited here: the bindings must outlive the restore (the finally below disposes them).
      return await kv.restoreKv(store, master, r, sink, options);
    }
    const r2 = require("../../lib/restore/r2Restore") as typeof import("../../lib/restore/r2Restore");
    const { openStore } = require("../../lib/restore/stores") as typeof import("../../lib/restore/stores");
    const sink = bindings ? r2.bindingR2Sink((await bindings.r2()) as never, o.to) : r2.storageR2Sink(openStore(o.to));
    return await r2.restoreR2(store, master, r, sink, options);
  } finally {
    await bindings?.dispose();
  }
}

export function registerRestore(program: Command): void {
  withStoreAndKey(
    program
      .command("restore")
      .description("restore an asset from a backup; refuses to overwrite unless --mode says so")
      .argument("<kind>", "d1 | kv | r2 | postgres | neon")
      .requiredOption("--from <which>", 'backup to restore: "latest", a backup id, a manifest key, or an ISO time (newest at or before it)', "latest")
      .requiredOption("--to <target>", TARGET_HELP)
      .addOption(new Option("--asset <name>", "asset name in the backups (e.g. app-db, sessions)").argParser(assetOption(false)))
      .option("--validate-only", "fetch, verify and decode everything; write nothing")
      .option("--only <name>", "d1: one table; kv, r2: a key prefix; postgres: one table")
      .addOption(new Option("--mode <mode>", "what to do about data already in the target").choices(["fail", "skip", "overwrite", "clear"]).default("fail"))
      .addOption(new Option("--jobs <n>", "parallel pg_restore jobs").argParser(wholeNumberOption).default(2))
      .option("--present-keys <file>", "kv into file:: the namespace's keys (`wrangler kv key list` output), so fail and skip see what exists")
      .option("--project <id>", "Neon project id (restore neon)")
      .option("--neon-api-url <url>", "Neon API base URL", "https://console.neon.tech/api/v2")
      .option("--neon-wait <seconds>", "restore neon: how long to wait for Neon to finish the restore's operations", "600")
      .option("--new-branch <name>", "restore neon: create a new branch NAME of --to at --from (omitted: now) with a read-write endpoint and print its connection string; --to is left untouched")
      .option("--show-password", "restore neon --new-branch: print the connection string with its password (default: REDACTED)"),
    "where the backups are (the first one is used): s3://BUCKET?region=R, r2://ACCOUNT/BUCKET or a directory",
  ).action(async (kind: string, o: Opts) => {
    if (!["d1", "kv", "r2", "postgres", "neon"].includes(kind)) throw new CliError(`unknown kind "${kind}" (d1, kv, r2, postgres, neon)`, EXIT.usage);
    checkTarget(kind as AssetKind | "postgres", o.to);
    const bar = progressBar(`restore ${kind}`, !o.json);
    const t = performance.now();
    try {
      const report = await runKind(kind as AssetKind | "postgres", o, { mode: o.mode, validateOnly: !!o.validateOnly, ...(o.only ? { only: o.only } : {}), onProgress: (d, total) => bar.update(d, total), registerUndo: onCleanup });
      const seconds = (performance.now() - t) / 1000;
      if (o.json) process.stdout.write(`${JSON.stringify({ kind, ...report, seconds })}\n`);
      else if (kind === "neon" && o.newBranch !== undefined) process.stdout.write(`${(report as { connectionUri?: string }).connectionUri ?? "validated (nothing written)"}\n`);
      else process.stdout.write(`${o.validateOnly ? "validated (nothing written)" : "restored"}: ${JSON.stringify(report)} in ${seconds.toFixed(1)} s\n`);
    } finally {
      bar.stop();
    }
  });
}
