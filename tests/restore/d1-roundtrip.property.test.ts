/**
 * Property: any D1 database — random schemas with quoted identifiers (spaces, quotes, unicode),
 * rowid, INTEGER PRIMARY KEY (AUTOINCREMENT) and WITHOUT ROWID tables, an FTS5 table, and
 * values with NUL and other control characters, 64-bit edge integers, ±Infinity and NaN-like
 * REALs (SQLite stores NULL), BLOBs — backed up by the real Worker's D1 job (workerd), comes
 * back identical through both D1 targets: a binding (what `local:` uses) and a SQL file
 * executed the way `wrangler d1 execute --file` executes it (wrangler's own statement
 * splitter, one D1 batch).
 */
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openArtifact, readLines } from "../../lib/backup/artifacts";
import { DEFAULT_LIMITS } from "../../lib/backup/plan";
import { quoteIdent } from "../../lib/backup/d1Dump";
import { digestD1 } from "../../lib/drill/digests";
import { importMasterKey, type MasterKey } from "../../lib/format/keys";
import { localPlan } from "../../lib/local/localPlan";
import { LocalWorker } from "../../lib/local/localWorker";
import { bindingSink, restoreD1, type D1Like } from "../../lib/restore/d1Restore";
import { sqlFileSink } from "../../lib/restore/d1ScriptSink";
import { resolveBackup } from "../../lib/restore/resolve";
import type { BackupStorage } from "../../lib/storage/types";
import { propertyParams } from "../helpers/propertySeed";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { KEY } from "./d1Store";

// wrangler's own splitter, the one `wrangler d1 execute --local --file` uses.
const { unstable_splitSqlQuery: splitSql } = require("wrangler") as { unstable_splitSqlQuery: (sql: string) => string[] };

const ASSET = { kind: "d1" as const, name: "prop-db" };
let w: LocalWorker;
let store: BackupStorage;
let master: MasterKey;
let previous: string | null = null;
const dir = mkdtempSync(path.join(tmpdir(), "drposture-d1prop-"));

type Db = D1Like & { prepare(sql: string): { bind(...v: unknown[]): { all(): Promise<{ results: unknown[] }>; run(): Promise<unknown> } } };
const db = async (b: string) => (await w.mf.getD1Database(b)) as unknown as Db;

beforeAll(async () => {
  const plan = localPlan({
    stack: "d1-property",
    assets: [{ ...ASSET, sourceId: "00000000-0000-4000-8000-00000000d1f0", binding: "D1_SRC", rpoMinutes: 60, cron: "0 * * * *", priority: 1 }],
    destinations: { r2: { bucketName: "d1-property-backups" } },
    limits: { ...DEFAULT_LIMITS },
  });
  w = await LocalWorker.start({ plan, keyHex: KEY, alertWebhookUrl: "http://127.0.0.1:9/nowhere", extra: { d1: ["D1_BOUND", "D1_FILE"] } });
  store = await w.backupStorage();
  master = await importMasterKey(KEY);
}, 120_000);

afterAll(async () => {
  await w?.dispose();
});

/** Drops every user object (FTS shadow tables go with their table). */
async function empty(b: string): Promise<void> {
  const d = await db(b);
  const objs = (await d.prepare("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view', 'trigger') AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").bind().all()).results as Array<{ type: string; name: string }>;
  const virtual = new Set(((await d.prepare("SELECT name FROM pragma_table_list WHERE type = 'shadow'").bind().all().catch(() => ({ results: [] }))).results as Array<{ name: string }>).map((x) => x.name));
  for (const o of objs.filter((x) => !virtual.has(x.name))) await d.batch([d.prepare("PRAGMA defer_foreign_keys = ON"), d.prepare(`DROP ${o.type.toUpperCase()} IF EXISTS ${quoteIdent(o.name)}`)]).catch(() => undefined);
}

// ---- generators ----
const NAME_PARTS = ["t", "My Table", 'we"ird', "it's", "ünï名", "a b\"c'd", "select", "🎉 x", "tab\tname"];
const name = (i: number) => fc.constantFrom(...NAME_PARTS).map((p) => `${p} ${i}`);

type Value = null | { i: bigint } | { f: number } | { s: string } | { b: Uint8Array };
const SPECIAL = ["\0", "\n", "\r", "\t", "\x01", "\x1f", "\x7f", "'", '"', ";", "--", "/*", "\\", "é", "名", "🎉", "\u2028"];
const text = fc.string({ unit: fc.oneof(fc.constantFrom(...SPECIAL), fc.constantFrom("a", "b", " ", "z")), maxLength: 12 });
const value: fc.Arbitrary<Value> = fc.oneof(
  fc.constant(null),
  fc.oneof(fc.constantFrom(-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 0n), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })).map((i) => ({ i })),
  fc.oneof(fc.constantFrom(Infinity, -Infinity, NaN, 0.1, 1e308, -5e-324, 2 ** 53), fc.double()).map((f) => ({ f })),
  text.map((s) => ({ s })),
  fc.uint8Array({ maxLength: 16 }).map((b) => ({ b })),
);

interface Table {
  name: string;
  key: "rowid" | "intpk" | "autoinc" | "without-rowid";
  columns: Array<{ name: string; type: string }>;
  rows: Value[][];
}
const TYPES = ["", "INTEGER", "TEXT", "REAL", "BLOB", "NUMERIC", "ANY"];
const table = (i: number): fc.Arbitrary<Table> =>
  fc
    .record({
      name: name(i),
      key: fc.constantFrom("rowid" as const, "intpk" as const, "autoinc" as const, "without-rowid" as const),
      columns: fc.array(fc.record({ part: fc.constantFrom(...NAME_PARTS), type: fc.constantFrom(...TYPES) }), { minLength: 1, maxLength: 3 }),
      rows: fc.array(fc.array(value, { minLength: 4, maxLength: 4 }), { maxLength: 8 }),
    })
    .map((r) => ({ name: r.name, key: r.key, columns: r.columns.map((c, j) => ({ name: `${c.part} c${j}`, type: c.type })), rows: r.rows }));

const schema = fc.record({ tables: fc.tuple(table(1), fc.option(table(2), { nil: undefined })), fts: fc.option(fc.array(fc.tuple(text, text), { maxLength: 4 }), { nil: undefined }) });

function expr(v: Value): { sql: string; param?: unknown } {
  if (v === null) return { sql: "NULL" };
  if ("i" in v) return { sql: "CAST(? AS INTEGER)", param: String(v.i) };
  if ("f" in v) return Number.isNaN(v.f) ? { sql: "(9e999 - 9e999)" } : { sql: "CAST(? AS REAL)", param: v.f === Infinity ? "9e999" : v.f === -Infinity ? "-9e999" : v.f.toPrecision(17) };
  if ("s" in v) return { sql: "?", param: v.s };
  return { sql: "?", param: v.b };
}

/** Creates the tables and inserts the rows; rows whose key collides are dropped by OR IGNORE. */
interface Seed {
  tables: [Table, Table | undefined];
  fts: Array<[string, string]> | undefined;
}

async function seed(s: Seed): Promise<void> {
  const d = await db("D1_SRC");
  for (const t of s.tables.filter((x): x is Table => !!x)) {
    const cols = t.columns.map((c) => `${quoteIdent(c.name)}${c.type ? ` ${c.type}` : ""}`);
    const key = t.key === "intpk" ? ["id INTEGER PRIMARY KEY"] : t.key === "autoinc" ? ["id INTEGER PRIMARY KEY AUTOINCREMENT"] : t.key === "without-rowid" ? ["k TEXT NOT NULL PRIMARY KEY"] : [];
    await d.prepare(`CREATE TABLE ${quoteIdent(t.name)} (${[...key, ...cols].join(", ")})${t.key === "without-rowid" ? " WITHOUT ROWID" : ""}`).bind().all();
    for (const [n, row] of t.rows.entries()) {
      const vals = t.columns.map((_, j) => expr(row[j] ?? null));
      const keyVal = t.key === "without-rowid" ? [{ sql: "?", param: `k${n}\0${n % 2 ? "'" : ""}` }] : t.key === "rowid" ? [] : [{ sql: "?", param: n * 1000 + 1 }];
      const names = [...(t.key === "without-rowid" ? ["k"] : t.key === "rowid" ? [] : ["id"]), ...t.columns.map((c) => c.name)];
      const all = [...keyVal, ...vals];
      await d
        .prepare(`INSERT OR IGNORE INTO ${quoteIdent(t.name)} (${names.map(quoteIdent).join(", ")}) VALUES (${all.map((e) => e.sql).join(", ")})`)
        .bind(...all.filter((e) => "param" in e).map((e) => e.param))
        .all();
    }
  }
  if (s.fts) {
    await d.prepare(`CREATE VIRTUAL TABLE ${quoteIdent("search docs")} USING fts5(title, "bo dy")`).bind().all();
    for (const [a, b] of s.fts) await d.prepare(`INSERT INTO ${quoteIdent("search docs")} (title, "bo dy") VALUES (?, ?)`).bind(a, b).all();
  }
}

async function* dumpLines() {
  const r = await resolveBackup(store, master, ASSET, "latest");
  for (const a of r.manifest.artifacts.filter((x) => x.role === "d1-rows")) yield* readLines(await openArtifact(store, master, a));
}

it("random D1 databases round-trip through a Worker backup into a binding and into a SQL file run by wrangler's executor", async () => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(schema, async (s) => {
      for (const b of ["D1_SRC", "D1_BOUND", "D1_FILE"]) await empty(b);
      await seed(s);
      await w.runCron("0 * * * *");
      previous = (await w.waitForBackup(ASSET, previous)).latest.backupId;
      const source = await digestD1(await db("D1_SRC"));

      const report = await restoreD1(dumpLines(), bindingSink(await db("D1_BOUND"), "D1_BOUND"), { mode: "fail", validateOnly: false });
      expect(await digestD1(await db("D1_BOUND"))).toEqual(source);
      expect(report.inTarget).toEqual(source.details);

      const file = path.join(dir, `run-${++run}.sql`);
      await restoreD1(dumpLines(), sqlFileSink(file, "fail"), { mode: "fail", validateOnly: false });
      const script = readFileSync(file);
      expect(script.includes(0)).toBe(false);
      const target = await db("D1_FILE");
      await target.batch(splitSql(script.toString("utf8")).map((q) => target.prepare(q)));
      expect(await digestD1(target)).toEqual(source);
    }),
    propertyParams(7),
  );
}, 240_000);
