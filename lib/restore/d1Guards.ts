/**
 * What keeps a D1 restore from hurting the data it does not restore:
 *  - `--only` names tables the backup has (a comma list), or the restore stops before writing;
 *  - `--mode clear --only` drops tables, and DROP TABLE deletes their rows first, firing
 *    ON DELETE CASCADE / SET NULL in the tables that reference them: refused unless every
 *    referencing table is named too;
 *  - skip and overwrite write into live tables whose triggers would fire for restored rows
 *    (duplicating audit rows, ...): those triggers are paused (dropped, then recreated from
 *    their own SQL at the end). A SQL script cannot see the target, so it pauses the backup's
 *    triggers and refuses, inside the script, if the target has others.
 * A script's guards are CHECK constraints on a throwaway table: a violated one stops
 * `wrangler d1 execute` with "CHECK constraint failed: <why>" before any row is written.
 */
import { quoteIdent, type SchemaObject } from "../backup/d1Dump";
import { RestoreRefusedError, type RestoreOptions } from "./modes";
import { RestoreInputError } from "./resolve";
import type { D1Sink, TargetObject } from "./d1Sinks";
import { plain, type Stmt } from "./d1Statements";
import { textLiteral } from "./d1Values";

/** The tables `--only` names: one table, or a comma-separated list; all must be in the backup. */
export function chosenTables(only: string | undefined, objects: readonly SchemaObject[]): Set<string> | null {
  if (only === undefined) return null;
  const tables = objects.filter((o) => o.type === "table").map((o) => o.name);
  const names = tables.includes(only) ? [only] : only.split(",").map((n) => n.trim()).filter(Boolean);
  const missing = names.filter((n) => !tables.includes(n));
  if (!names.length || missing.length) {
    throw new RestoreInputError(`--only ${only}: the backup has no table ${missing.map((n) => JSON.stringify(n)).join(", ") || "named"}; its tables: ${tables.join(", ") || "(none)"}`);
  }
  return new Set(names);
}

/** Tables the backup's CREATE TABLE statements reference (for targets that cannot be inspected). */
export function referencedBy(sql: string): string[] {
  const out: string[] = [];
  for (const m of sql.matchAll(/\bREFERENCES\s*("(?:[^"]|"")+"|\[[^\]]+\]|`(?:[^`]|``)+`|[^\s(,)]+)/gi)) {
    const raw = m[1] as string;
    out.push(/^["[`]/.test(raw) ? raw.slice(1, -1).replace(/""/g, '"').replace(/``/g, "`") : raw);
  }
  return out;
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** --mode clear --only: the tables outside the chosen set whose foreign keys point into it. */
export async function referencingTables(sink: D1Sink, chosen: ReadonlySet<string>, backup: readonly SchemaObject[]): Promise<string[]> {
  const inChosen = (t: string) => [...chosen].some((c) => same(c, t));
  const found = new Set<string>();
  if (sink.inspect) {
    for (const t of (await sink.inspect.objects()).filter((o) => o.type === "table" && !inChosen(o.name))) {
      if ((await sink.inspect.parents(t.name)).some(inChosen)) found.add(t.name);
    }
  } else {
    for (const t of backup.filter((o) => o.type === "table" && !inChosen(o.name))) if (referencedBy(t.sql).some(inChosen)) found.add(t.name);
  }
  return [...found];
}

export function refuseCascade(referencing: readonly string[], chosen: ReadonlySet<string>, label: string): void {
  if (!referencing.length) return;
  throw new RestoreRefusedError(
    `--mode clear --only ${[...chosen].join(",")}: ${referencing.join(", ")} in ${label} reference${referencing.length === 1 ? "s" : ""} ${chosen.size === 1 ? "that table" : "those tables"}; ` +
      `clearing would delete or change their rows through their foreign keys. Name them too (--only ${[...chosen, ...referencing].join(",")}), or use --mode overwrite (updates rows in place).`,
  );
}

const GUARD = quoteIdent("drposture_restore_guard");
const lowerList = (names: Iterable<string>) => [...names].map((n) => textLiteral(n.toLowerCase())).join(", ");

/** Guards a script checks on the target before it writes; each refuses with its reason. */
export function scriptGuards(checks: ReadonlyArray<{ reason: string; condition: string }>): Stmt[] {
  if (!checks.length) return [];
  const constraints = checks.map((c, i) => `CONSTRAINT ${quoteIdent(`drposture refused: ${c.reason}`)} CHECK (refused IS NOT ${i})`).join(" ");
  return [
    plain(`DROP TABLE IF EXISTS ${GUARD}`),
    plain(`CREATE TABLE ${GUARD} (refused INTEGER ${constraints})`),
    ...checks.map((c, i) => plain(`INSERT INTO ${GUARD} (refused) SELECT ${i} WHERE ${c.condition}`)),
    plain(`DROP TABLE ${GUARD}`),
  ];
}

/** In a script: the target has a table (not chosen) whose schema references a chosen one. */
export function cascadeCondition(chosen: ReadonlySet<string>): string {
  // Whitespace folded to single spaces so "REFERENCES\n  users" matches too.
  let norm = "' ' || replace(replace(replace(lower(sql), char(10), ' '), char(13), ' '), char(9), ' ')";
  for (let i = 0; i < 4; i++) norm = `replace(${norm}, '  ', ' ')`;
  const forms = [...chosen].flatMap((t) => {
    const n = t.toLowerCase();
    return [n, `"${n.replace(/"/g, '""')}"`, `[${n}]`, `\`${n}\``].flatMap((f) => [" ", "(", ","].map((sep) => `instr(${norm}, ${textLiteral(`references ${f}${sep}`)}) > 0`));
  });
  return `EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND lower(name) NOT IN (${lowerList(chosen)}) AND (${forms.join(" OR ")}))`;
}

/** In a script: the target has triggers on written tables other than the backup's own. */
export function foreignTriggerCondition(written: ReadonlySet<string>, backupTriggers: readonly SchemaObject[]): string {
  const known = backupTriggers.map((t) => `(name = ${textLiteral(t.name)} AND sql = ${textLiteral(t.sql)})`);
  return `EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND lower(tbl_name) IN (${lowerList(written)}) AND NOT (${known.join(" OR ") || "0"}))`;
}

export interface TriggerPause {
  /** Before the first row: drop the triggers (and, in a script, check the target's). */
  readonly before: Stmt[];
  /** After the last row: recreate them as they were. */
  readonly after: Stmt[];
  readonly names: string[];
}

/** skip / overwrite: the triggers on the tables written, paused for the restore. */
export async function pauseTriggers(sink: D1Sink, written: ReadonlySet<string>, backup: readonly SchemaObject[], o: RestoreOptions): Promise<TriggerPause> {
  if (o.mode !== "skip" && o.mode !== "overwrite") return { before: [], after: [], names: [] };
  const on = (t: { tbl_name: string }) => [...written].some((w) => same(w, t.tbl_name));
  if (sink.inspect) {
    const live = (await sink.inspect.objects()).filter((x): x is TargetObject & { sql: string } => x.type === "trigger" && on(x) && !!x.sql);
    return { before: live.map((t) => plain(`DROP TRIGGER IF EXISTS ${quoteIdent(t.name)}`)), after: live.map((t) => plain(t.sql)), names: live.map((t) => t.name) };
  }
  // A script: the backup's triggers are dropped here and created again after the rows.
  const mine = backup.filter((x) => x.type === "trigger" && on(x));
  const reason = "the target has triggers on the restored tables that the backup does not have; they would fire for restored rows (drop them first, or restore into an empty database)";
  return {
    before: [...scriptGuards([{ reason, condition: foreignTriggerCondition(written, mine) }]), ...mine.map((t) => plain(`DROP TRIGGER IF EXISTS ${quoteIdent(t.name)}`))],
    after: [],
    names: mine.map((t) => t.name),
  };
}
