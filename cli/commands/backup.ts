/** `drposture backup postgres`: the independent pg_dump backup of Neon, outside Neon; `backup now`
 * (backupNow.ts): a backup of a D1, KV or R2 asset now, on the deployed Worker. */
import { Option, type Command } from "commander";
import { CliError, EXIT } from "../exitCodes";
import { registerBackupNow } from "./backupNow";
import { loadStackPosture } from "./posture";
import { assetOption, progressBar, PROJECT_ROOT, type StoreKeyOptions, storesAndKey, withStoreAndKey } from "./common";

interface Opts extends StoreKeyOptions {
  url: string;
  stack: string;
  cwd: string;
  asset?: string;
  pgDump?: string;
}

/** The source recorded when the stack names none: the host of a URL, or of a key=value string. */
function sourceHost(url: string): string {
  try {
    return new URL(url).hostname || "postgres";
  } catch {
    return /(?:^|\s)host\s*=\s*(\S+)/.exec(url)?.[1] ?? "postgres";
  }
}

export function registerBackup(program: Command): void {
  const backup = program.command("backup").description("take a backup: Neon from here (postgres), D1/KV/R2 on the Worker now (now)");
  registerBackupNow(backup);
  withStoreAndKey(
    backup
      .command("postgres")
      .description("pg_dump (custom format) streamed through the encrypted format into every --store: the first gets it, the others a copy; manifest last")
      .requiredOption("--url <url>", "Postgres connection string (the Neon branch to back up)")
      .option("--stack <name>", "stack whose posture gives the asset, tiers and lock mode", "prod")
      .option("--cwd <dir>", "project directory", PROJECT_ROOT)
      .addOption(new Option("--asset <name>", "asset name (default: the stack's neon.databaseName)").argParser(assetOption(false)))
      .option("--pg-dump <path>", "pg_dump binary (default: the newest installed)"),
  ).action(async (o: Opts) => {
    const posture = loadStackPosture(o.cwd, o.stack);
    const neon = posture.assets.find((a) => a.kind === "neon");
    const name = o.asset ?? neon?.name;
    if (!name) throw new CliError(`stack ${o.stack} declares no Neon asset; pass --asset`, EXIT.usage);
    const { stores, master } = await storesAndKey(o, { asset: `neon/${name}` }, true);
    const { backupPostgres } = require("../../lib/backup/postgresBackup") as typeof import("../../lib/backup/postgresBackup");
    const bar = progressBar("pg_dump", !o.json);
    const tierDays = Object.fromEntries(posture.tiers.map((t) => [t.tier, t.retentionDays])) as Record<"daily" | "weekly" | "monthly", number>;
    let done: Awaited<ReturnType<typeof backupPostgres>>;
    try {
      done = await backupPostgres({
        url: o.url,
        stores,
        master,
        stack: posture.stack,
        asset: { kind: "neon", name },
        sourceId: neon?.sourceId ?? sourceHost(o.url),
        tierDays,
        lockMode: posture.vault.objectLockMode,
        ...(o.pgDump ? { pgDump: o.pgDump } : {}),
        onProgress: (n) => bar.update(n),
      });
    } finally {
      bar.stop();
    }
    const { manifest, key } = done;
    if (o.json) process.stdout.write(`${JSON.stringify({ backupId: manifest.backupId, tier: manifest.tier, manifest: key, bytes: manifest.counts.bytes, stores: stores.map((s) => s.label) })}\n`);
    else process.stdout.write(`backup ${manifest.backupId} (${manifest.tier}) of neon/${name}: ${manifest.counts.bytes} bytes dumped, committed to ${stores.map((s) => s.label).join(", ")}\n`);
  });
}
