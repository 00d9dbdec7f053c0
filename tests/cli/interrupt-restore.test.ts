/**
 * Ctrl-C during `restore postgres` and `backup postgres` (issue #9 items 11 and 14), with a real
 * pg_restore / pg_dump caught mid-way: another session holds a lock they need, so they wait,
 * connected, with the decrypted dump on disk. While they wait: the password is on no command
 * line. On SIGINT/SIGTERM: they are stopped (their server sessions too), the decrypted dump is
 * gone, no manifest is written, exit 130.
 */
import { Client } from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { listBackups } from "../../lib/backup/catalog";
import { DirStorage } from "../../lib/storage/dirStorage";
import { cmdline, filesBelow, isAlive, startCli, type Run } from "../helpers/interruptible";
import { PASSWORD, startPgBackupFixture, type PgBackupFixture } from "../helpers/pgBackupFixture";
import { ROOT } from "../helpers/program";

let f: PgBackupFixture;
const runs: Run[] = [];

beforeAll(async () => {
  f = await startPgBackupFixture();
  await f.createDb("busy");
  const r = await f.restore(["--to", f.url("busy")]);
  if (r.code !== 0) throw new Error(r.stderr);
}, 120_000);

afterEach(async () => {
  for (const r of runs.splice(0)) await r.reap();
});

afterAll(async () => {
  await f?.stop();
});

/** Holds an ACCESS EXCLUSIVE lock on a table until released. */
async function lockTable(db: string, table: string): Promise<{ release(): Promise<void> }> {
  const c = new Client({ connectionString: f.pg.url(db) });
  await c.connect();
  await c.query("BEGIN");
  await c.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  return {
    release: async () => {
      await c.query("ROLLBACK");
      await c.end();
    },
  };
}

/** Sessions of a tool (its fallback application_name) in a database. */
const sessions = async (db: string, app: string) => Number((await f.query<{ n: string }>("postgres", `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '${db}' AND application_name LIKE 'drposture ${app} %'`))[0]?.n);

async function until(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The run's processes of one tool, once one of its sessions waits for the lock. */
async function blockedTool(run: Run, db: string, tool: "pg_restore" | "pg_dump") {
  await until(`${tool} to wait for the lock`, async () => (await f.query<{ n: string }>("postgres", `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '${db}' AND application_name LIKE 'drposture ${tool} %' AND wait_event_type = 'Lock'`))[0]?.n !== "0");
  const procs = run.processes().filter((p) => p.cmd.split(" ")[0]?.endsWith(`/${tool}`));
  expect(procs.length).toBeGreaterThan(0);
  return procs;
}

describe("interrupting restore postgres", () => {
  // With one job pg_restore does not cancel its statement when signalled: drposture ends the session.
  it.each(["2", "1"])("--jobs %s, SIGINT while pg_restore runs: pg_restore and its sessions stop, the decrypted dump is deleted, exit 130; the password was never in argv", async (jobs) => {
    const lock = await lockTable("busy", "customers");
    try {
      const run = startCli(f.restoreArgs(["--to", f.url("busy"), "--mode", "clear", "--jobs", jobs]));
      runs.push(run);
      const tools = await blockedTool(run, "busy", "pg_restore");
      // Mid-way for real: the decrypted dump is on disk, pg_restore is connected.
      expect(filesBelow(run.tmp).filter((x) => x.endsWith("dump.pgc"))).toHaveLength(1);
      for (const p of tools) {
        expect(cmdline(p.pid)).toContain(`--dbname=postgres://pwuser@127.0.0.1:${f.pg.port}/busy`);
        expect(cmdline(p.pid)).not.toContain(PASSWORD);
      }
      const sent = Date.now();
      run.child.kill("SIGINT");
      const exit = await run.exited;
      expect(exit.code).toBe(130);
      expect((exit.at - sent) / 1000).toBeLessThan(10);
      expect(run.stderr()).not.toMatch(/^\s+at /m);
      expect(tools.filter(isAlive)).toEqual([]);
      expect(filesBelow(run.tmp)).toEqual([]);
      // pg_restore cancelled its statement on the way out: no session of it waits on.
      await until("pg_restore's sessions to end", async () => (await sessions("busy", "pg_restore")) === 0, 5000);
    } finally {
      await lock.release();
    }
  }, 120_000);
});

describe("interrupting backup postgres", () => {
  it("SIGTERM while pg_dump runs: pg_dump stops, no backup is committed, exit 130 (with --json, an error document); the password was never in argv", async () => {
    const store = new DirStorage(f.store);
    const before = (await listBackups(store, { kind: "neon", name: "app" })).length;
    const lock = await lockTable("src", "orders");
    try {
      const run = startCli(["backup", "postgres", "--url", f.url("src"), "--store", f.store, "--key-file", f.keyFile, "--asset", "app", "--stack", "prod", "--cwd", ROOT, "--json"]);
      runs.push(run);
      const tools = await blockedTool(run, "src", "pg_dump");
      for (const p of tools) expect(cmdline(p.pid)).not.toContain(PASSWORD);
      run.child.kill("SIGTERM");
      const exit = await run.exited;
      expect(exit.code).toBe(130);
      // --json: the interrupt is the document, as every failure is.
      expect(JSON.parse(run.stdout())).toEqual({ error: { code: "interrupted", message: "SIGTERM: stopped child processes and removed temporary data" } });
      expect(tools.filter(isAlive)).toEqual([]);
      await until("pg_dump's session to end", async () => (await sessions("src", "pg_dump")) === 0, 5000);
      expect((await listBackups(store, { kind: "neon", name: "app" })).length).toBe(before);
      expect(filesBelow(run.tmp)).toEqual([]);
    } finally {
      await lock.release();
    }
  }, 120_000);
});
