/** `drposture list` and `drposture verify`. */
import { Option, type Command } from "commander";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { EXIT } from "../exitCodes";
import { table } from "../table";
import { assetOption, openStores, progressBar, type StoreKeyOptions, storesAndKey, withStoreAndKey } from "./common";

interface ListOpts extends StoreKeyOptions {
  asset?: string;
}

interface VerifyOpts extends StoreKeyOptions {
  asset?: string;
  readData: string;
  local?: string;
}

/** What `drill --keep DIR` leaves: one directory per destination and the drill's key. */
function localDrillStores(dir: string): { stores: string[]; keyFile?: string } {
  const stores = ["r2", "s3"].map((d) => path.join(dir, d)).filter((d) => existsSync(d));
  const keyFile = path.join(dir, "encryption-key.hex");
  return { stores: stores.length ? stores : [dir], ...(existsSync(keyFile) ? { keyFile } : {}) };
}

export function registerListVerify(program: Command): void {
  withStoreAndKey(program.command("list").description("list the committed backups (manifests) in a store").addOption(new Option("--asset <name>", "only this asset (kind/name or name)").argParser(assetOption(true)))).action(
    async (o: ListOpts) => {
      const stores = openStores(o);
      const { listBackups, listTierObjects, readManifest } = require("../../lib/backup/catalog") as typeof import("../../lib/backup/catalog");
      const { parseObjectKey } = require("../../lib/format/layout") as typeof import("../../lib/format/layout");
      const rows: Array<Record<string, unknown>> = [];
      for (const store of stores) {
        const assets = new Map<string, { kind: "d1" | "kv" | "r2" | "neon"; name: string }>();
        for await (const obj of listTierObjects(store)) {
          const p = parseObjectKey(obj.key);
          if (p && (!o.asset || o.asset === p.asset || o.asset === `${p.kind}/${p.asset}`)) assets.set(`${p.kind}/${p.asset}`, { kind: p.kind, name: p.asset });
        }
        for (const a of assets.values()) {
          for (const ref of await listBackups(store, a)) {
            const m = await readManifest(store, ref.key);
            rows.push({
              store: store.label,
              asset: `${a.kind}/${a.name}`,
              tier: ref.tier,
              backupId: ref.backupId,
              mode: m?.mode,
              sourcePointInTime: m?.sourcePointInTime,
              bytes: m?.artifacts.reduce((n, x) => n + x.ciphertextBytes, 0),
              artifacts: m?.artifacts.length,
              manifest: ref.key,
            });
          }
        }
      }
      if (o.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else process.stdout.write(`${table(["asset", "tier", "backup", "mode", "source point in time", "bytes", "store"], rows.map((r) => [r.asset, r.tier, r.backupId, r.mode, r.sourcePointInTime, r.bytes, r.store] as Array<string | number>))}\n`);
    },
  );

  withStoreAndKey(
    program
      .command("verify")
      .description("check every manifest (MAC) and artifact (exists, size); --read-data decrypts and hashes a share of them")
      .addOption(new Option("--asset <name>", "only this asset (kind/name or name)").argParser(assetOption(true)))
      .option("--read-data <percent>", "download, decrypt and hash this percentage of the artifacts", "0")
      .option("--local <dir>", "verify what `drposture drill --keep DIR` left (its stores and key)"),
  ).action(async (o: VerifyOpts) => {
    const local = o.local ? localDrillStores(o.local) : undefined;
    const { stores, master } = await storesAndKey({ ...o, ...(local ? { store: local.stores, keyFile: o.keyFile ?? local.keyFile } : {}) }, o.asset ? { asset: o.asset } : {});
    const { verifyStore } = require("../../lib/restore/verify") as typeof import("../../lib/restore/verify");
    const results = [];
    for (const store of stores) {
      const bar = progressBar(`verify ${store.label}`, !o.json);
      results.push(await verifyStore(store, master, { ...(o.asset ? { asset: o.asset } : {}), readDataPercent: Number(o.readData), onProgress: (d, t) => bar.update(d, t) }));
      bar.stop();
    }
    const failed = results.some((r) => r.failures.length);
    if (o.json) {
      process.stdout.write(`${JSON.stringify({ ok: !failed, results }, null, 2)}\n`);
    } else {
      for (const r of results) {
        process.stdout.write(`${r.store}: ${r.manifests} backups, ${r.artifacts} artifacts, ${r.artifactsRead} decrypted (${r.bytesRead} bytes), ${r.unreferenced} unreferenced object(s) of unfinished backups\n`);
        for (const f of r.failures) process.stdout.write(`  FAILED ${f.key}: ${f.problem}\n`);
      }
      process.stdout.write(failed ? "verification FAILED\n" : "verification passed\n");
    }
    process.exitCode = failed ? EXIT.failed : EXIT.ok;
  });
}
