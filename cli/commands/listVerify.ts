/** `drposture list` and `drposture verify`. */
import { InvalidArgumentError, Option, type Command } from "commander";
import { existsSync } from "node:fs";
import * as path from "node:path";
import type { ListedBackup } from "../../lib/restore/listing";
import type { VerifyResult } from "../../lib/restore/verify";
import type { BackupStorage } from "../../lib/storage/types";
import { CliError, EXIT } from "../exitCodes";
import { table } from "../table";
import { assetOption, progressBar, type StoreKeyOptions, storesAndKey, withStoreAndKey } from "./common";

interface ListOpts extends StoreKeyOptions {
  asset?: string;
}

interface VerifyOpts extends StoreKeyOptions {
  asset?: string;
  readData: number;
  local?: string;
}

/** What `drill --keep DIR` leaves: one directory per destination and the drill's key. */
function localDrillStores(dir: string): { stores: string[]; keyFile?: string } {
  const stores = ["r2", "s3"].map((d) => path.join(dir, d)).filter((d) => existsSync(d));
  const keyFile = path.join(dir, "encryption-key.hex");
  return { stores: stores.length ? stores : [dir], ...(existsSync(keyFile) ? { keyFile } : {}) };
}

/** --read-data: a share of the artifacts, 0 to 100. */
function percentOption(value: string): number {
  const n = Number(value);
  if (!value.trim() || !Number.isFinite(n) || n < 0 || n > 100) throw new InvalidArgumentError(`"${value}" is not a percentage: expected a number from 0 to 100`);
  return n;
}

/** Where a directory store with nothing in it probably is. */
function hintFor(store: BackupStorage): string | undefined {
  const { DirStorage } = require("../../lib/storage/dirStorage") as typeof import("../../lib/storage/dirStorage");
  const { dirStoreHint } = require("./storeHints") as typeof import("./storeHints");
  return store instanceof DirStorage ? dirStoreHint(store.root) : undefined;
}

function printListing(rows: ListedBackup[], problems: Array<{ key: string; problem: string }>): void {
  // Trend: duration, items and their change against the previous backup; ! marks a backup the
  // watchdog's default thresholds call too slow or too small.
  const trend = (r: ListedBackup) => (r.health ? `${r.health.warnings.length ? "! " : ""}${r.health.trend}` : "");
  const shown = rows.map((r) => [r.asset, r.tier, r.backupId, r.status === "ok" ? (r.mode ?? "") : "REJECTED", r.sourcePointInTime ?? "", r.bytes ?? "", trend(r), r.store] as Array<string | number>);
  process.stdout.write(`${table(["asset", "tier", "backup", "mode", "source point in time", "bytes", "trend", "store"], shown)}\n`);
  for (const r of rows) for (const w of r.health?.warnings ?? []) process.stdout.write(`HEALTH ${r.asset}: ${w}\n`);
  for (const r of rows.filter((x) => x.status === "rejected")) process.stdout.write(`REJECTED ${r.manifest}: ${r.problem}\n`);
  for (const p of problems) process.stdout.write(`PROBLEM ${p.key}: ${p.problem}\n`);
}

async function list(o: ListOpts): Promise<void> {
  const { stores, master } = await storesAndKey(o, o.asset ? { asset: o.asset } : {});
  const { listStoreBackups } = require("../../lib/restore/listing") as typeof import("../../lib/restore/listing");
  const rows: ListedBackup[] = [];
  const problems: Array<{ store: string; key: string; problem: string }> = [];
  for (const store of stores) {
    const l = await listStoreBackups(store, master, o.asset);
    rows.push(...l.rows);
    problems.push(...l.problems.map((p) => ({ store: store.label, ...p })));
    if (!l.rows.length && !o.json) {
      const hint = hintFor(store);
      process.stderr.write(`no backups${o.asset ? ` of ${o.asset}` : ""} in ${store.label}${hint ? `; ${hint}` : ""}\n`);
    }
  }
  // JSON: one element per backup; an asset-level problem (rollback) is an element too.
  if (o.json) process.stdout.write(`${JSON.stringify([...rows, ...problems.map((p) => ({ ...p, status: "problem" }))], null, 2)}\n`);
  else printListing(rows, problems);
  process.exitCode = rows.some((r) => r.status !== "ok") || problems.length ? EXIT.failed : EXIT.ok;
}

function printVerify(r: VerifyResult & { hint?: string }): void {
  const rejected = r.rejected ? ` (${r.rejected} rejected)` : "";
  const unchecked = r.unchecked ? `, ${r.unchecked} object(s) of rejected backups not checked` : "";
  process.stdout.write(`${r.store}: ${r.manifests} backups${rejected}, ${r.artifacts} artifacts, ${r.artifactsRead} decrypted (${r.bytesRead} bytes), ${r.unreferenced} unreferenced object(s) of unfinished backups${unchecked}\n`);
  for (const f of r.failures) process.stdout.write(`  FAILED ${f.key}: ${f.problem}\n`);
  if (r.wrongKey) process.stdout.write(`  wrong key? the backups name key ${r.wrongKey.named.join(", ")}; the key given is ${r.wrongKey.given}\n`);
  if (r.hint) process.stdout.write(`  ${r.hint}\n`);
}

async function verify(o: VerifyOpts): Promise<void> {
  if (o.local && !existsSync(o.local)) throw new CliError(`--local ${o.local}: the directory does not exist (expected what \`drposture drill --keep DIR\` left)`, EXIT.failed);
  const local = o.local ? localDrillStores(o.local) : undefined;
  const { stores, master } = await storesAndKey({ ...o, ...(local ? { store: local.stores, keyFile: o.keyFile ?? local.keyFile } : {}) }, o.asset ? { asset: o.asset } : {});
  const { verifyStore } = require("../../lib/restore/verify") as typeof import("../../lib/restore/verify");
  const results: Array<VerifyResult & { hint?: string }> = [];
  for (const store of stores) {
    const bar = progressBar(`verify ${store.label}`, !o.json);
    const r = await verifyStore(store, master, { ...(o.asset ? { asset: o.asset } : {}), readDataPercent: o.readData, onProgress: (d, t) => bar.update(d, t) });
    bar.stop();
    const hint = r.manifests ? undefined : hintFor(store);
    results.push({ ...r, ...(hint ? { hint } : {}) });
  }
  const failed = results.some((r) => r.failures.length);
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ ok: !failed, results }, null, 2)}\n`);
  } else {
    for (const r of results) printVerify(r);
    process.stdout.write(failed ? "verification FAILED\n" : "verification passed\n");
  }
  process.exitCode = failed ? EXIT.failed : EXIT.ok;
}

export function registerListVerify(program: Command): void {
  withStoreAndKey(
    program
      .command("list")
      .description("list the backups in a store, each manifest verified (MAC, key, location); rejected ones are shown as REJECTED and exit 1")
      .addOption(new Option("--asset <name>", "only this asset (kind/name or name)").argParser(assetOption(true))),
  ).action(list);

  withStoreAndKey(
    program
      .command("verify")
      .description("check every manifest (MAC, key, location) and artifact (exists, size); --read-data decrypts and hashes a share of them; finding nothing fails")
      .addOption(new Option("--asset <name>", "only this asset (kind/name or name)").argParser(assetOption(true)))
      .addOption(new Option("--read-data <percent>", "download, decrypt and hash this percentage (0-100) of the artifacts").argParser(percentOption).default(0))
      .option("--local <dir>", "verify what `drposture drill --keep DIR` left (its stores and key)"),
  ).action(verify);
}
