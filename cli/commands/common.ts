/** Shared by the commands: the project root, the store and key options, progress bars. */
import { Option, type Command } from "commander";
import * as path from "node:path";
import type { MasterKey } from "../../lib/format/keys";
import type { BackupStorage } from "../../lib/storage/types";

/** The dr-posture checkout the CLI runs from: default project for --cwd and the policy pack. */
export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

export interface StoreKeyOptions {
  store?: string[];
  keyFile?: string;
  keyEscrow?: string;
  keyEscrowRegion?: string;
  json?: boolean;
}

export function withStoreAndKey(cmd: Command, storeHelp = "where backups are (repeatable): s3://BUCKET?region=R, r2://ACCOUNT/BUCKET or a directory"): Command {
  return cmd
    .addOption(new Option("--store <spec>", storeHelp).argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]))
    .option("--key-file <file>", "data-encryption key (64 hex characters or base64); default: $DRPOSTURE_ENCRYPTION_KEY")
    .option("--key-escrow <secretId>", "read the key from AWS Secrets Manager, e.g. drposture/prod/data-encryption-key")
    .option("--key-escrow-region <region>", "region of the key escrow")
    .option("--json", "machine-readable output");
}

export function openStores(o: StoreKeyOptions): BackupStorage[] {
  const { openStore, StoreSpecError } = require("../../lib/restore/stores") as typeof import("../../lib/restore/stores");
  if (!o.store?.length) throw new StoreSpecError("no --store given (s3://BUCKET?region=R, r2://ACCOUNT/BUCKET or a directory)");
  return o.store.map((s) => openStore(s));
}

export async function storesAndKey(o: StoreKeyOptions): Promise<{ stores: BackupStorage[]; master: MasterKey }> {
  const { loadKey } = require("../../lib/restore/keySource") as typeof import("../../lib/restore/keySource");
  return { stores: openStores(o), master: await loadKey(o) };
}

/** A progress bar on stderr for people; nothing for machines or pipes. */
export function progressBar(label: string, enabled: boolean): { update(done: number, total?: number): void; stop(): void } {
  if (!enabled || !process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cliProgress = require("cli-progress") as typeof import("cli-progress");
  const bar = new cliProgress.SingleBar({ format: `${label} [{bar}] {value}{totalText} {duration_formatted}`, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total ?? 0, 0, { totalText: total ? `/${total}` : "" });
        started = true;
      }
      if (total) bar.setTotal(total);
      bar.update(done, { totalText: total ? `/${total}` : "" });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
