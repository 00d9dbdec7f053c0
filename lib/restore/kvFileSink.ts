/** The `wrangler kv bulk put` file target of a KV restore (Node only: it writes a file). */
import { existsSync } from "node:fs";
import { AtomicFile, missingDirectory } from "../storage/atomicFile";
import type { KvSink } from "./kvRestore";
import { RestoreRefusedError, type RestoreOptions } from "./modes";
import { RestoreInputError } from "./resolve";

/**
 * A JSON array for `wrangler kv bulk put --namespace-id <id> <file>` (values base64). The file
 * cannot see the namespace and bulk put overwrites, so skip and fail are only honest with the
 * namespace's keys at hand: `presentKeys` is the output of `wrangler kv key list`.
 */
export function wranglerBulkFileSink(file: string, mode: RestoreOptions["mode"], presentKeys?: readonly string[]): KvSink {
  if (mode === "fail" && existsSync(file)) throw new RestoreRefusedError(`${file} exists; refusing to overwrite it (choose --mode overwrite)`);
  if (mode === "skip" && !presentKeys) {
    throw new RestoreRefusedError(
      "--mode skip into a bulk-put file needs the namespace's keys (bulk put overwrites): " +
        "`npx wrangler kv key list --remote --namespace-id <id> [--prefix P] > present.json`, then --present-keys present.json",
    );
  }
  if (mode === "clear") throw new RestoreRefusedError("--mode clear cannot delete keys through a bulk-put file; run `wrangler kv bulk delete` first, or restore into an empty namespace");
  const dir = missingDirectory(file);
  if (dir) throw new RestoreInputError(`--to file:${file}: the directory ${dir} does not exist (create it first)`);
  // Complete or absent: a failed restore must not leave a bulk file that uploads as if whole.
  const target = new AtomicFile(file);
  let first = true;
  const write = (text: string) => target.write(text);
  return {
    label: file,
    keys: async function* (prefix) {
      for (const k of presentKeys ?? []) if (k.startsWith(prefix)) yield k;
    },
    put: async (key, value, options) => {
      const item = { key, value: Buffer.from(value).toString("base64"), base64: true, ...(options.metadata !== undefined ? { metadata: options.metadata } : {}), ...(options.expiration ? { expiration: options.expiration } : {}) };
      await write(`${first ? "[\n" : ",\n"}${JSON.stringify(item)}`);
      first = false;
    },
    delete: async () => undefined,
    close: async () => {
      await write(first ? "[]\n" : "\n]\n");
      await target.commit();
    },
    abort: () => target.abort(),
  };
}
