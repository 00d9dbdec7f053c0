/**
 * What a pg_dump archive (custom format, decrypted to a private file) holds, read with
 * pg_restore itself: its table of contents, its tables (schema and name, spaces and quotes
 * included) and the rows each table's data section would restore.
 */
import { StringDecoder } from "node:string_decoder";
import { runOwned, spawnOwned } from "../process/ownedChild";
import { RestoreInputError } from "./resolve";

export class PostgresRestoreError extends Error {
  override readonly name = "PostgresRestoreError";
}

export interface ArchiveTable {
  readonly schema: string;
  readonly name: string;
}

export const tableLabel = (t: ArchiveTable) => `${t.schema}.${t.name}`;

const tail = (stderr: string) => stderr.trim().split("\n").slice(-5).join(" | ");

/** Runs pg_restore on the archive (reading decrypted data: stopped first on interrupt). */
async function pgRestoreOutput(pgRestore: string, args: string[]): Promise<string> {
  const r = await runOwned(pgRestore, args, { priority: "sensitive" });
  if (r.code !== 0) throw new PostgresRestoreError(`pg_restore ${args[0]} could not read the archive: ${tail(r.stderr) || `exit ${r.code ?? r.signal}`}`);
  return r.stdout;
}

/** Entries of the table of contents; a truncated or foreign file fails here. */
export async function tocEntryCount(pgRestore: string, file: string): Promise<number> {
  return (await pgRestoreOutput(pgRestore, ["--list", file])).split("\n").filter((l) => /^\d+;/.test(l)).length;
}

/** The archive's tables, from the pre-data script's "-- Name: N; Type: TABLE; Schema: S;"
 * headers (the --list lines do not quote names, so "a b c" would be ambiguous there). */
export async function archiveTables(pgRestore: string, file: string): Promise<ArchiveTable[]> {
  const script = await pgRestoreOutput(pgRestore, ["--schema-only", "--section=pre-data", "--file=-", file]);
  const out: ArchiveTable[] = [];
  for (const m of script.matchAll(/^-- Name: (.+?); Type: TABLE; Schema: (.+?); Owner: /gm)) out.push({ schema: m[2] as string, name: m[1] as string });
  return out;
}

/**
 * The table `--only` names: NAME (in any schema, when only one has it) or SCHEMA.NAME. Anything
 * else is a usage error listing some of the tables the backup has.
 */
export function onlyTable(tables: readonly ArchiveTable[], only: string): ArchiveTable {
  const byName = tables.filter((t) => t.name === only);
  if (byName.length === 1) return byName[0] as ArchiveTable;
  if (byName.length > 1) throw new RestoreInputError(`--only ${only}: the backup has a table of that name in ${byName.length} schemas (${byName.map(tableLabel).join(", ")}); name one as SCHEMA.TABLE`);
  const qualified = tables.find((t) => tableLabel(t) === only);
  if (qualified) return qualified;
  const some = tables.slice(0, 8).map(tableLabel).join(", ");
  throw new RestoreInputError(
    `--only ${only}: the backup has no such table (${tables.length ? `it has ${tables.length}: ${some}${tables.length > 8 ? ", ..." : ""}` : "it has no tables"}); name one as TABLE or SCHEMA.TABLE`,
  );
}

/** Rows the archive's data would restore, per table: the COPY blocks of pg_restore's script
 * (one line per row: COPY text format escapes newlines), decompressing every data block. */
export async function archiveRowCounts(pgRestore: string, file: string, selection: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const utf8 = new StringDecoder("utf8");
  let pending = "";
  let current: string | null = null;
  let header: string | null = null;
  const line = (l: string) => {
    if (current !== null) {
      if (l === "\\.") current = null;
      else counts.set(current, (counts.get(current) ?? 0) + 1);
      return;
    }
    const h = /^-- Data for Name: (.+?); Type: TABLE DATA; Schema: (.+?); Owner: /.exec(l);
    if (h) header = `${h[2]}.${h[1]}`;
    else if (header !== null && /^COPY .* FROM stdin;$/.test(l)) {
      current = header;
      counts.set(current, counts.get(current) ?? 0);
      header = null;
    }
  };
  const { done } = spawnOwned(pgRestore, ["--data-only", "--file=-", ...selection, file], {
    priority: "sensitive",
    onStdout: (chunk) => {
      const lines = (pending + utf8.write(chunk)).split("\n");
      pending = lines.pop() as string;
      for (const l of lines) line(l);
    },
  });
  const r = await done;
  if (r.code !== 0) throw new PostgresRestoreError(`pg_restore could not read the archive's data: ${tail(r.stderr) || `exit ${r.code ?? r.signal}`}`);
  return counts;
}
