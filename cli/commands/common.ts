/** Shared by the commands: the project root, the store and key options, progress bars. */
import { InvalidArgumentError, Option, type Command } from "commander";
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

/** Asset names as the stack schema allows them: they become object-key segments, never paths. */
const ASSET_NAME = /^[a-z][a-z0-9-]{0,39}$/;
const ASSET_KINDS = ["d1", "kv", "r2", "neon"];

/**
 * Parser of every --asset option: NAME, or KIND/NAME with withKind. Anything else ("../x",
 * "kv/../../y", upper case) is a usage error before a store is opened or a byte is written.
 */
export function assetOption(withKind: boolean): (value: string) => string {
  return (value: string) => {
    const parts = value.split("/");
    const [kind, name] = parts.length === 2 && withKind ? parts : [undefined, value];
    const kindOk = kind === undefined || ASSET_KINDS.includes(kind);
    if (parts.length > (withKind ? 2 : 1) || !kindOk || !ASSET_NAME.test(name as string)) {
      const shape = withKind ? "NAME or KIND/NAME (KIND: d1, kv, r2, neon; NAME:" : "NAME (";
      throw new InvalidArgumentError(`"${value}" is not an asset: expected ${shape}${withKind ? " " : ""}1-40 of a-z, 0-9 and '-', starting with a letter)`);
    }
    return value;
  };
}

export function openStores(o: StoreKeyOptions): BackupStorage[] {
  const { openStore, StoreSpecError } = require("../../lib/restore/stores") as typeof import("../../lib/restore/stores");
  if (!o.store?.length) throw new StoreSpecError("no --store given (s3://BUCKET?region=R, r2://ACCOUNT/BUCKET or a directory)");
  return o.store.map((s) => openStore(s));
}

/** Which backups the command will read, so that `--key-escrow PREFIX` can find their key id. */
export interface KeyTarget {
  /** "kind/name" or a name. */
  readonly asset?: string;
  /** A restore's --from; the newest backup otherwise. */
  readonly from?: string;
}

/**
 * A directory store must exist: a mistyped path would otherwise read as an empty store (or fail
 * later for want of a key, which says nothing about the real mistake).
 */
function requireStoreDirectories(stores: readonly BackupStorage[]): void {
  const { DirStorage } = require("../../lib/storage/dirStorage") as typeof import("../../lib/storage/dirStorage");
  const { StorageError } = require("../../lib/storage/types") as typeof import("../../lib/storage/types");
  const { statSync } = require("node:fs") as typeof import("node:fs");
  for (const s of stores) {
    if (!(s instanceof DirStorage)) continue;
    const st = statSync(s.root, { throwIfNoEntry: false });
    if (!st) throw new StorageError(`store ${s.root}: the directory does not exist`);
    if (!st.isDirectory()) throw new StorageError(`store ${s.root}: not a directory`);
  }
}

/** `writing`: a backup may create a directory store; every reader needs it to exist. */
export async function storesAndKey(o: StoreKeyOptions, target: KeyTarget = {}, writing = false): Promise<{ stores: BackupStorage[]; master: MasterKey }> {
  const { loadKey } = require("../../lib/restore/keySource") as typeof import("../../lib/restore/keySource");
  const { keyIdHint } = require("../../lib/restore/resolve") as typeof import("../../lib/restore/resolve");
  const stores = openStores(o);
  if (!writing) requireStoreDirectories(stores);
  const first = stores[0] as BackupStorage;
  return { stores, master: await loadKey(o, () => keyIdHint(first, target.asset, target.from).catch(() => undefined)) };
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
