/**
 * D1 restore from a logical dump (docs/FORMAT.md, d1-rows): tables first, then rows, then
 * indexes, views and triggers (so triggers do not fire on restored rows), then AUTOINCREMENT
 * counters and FTS rebuilds. Values are bound with the type they had: integers and reals are
 * cast from their exact text, BLOBs bound as bytes.
 * Into a live table (skip, overwrite) rows are upserted, never deleted and re-inserted, and the
 * table's triggers are paused (d1Guards.ts). The report counts rows actually written and, for a
 * live target, what each restored table holds afterwards.
 * Sinks (d1Sinks.ts): a D1 binding, or a SQL file for `wrangler d1 execute --remote --file`.
 */
import type { DumpValue, SchemaObject } from "../backup/d1Dump";
import { RestoreRefusedError, type RestoreOptions, type RestoreReport } from "./modes";
import { chosenTables, cascadeCondition, pauseTriggers, referencingTables, refuseCascade, scriptGuards, type TriggerPause } from "./d1Guards";
import type { D1Sink } from "./d1Sinks";
import { insertStmt, MAX_PARAMS, plain, sequenceStmts, type Stmt, type TableShape } from "./d1Statements";
import { paramsOf } from "./d1Values";

export { bindingSink, type D1Like, type D1Sink } from "./d1Sinks";
export { insertStmt, type Stmt } from "./d1Statements";

/** Statements per D1 batch. */
const BATCH = 100;
const INTERNAL = /^(sqlite_|_cf_)/;

export interface D1RestoreReport extends RestoreReport {
  /** Rows each restored table holds after the restore (live targets only). */
  readonly inTarget?: Record<string, number>;
}

interface TableLine extends TableShape {
  t: "table";
  dataFrom: "table" | "external-content" | "contentless";
}

function ifNotExists(o: SchemaObject): string {
  return o.sql.replace(/^CREATE\s+(UNIQUE\s+)?(TEMP\s+|TEMPORARY\s+)?(VIRTUAL\s+)?(TABLE|INDEX|VIEW|TRIGGER)\s+(?!IF\s+NOT\s+EXISTS)/i, (m) => `${m}IF NOT EXISTS `);
}

const createSql = (o: SchemaObject, opts: RestoreOptions) => plain(opts.mode === "fail" || opts.mode === "clear" ? o.sql : ifNotExists(o));

/** After the rows: paused triggers back, indexes, views and triggers, counters, FTS rebuilds. */
function afterRows(ddl: SchemaObject[], objects: SchemaObject[], sequences: Array<[string, string]>, o: RestoreOptions, wanted: (t: string) => boolean, pause: TriggerPause): Stmt[] {
  const out = [...pause.after, ...ddl.map((t) => createSql(t, o))];
  for (const [name, seq] of sequences) if (wanted(name)) out.push(...sequenceStmts(name, seq));
  for (const t of objects.filter((x) => x.type === "table" && /USING\s+fts\d/i.test(x.sql) && /content\s*=\s*'[^']+'/i.test(x.sql) && wanted(x.name))) {
    out.push(plain(`INSERT INTO "${t.name.replace(/"/g, '""')}"("${t.name.replace(/"/g, '""')}") VALUES('rebuild')`));
  }
  return out;
}

/** Restores a dump into a sink; on success the sink is closed, on failure aborted. */
export async function restoreD1(lines: AsyncIterable<unknown>, sink: D1Sink, o: RestoreOptions): Promise<D1RestoreReport> {
  const run = new D1Run(sink, o);
  try {
    const report = await run.consume(lines);
    await sink.close?.();
    return report;
  } catch (err) {
    await run.resumeTriggers();
    await sink.abort?.();
    throw err;
  }
}

class D1Run {
  private objects: SchemaObject[] = [];
  private chosen: Set<string> | null = null;
  private current: TableLine | null = null;
  private pending: Stmt[] = [];
  private rows: Array<readonly DumpValue[]> = [];
  private rowParams = 0;
  private sent: Record<string, number> = {};
  private before: Record<string, number> = {};
  private pause: TriggerPause = { before: [], after: [], names: [] };
  private paused: (() => void) | null = null;
  /** Tables the target held before the restore. */
  private present = new Set<string>();
  /** Rows of the backup seen so far (the item index of RestoreOptions.window). */
  private seen = 0;
  /** Where the next part begins, once the window's budget is spent. */
  private next: number | undefined;
  /** A later part of a windowed restore: the target was prepared by the first. */
  private readonly resuming: boolean;

  constructor(
    private readonly sink: D1Sink,
    private readonly o: RestoreOptions,
  ) {
    this.resuming = (o.window?.skip ?? 0) > 0;
    // Resumed at a later artifact: the caller gives the schema and table lines before it.
    this.seen = o.window?.from?.first ?? 0;
  }

  private wanted = (table: string) => !this.chosen || this.chosen.has(table);
  private ddl = (types: string[]) => this.objects.filter((x) => types.includes(x.type) && this.wanted(x.tbl_name));

  async consume(lines: AsyncIterable<unknown>): Promise<D1RestoreReport> {
    let total = 0;
    for await (const raw of lines) {
      const line = raw as Record<string, unknown>;
      if (line.t === "schema") await this.start(line.objects as SchemaObject[]);
      else if (line.t === "table") await this.table(line as unknown as TableLine);
      else if (line.r && this.current && this.current.dataFrom === "table") {
        const index = this.seen++;
        if (index < (this.o.window?.skip ?? 0) || !this.wanted(this.current.name)) continue;
        if (this.o.window?.stop?.()) {
          this.next = index;
          break;
        }
        await this.row(line.r as DumpValue[]);
        if (++total % 500 === 0) this.o.onProgress?.(total);
      } else if (line.t === "sequence") {
        await this.flush();
        for (const stmt of afterRows(this.ddl(["index", "view", "trigger"]), this.objects, line.rows as Array<[string, string]>, this.o, this.wanted, this.pause)) await this.queue(stmt);
        await this.flush();
        this.paused?.();
        this.paused = null;
      } else if (line.t === "end") await this.flush();
    }
    await this.flush();
    this.o.onProgress?.(total);
    return this.report(total);
  }

  private async start(objects: SchemaObject[]): Promise<void> {
    this.objects = objects;
    this.chosen = chosenTables(this.o.only, objects);
    for (const t of objects.filter((x) => x.type === "table" && this.wanted(x.name))) this.sent[t.name] = 0;
    if (this.resuming) return;
    await this.prepareTarget();
    if (this.o.validateOnly) return;
    const inspect = this.sink.inspect;
    if (inspect) this.present = new Set((await inspect.objects()).filter((x) => x.type === "table").map((x) => x.name));
    if (inspect && this.o.mode === "skip") for (const t of Object.keys(this.sent)) this.before[t] = this.present.has(t) ? await inspect.count(t) : 0;
    this.pause = await pauseTriggers(this.sink, new Set(Object.keys(this.sent)), objects, this.o);
    for (const s of this.pause.before) await this.queue(s);
    if (this.pause.after.length) this.paused = this.o.registerUndo?.(`recreate the paused triggers of ${this.sink.label}`, () => this.sink.execute(this.pause.after)) ?? (() => undefined);
    for (const t of this.ddl(["table"])) await this.queue(createSql(t, this.o));
    await this.flush();
  }

  private async table(t: TableLine): Promise<void> {
    this.flushRows();
    // Upserts name the key the target's table has (older dumps do not carry it).
    const inspect = this.sink.inspect;
    const live = inspect && this.o.mode === "overwrite" && !t.virtual && this.wanted(t.name) && this.present.has(t.name);
    this.current = live ? { ...t, pkColumns: await inspect.primaryKey(t.name) } : t;
  }

  private async row(row: DumpValue[]): Promise<void> {
    if (this.rows.length && this.rowParams + paramsOf(row) > MAX_PARAMS) {
      this.flushRows();
      if (this.pending.length >= BATCH) await this.flush();
    }
    this.rows.push(row);
    this.rowParams += paramsOf(row);
    const name = (this.current as TableLine).name;
    this.sent[name] = (this.sent[name] ?? 0) + 1;
    this.o.onD1Row?.(name, row);
  }

  private flushRows(): void {
    if (this.rows.length && this.current) this.pending.push(insertStmt(this.current, this.rows, this.o.mode));
    this.rows = [];
    this.rowParams = 0;
  }

  private async flush(): Promise<void> {
    this.flushRows();
    if (this.pending.length && !this.o.validateOnly) await this.sink.execute([plain("PRAGMA defer_foreign_keys = ON"), ...this.pending]);
    this.pending = [];
  }

  private async queue(s: Stmt): Promise<void> {
    this.pending.push(s);
    if (this.pending.length >= BATCH) await this.flush();
  }

  /** After a failure: the target's paused triggers are recreated (best effort, said if not). */
  async resumeTriggers(): Promise<void> {
    if (!this.paused) return;
    this.paused();
    this.paused = null;
    try {
      await this.sink.execute(this.pause.after);
    } catch (err) {
      throw new RestoreRefusedError(`the restore failed and the paused triggers ${this.pause.names.join(", ")} of ${this.sink.label} could not be recreated (${(err as Error).message}); recreate them from the backup's schema`);
    }
  }

  /** Applies the mode to the target before anything is written. */
  private async prepareTarget(): Promise<void> {
    const { sink, o, objects, chosen } = this;
    const present = sink.inspect ? (await sink.inspect.objects()).filter((x) => !INTERNAL.test(x.name)) : [];
    const mine = new Set(objects.filter((x) => this.wanted(x.tbl_name)).map((x) => x.name));
    const clash = chosen ? present.filter((x) => mine.has(x.name)) : present;
    if (o.mode === "fail" && clash.length) {
      throw new RestoreRefusedError(
        `${sink.label} already holds ${clash.length} object(s) (${clash.slice(0, 5).map((x) => `${x.type} ${x.name}`).join(", ")}${clash.length > 5 ? ", ..." : ""}); ` +
          "refusing to overwrite. Restore into an empty database, or choose --mode skip, overwrite or clear.",
      );
    }
    if (o.mode !== "clear") return;
    if (chosen) refuseCascade(await referencingTables(sink, chosen, objects), chosen, sink.label);
    if (o.validateOnly) return;
    const order = ["trigger", "view", "index", "table"];
    // What is there, plus (for sinks that cannot look, like a SQL file) what the backup creates.
    const names = new Set(clash.map((x) => x.name));
    const ours = objects.filter((x) => this.wanted(x.tbl_name) && !names.has(x.name));
    const drops = [...clash, ...ours]
      .sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type))
      .filter((x) => order.includes(x.type))
      .map((x) => plain(`DROP ${x.type.toUpperCase()} IF EXISTS "${x.name.replace(/"/g, '""')}"`));
    const guards = chosen && !sink.inspect ? scriptGuards([{ reason: `tables of the target that are not restored reference ${[...chosen].join(", ")}; clearing would delete their rows (name them in --only)`, condition: cascadeCondition(chosen) }]) : [];
    if (drops.length) await sink.execute([plain("PRAGMA defer_foreign_keys = ON"), ...guards, ...drops]);
  }

  private async report(total: number): Promise<D1RestoreReport> {
    if (this.o.window) return { restored: total, skipped: 0, details: this.sent, validateOnly: this.o.validateOnly, ...(this.next !== undefined ? { next: this.next } : {}) };
    const inspect = this.sink.inspect;
    const live = inspect && !this.o.validateOnly;
    const inTarget: Record<string, number> = {};
    if (live) for (const t of Object.keys(this.sent)) inTarget[t] = await inspect.count(t);
    // Into live tables, skip writes only what is missing: what was written is what was added.
    const details: Record<string, number> = {};
    for (const [t, n] of Object.entries(this.sent)) details[t] = live && this.o.mode === "skip" ? Math.min(n, Math.max(0, (inTarget[t] ?? 0) - (this.before[t] ?? 0))) : n;
    const restored = Object.values(details).reduce((a, b) => a + b, 0);
    return { restored, skipped: total - restored, details, validateOnly: this.o.validateOnly, ...(live ? { inTarget } : {}) };
  }
}
