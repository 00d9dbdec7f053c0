/**
 * Test support for the D1 restore suites: real backups, made by the backup Worker bundle in
 * workerd (LocalWorker) from D1 databases seeded with the given SQL, copied into a directory
 * store the CLI reads; `wrangler d1 execute --local --file` as an operator runs it; and local
 * D1 targets (`local:DIR#ID`, wrangler dev's layout) opened through Miniflare.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { DEFAULT_LIMITS } from "../../lib/backup/plan";
import { openLocalBindings } from "../../lib/local/localBindings";
import { localPlan } from "../../lib/local/localPlan";
import { LocalWorker } from "../../lib/local/localWorker";
import { DirStorage } from "../../lib/storage/dirStorage";
import { ROOT } from "../helpers/program";

export const KEY = "7e".repeat(32);

export interface D1Store {
  /** A scratch directory for the test's targets. */
  readonly base: string;
  readonly store: string;
  readonly keyFile: string;
}

/** Backs up one D1 database per entry (asset name → seed SQL) with the real Worker. */
export async function backupD1Store(dbs: Record<string, readonly string[]>): Promise<D1Store> {
  const names = Object.keys(dbs);
  const plan = localPlan({
    stack: "d1-restore-test",
    assets: names.map((name, i) => ({ kind: "d1" as const, name, sourceId: `00000000-0000-4000-8000-${String(i + 1).padStart(12, "0")}`, binding: `D1_SRC_${i}`, rpoMinutes: 60, cron: "0 * * * *", priority: i + 1 })),
    destinations: { r2: { bucketName: "d1-restore-test-backups" } },
    limits: { ...DEFAULT_LIMITS },
  });
  const w = await LocalWorker.start({ plan, keyHex: KEY, alertWebhookUrl: "http://127.0.0.1:9/nowhere" });
  try {
    for (const [i, name] of names.entries()) {
      const db = await w.mf.getD1Database(`D1_SRC_${i}`);
      const stmts = dbs[name] ?? [];
      for (let j = 0; j < stmts.length; j += 100) await db.batch(stmts.slice(j, j + 100).map((s) => db.prepare(s)));
    }
    await w.runCron("0 * * * *");
    for (const name of names) await w.waitForBackup({ kind: "d1", name }, null);
    const base = mkdtempSync(path.join(tmpdir(), "drposture-d1-"));
    const dir = new DirStorage(path.join(base, "store"));
    const src = await w.backupStorage();
    for await (const o of src.list("")) {
      const body = await src.get(o.key);
      if (body) await dir.put(o.key, new Uint8Array(await new Response(body).arrayBuffer()));
    }
    const keyFile = path.join(base, "key.hex");
    writeFileSync(keyFile, KEY);
    return { base, store: path.join(base, "store"), keyFile };
  } finally {
    await w.dispose();
  }
}

type LocalD1 = Awaited<ReturnType<Awaited<ReturnType<typeof openLocalBindings>>["d1"]>>;

/** Opens a `local:DIR#ID` target, runs `fn` on its D1 binding, closes it (the CLI opens it next). */
export async function withLocalD1<T>(dir: string, id: string, fn: (db: LocalD1) => Promise<T>): Promise<T> {
  const b = await openLocalBindings(dir, "d1", id);
  try {
    return await fn(await b.d1());
  } finally {
    await b.dispose();
  }
}

/** Rows of a query on a local target. */
export const query = (dir: string, id: string, sql: string) => withLocalD1(dir, id, async (db) => (await db.prepare(sql).all()).results as Array<Record<string, unknown>>);

const exec = promisify(execFile);

/** `wrangler d1 execute DB --local --file FILE --persist-to DIR`, as an operator rehearses it. */
export async function wranglerExecuteFile(dir: string, id: string, file: string): Promise<{ code: number; out: string }> {
  const cfg = path.join(dir, "wrangler-d1-test");
  mkdirSync(cfg, { recursive: true });
  writeFileSync(path.join(cfg, "wrangler.json"), JSON.stringify({ name: "restore-target", compatibility_date: "2026-04-01", d1_databases: [{ binding: "DB", database_name: "restored", database_id: id }] }));
  try {
    const r = await exec(process.execPath, [path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js"), "d1", "execute", "restored", "--local", "--file", file, "--persist-to", dir, "--yes"], {
      cwd: cfg,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" },
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: typeof e.code === "number" ? e.code : 1, out: `${e.stdout}${e.stderr}` };
  }
}
