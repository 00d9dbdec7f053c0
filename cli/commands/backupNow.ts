/**
 * `drposture backup now --asset NAME [--stack NAME]`: asks the deployed backup Worker (its
 * signed trigger routes, lib/trigger/) to back up one D1, KV or R2 asset now, and waits for
 * the committed manifest. The Worker's URL and trigger key are stack outputs:
 *   DRPOSTURE_WORKER_URL=$(pulumi stack output backupWorkerUrl --stack prod)
 *   DRPOSTURE_TRIGGER_KEY=$(pulumi stack output backupTriggerKey --show-secrets --stack prod)
 * The key is read from the environment or a file, never from a flag (shell history).
 */
import { readFileSync } from "node:fs";
import { InvalidArgumentError, Option, type Command } from "commander";
import type { ProtectedAsset } from "../../lib/posture/model";
import type { BackupNowOutcome, BackupNowProgress } from "../../lib/trigger/backupNow";
import { CliError, EXIT } from "../exitCodes";
import { assetOption, PROJECT_ROOT } from "./common";
import { loadStackPosture } from "./posture";

interface Opts {
  asset: string;
  stack: string;
  cwd: string;
  url?: string;
  triggerKeyFile?: string;
  timeout?: number;
  wait: boolean;
  json?: boolean;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** The asset the option names, in the stack's posture: KIND/NAME, or a NAME unique in the stack. */
export function resolveAsset(assets: readonly ProtectedAsset[], value: string, stack: string): ProtectedAsset {
  const matches = value.includes("/") ? assets.filter((a) => a.id === value) : assets.filter((a) => a.name === value);
  const known = assets.map((a) => a.id).join(", ");
  if (matches.length === 0) throw new CliError(`--asset ${value}: stack ${stack} has no such asset (it has: ${known})`, EXIT.usage);
  if (matches.length > 1) throw new CliError(`--asset ${value}: more than one asset of stack ${stack} is named so (${matches.map((a) => a.id).join(", ")}); pass KIND/NAME`, EXIT.usage);
  const a = matches[0] as ProtectedAsset;
  if (a.kind === "neon") throw new CliError(`--asset ${a.id}: Neon is backed up from outside Cloudflare; use \`drposture backup postgres --stack ${stack}\``, EXIT.usage);
  return a;
}

/** The Worker's URL: https, or plain http to this machine only (the local world). */
export function workerUrl(o: Pick<Opts, "url" | "stack">, env: NodeJS.ProcessEnv = process.env): string {
  const raw = o.url ?? env.DRPOSTURE_WORKER_URL;
  if (!raw) throw new CliError(`no Worker URL: export DRPOSTURE_WORKER_URL=$(pulumi stack output backupWorkerUrl --stack ${o.stack}) or pass --url`, EXIT.usage);
  const from = o.url ? "--url" : "DRPOSTURE_WORKER_URL";
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new CliError(`${from} ${JSON.stringify(raw)} is not a URL (expected https://NAME.SUBDOMAIN.workers.dev)`, EXIT.usage);
  }
  const ok = u.protocol === "https:" || (u.protocol === "http:" && LOOPBACK.has(u.hostname));
  if (!ok) throw new CliError(`${from} ${u.origin}: must be https:// (plain http only to 127.0.0.1 or localhost, the local world): the trigger key signs requests, but status answers travel in the clear`, EXIT.usage);
  if (u.username || u.password) throw new CliError(`${from}: must not carry credentials`, EXIT.usage);
  return u.origin;
}

/** The trigger key: --trigger-key-file, else $DRPOSTURE_TRIGGER_KEY (never a flag value). */
export function triggerKey(o: Pick<Opts, "triggerKeyFile" | "stack">, env: NodeJS.ProcessEnv = process.env): string {
  const { isTriggerKey } = require("../../lib/trigger/signature") as typeof import("../../lib/trigger/signature");
  let raw: string | undefined;
  let from: string;
  if (o.triggerKeyFile) {
    from = `--trigger-key-file ${o.triggerKeyFile}`;
    try {
      raw = readFileSync(o.triggerKeyFile, "utf8");
    } catch (err) {
      throw new CliError(`${from}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, EXIT.usage);
    }
  } else {
    from = "DRPOSTURE_TRIGGER_KEY";
    raw = env.DRPOSTURE_TRIGGER_KEY;
    if (!raw) throw new CliError(`no trigger key: export DRPOSTURE_TRIGGER_KEY=$(pulumi stack output backupTriggerKey --show-secrets --stack ${o.stack}) or pass --trigger-key-file FILE`, EXIT.usage);
  }
  const key = raw.trim().toLowerCase();
  if (!isTriggerKey(key)) throw new CliError(`${from}: not a trigger key (expected 64 hex characters, as \`pulumi stack output backupTriggerKey --show-secrets\` prints it)`, EXIT.usage);
  return key;
}

function minutes(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 24 * 60) throw new InvalidArgumentError(`"${value}" is not a number of minutes (more than 0, at most 1440)`);
  return n;
}

/** The default wait: the asset's RPO (at least 15 min). A backup slower than its RPO already
 * fails the posture: the next cron run finds it still running and the watchdog calls it stale. */
export function defaultTimeoutMinutes(a: ProtectedAsset): number {
  return Math.max(15, a.rpoMinutes);
}

function progressLine(asset: string): (p: BackupNowProgress) => void {
  let last = "";
  return (p) => {
    const line =
      p.kind === "waiting-for-running"
        ? `a backup of ${asset}${p.backupId ? ` (${p.backupId})` : ""} is already running, started before this request: waiting for it to end, then starting a new one`
        : p.kind === "started"
          ? `backup ${p.backupId} of ${asset} started on the Worker; waiting for its manifest (Ctrl-C stops the waiting, not the backup)`
          : `backup ${p.status.backupId}: ${p.status.state}${p.status.phase ? ` (${p.status.phase})` : ""}`;
    if (line !== last) process.stderr.write(`drposture: ${line}\n`);
    last = line;
  };
}

function printOutcome(r: BackupNowOutcome, o: Opts, timeoutMinutes: number): void {
  if (r.outcome === "timeout") {
    const what = r.backupId ? `backup ${r.backupId} of ${r.asset}` : `the backup of ${r.asset} (a running backup did not end)`;
    throw new CliError(`${what} was not committed within ${timeoutMinutes} min (--timeout); it continues on Cloudflare: \`drposture list\` shows it once committed`, EXIT.failed);
  }
  if (r.outcome === "failed") throw new CliError(`backup ${r.backupId} of ${r.asset} failed: ${r.error}`, EXIT.failed);
  if (r.outcome === "started") {
    process.stdout.write(o.json ? `${JSON.stringify({ asset: r.asset, backupId: r.backupId, state: "running" })}\n` : `backup ${r.backupId} of ${r.asset} started\n`);
    return;
  }
  if (o.json) process.stdout.write(`${JSON.stringify({ asset: r.asset, backupId: r.backupId, tier: r.tier, manifest: r.manifest, seconds: r.seconds })}\n`);
  else process.stdout.write(`backup ${r.backupId} (${r.tier}) of ${r.asset} committed in ${r.seconds} s\n`);
}

async function run(o: Opts): Promise<void> {
  const posture = loadStackPosture(o.cwd, o.stack);
  const asset = resolveAsset(posture.assets, o.asset, o.stack);
  const url = workerUrl(o);
  const key = triggerKey(o);
  const timeoutMinutes = o.timeout ?? defaultTimeoutMinutes(asset);
  const { TriggerClient } = require("../../lib/trigger/client") as typeof import("../../lib/trigger/client");
  const { backupNow } = require("../../lib/trigger/backupNow") as typeof import("../../lib/trigger/backupNow");
  const { onCleanup, throwIfInterrupted } = require("../../lib/process/cleanup") as typeof import("../../lib/process/cleanup");
  let backupId: string | undefined;
  // On Ctrl-C: nothing to undo here, but the operator must know the backup is not stopped.
  const unregister = onCleanup("say the backup keeps running", () =>
    process.stderr.write(`drposture: ${backupId ? `backup ${backupId} of ${asset.id}` : `a backup of ${asset.id}, if it started,`} keeps running on Cloudflare; stopping here does not stop it\n`),
  );
  const show = o.json ? undefined : progressLine(asset.id);
  try {
    const outcome = await backupNow(new TriggerClient(url, key), asset.id, {
      timeoutMs: timeoutMinutes * 60_000,
      noWait: !o.wait,
      checkInterrupted: throwIfInterrupted,
      onProgress: (p) => {
        if (p.kind === "started") backupId = p.backupId;
        show?.(p);
      },
    });
    printOutcome(outcome, o, timeoutMinutes);
  } finally {
    unregister();
  }
}

export function registerBackupNow(backup: Command): void {
  backup
    .command("now")
    .description("back up one D1, KV or R2 asset now on the deployed backup Worker (signed request) and wait for its manifest")
    .addOption(new Option("--asset <name>", "the asset: KIND/NAME, or a NAME unique in the stack").argParser(assetOption(true)).makeOptionMandatory())
    .option("--stack <name>", "stack whose posture names the asset", "prod")
    .option("--cwd <dir>", "project directory", PROJECT_ROOT)
    .option("--url <url>", "the Worker's URL (default: $DRPOSTURE_WORKER_URL, from `pulumi stack output backupWorkerUrl`)")
    .option("--trigger-key-file <file>", "file holding the trigger key (default: $DRPOSTURE_TRIGGER_KEY, from `pulumi stack output backupTriggerKey --show-secrets`)")
    .addOption(new Option("--timeout <minutes>", "stop waiting after this long (default: the asset's RPO, at least 15); the backup continues").argParser(minutes))
    .option("--no-wait", "print the backup id once it has started and return")
    .option("--json", "machine-readable output")
    .action((o: Opts) => run(o));
}
