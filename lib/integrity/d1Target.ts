/**
 * The D1 database `drposture integrity --d1` checks: `local:DIR#ID` is `wrangler dev` state (a
 * `restore d1 --to local:` target); `file:PATH.sql` is a script (a `restore d1 --to file:`
 * output, a `wrangler d1 export`) loaded into a throwaway local D1 first — in one batch, so one
 * transaction: D1 enforces foreign keys at commit, and a script whose rows break them does not
 * load at all (that is reported as the script's failed check, not hidden).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { openLocalBindings, type LocalBindings } from "../local/localBindings";
import { cleanupPath } from "../process/cleanup";
import type { D1Like } from "../restore/d1Restore";
import type { IntegrityResult } from "./result";
import { splitSqlScript } from "./sqlScript";

export class IntegrityTargetError extends Error {
  override readonly name = "IntegrityTargetError";
}

export interface D1Target {
  readonly db: D1Like;
  /** The result of loading a script (file: targets); a failed load means nothing else runs. */
  readonly load?: IntegrityResult;
  dispose(): Promise<void>;
}

export function parseD1Spec(spec: string): { kind: "local"; dir: string; id: string } | { kind: "file"; file: string } {
  const local = /^local:(.+)#(.+)$/.exec(spec);
  if (local) return { kind: "local", dir: local[1] as string, id: local[2] as string };
  if (spec.startsWith("file:") && spec.length > 5) return { kind: "file", file: spec.slice(5) };
  throw new IntegrityTargetError(`--d1 ${spec}: expected local:DIR#DATABASE_ID (wrangler dev state) or file:PATH.sql`);
}

async function openLocal(dir: string, id: string): Promise<D1Target> {
  // Miniflare would create an empty database, and an empty database passes every check.
  if (!existsSync(path.join(dir, "v3", "d1"))) throw new IntegrityTargetError(`--d1 local:${dir}#${id}: no D1 state in ${dir} (expected ${path.join(dir, "v3", "d1")}, as wrangler dev --persist-to ${dir} keeps it)`);
  const b = await openLocalBindings(dir, "d1", id);
  return { db: (await b.d1()) as unknown as D1Like, dispose: () => b.dispose() };
}

async function openScript(file: string): Promise<D1Target> {
  if (!existsSync(file) || !statSync(file).isFile()) throw new IntegrityTargetError(`--d1 file:${file}: no such file`);
  const statements = splitSqlScript(readFileSync(file, "utf8"));
  const dir = mkdtempSync(path.join(tmpdir(), "drposture-integrity-"));
  // The script is restored (decrypted) data.
  const unregister = cleanupPath(dir, "sensitive");
  let b: LocalBindings | undefined;
  const dispose = async () => {
    await b?.dispose();
    rmSync(dir, { recursive: true, force: true });
    unregister();
  };
  try {
    b = await openLocalBindings(dir, "d1", "integrity-check");
    const db = (await b.d1()) as unknown as D1Like;
    const check = `d1: load ${path.basename(file)}`;
    const load = await db.batch(statements.map((s) => db.prepare(s))).then(
      (): IntegrityResult => ({ check, ok: true, rows: statements.length, sample: [], detail: `${statements.length} statement(s) loaded into a throwaway local D1` }),
      (err: Error): IntegrityResult => ({ check, ok: false, rows: 0, sample: [], detail: `the script does not load into D1: ${err.message.replace(/^D1_ERROR: /, "")}` }),
    );
    return { db, load, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

export async function openD1Target(spec: string): Promise<D1Target> {
  const s = parseD1Spec(spec);
  return s.kind === "local" ? openLocal(s.dir, s.id) : openScript(s.file);
}
