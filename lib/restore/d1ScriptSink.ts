/** The SQL-script target of a D1 restore (Node only: it writes a file). */
import { existsSync, statSync } from "node:fs";
import { AtomicFile, missingDirectory } from "../storage/atomicFile";
import type { D1Sink } from "./d1Sinks";
import { RestoreRefusedError, type RestoreMode } from "./modes";
import { RestoreInputError } from "./resolve";

/**
 * A SQL script for `wrangler d1 execute <db> --remote --file <path>`. The script is a new
 * artifact: an existing file is replaced only with --mode overwrite (`replaces` says so). It is
 * written under a temporary name and renamed when complete, so a failed restore leaves none.
 */
export function sqlFileSink(file: string, mode: RestoreMode): D1Sink & { readonly replaces: boolean } {
  const dir = missingDirectory(file);
  if (dir) throw new RestoreInputError(`--to file:${file}: the directory ${dir} does not exist (create it first)`);
  const replaces = existsSync(file);
  if (replaces && statSync(file).isDirectory()) throw new RestoreInputError(`--to file:${file}: is a directory; name the .sql file to write`);
  if (replaces && mode !== "overwrite") throw new RestoreRefusedError(`--to file:${file}: the file exists; refusing to replace it (choose another path, or --mode overwrite to replace the file)`);
  const target = new AtomicFile(file);
  return {
    label: `file:${file}`,
    replaces,
    execute: (stmts) => target.write(`${stmts.map((s) => s.literal).join("\n")}\n`),
    close: () => target.commit(),
    abort: () => target.abort(),
  };
}
