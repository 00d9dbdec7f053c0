/**
 * `drposture restore d1` cannot hurt the data it does not restore (issue #9 items 1, 3, 4, 8,
 * 14), run as an operator runs it: the CLI, a directory store holding real backups made by the
 * backup Worker in workerd, local D1 targets (wrangler dev's layout) and SQL files executed by
 * `wrangler d1 execute --local --file`.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { drposture } from "../helpers/cli";
import { backupD1Store, query, withLocalD1, wranglerExecuteFile, type D1Store } from "./d1Store";

const SHOP = [
  "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT)",
  "CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, total INTEGER)",
  "CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL)",
  "CREATE TRIGGER orders_audit AFTER INSERT ON orders BEGIN INSERT INTO audit_log (event) VALUES ('order ' || NEW.id); END",
  "CREATE TRIGGER users_audit AFTER UPDATE ON users BEGIN INSERT INTO audit_log (event) VALUES ('user ' || NEW.id); END",
  "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)",
  "INSERT INTO users (id, email, name) VALUES (1, 'ada@example.com', 'Ada'), (2, 'bob@example.com', 'Bob'), (3, 'cy@example.com', 'Cy')",
  "INSERT INTO orders (id, user_id, total) VALUES (1, 1, 100), (2, 1, 200), (3, 2, 300), (4, 2, 400), (5, 3, 500), (6, 3, 600)",
  "INSERT INTO notes (id, body) VALUES (1, 'a' || char(0) || 'b'), (2, 'line1' || char(10) || 'line2' || char(13) || char(9) || char(1) || char(127)), (3, 'plain ''quoted'' – ünï 🎉'), (4, char(0))",
];
// Enough rows for several encrypted chunks, so a flipped byte near the end fails the restore midway.
const BULK = ["CREATE TABLE events (id INTEGER PRIMARY KEY, payload TEXT)", ...Array.from({ length: 80 }, (_, b) => `INSERT INTO events (payload) SELECT printf('%0200d', value) FROM json_each('[${Array.from({ length: 100 }, (_, i) => b * 100 + i).join(",")}]')`)];
const SHOP_ROWS = 3 + 6 + 6 + 4;

let s: D1Store;
let n = 0;
const restore = (args: string[]) => drposture(["restore", "d1", "--store", s.store, "--key-file", s.keyFile, ...args]);
/** A fresh local target; `copy` restores the backup into it first (the live database). */
async function target(copy = true): Promise<{ dir: string; id: string; to: string }> {
  const dir = path.join(s.base, `target-${++n}`);
  const t = { dir, id: `db-${n}`, to: `local:${dir}#db-${n}` };
  if (copy) expect((await restore(["--asset", "shop", "--to", t.to])).code).toBe(0);
  return t;
}
const count = async (t: { dir: string; id: string }, table: string) => Number((await query(t.dir, t.id, `SELECT count(*) AS n FROM ${table}`))[0]?.n);
const all = (t: { dir: string; id: string }, sql: string) => query(t.dir, t.id, sql);
const reportOf = (stdout: string) => JSON.parse(stdout) as { restored: number; skipped: number; details: Record<string, number>; inTarget?: Record<string, number> };
/** Everything a target holds, for "nothing was written". */
const snapshot = (t: { dir: string; id: string }) =>
  withLocalD1(t.dir, t.id, async (db) => {
    const objs = (await db.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE '_cf_%' ORDER BY name").all()).results as Array<{ type: string; name: string }>;
    const rows: Record<string, unknown> = {};
    for (const o of objs.filter((x) => x.type === "table" && !x.name.startsWith("sqlite_"))) rows[o.name] = (await db.prepare(`SELECT * FROM "${o.name}" ORDER BY rowid`).all()).results;
    return { objs, rows };
  });

beforeAll(async () => {
  s = await backupD1Store({ shop: SHOP, bulk: BULK });
}, 180_000);

describe("item 1: --only and overwrite never cascade", () => {
  it("--only users --mode overwrite updates users in place; orders (and a newer order) survive", async () => {
    const t = await target();
    await withLocalD1(t.dir, t.id, async (db) => {
      await db.batch([db.prepare("INSERT INTO orders (id, user_id, total) VALUES (7, 1, 700)"), db.prepare("UPDATE users SET name = 'changed' WHERE id = 1")]);
    });
    const r = await restore(["--asset", "shop", "--to", t.to, "--only", "users", "--mode", "overwrite", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(await all(t, "SELECT id, name FROM users ORDER BY id")).toEqual([{ id: 1, name: "Ada" }, { id: 2, name: "Bob" }, { id: 3, name: "Cy" }]);
    expect(await all(t, "SELECT id FROM orders ORDER BY id")).toEqual([1, 2, 3, 4, 5, 6, 7].map((id) => ({ id })));
    expect(reportOf(r.stdout)).toMatchObject({ restored: 3, details: { users: 3 }, inTarget: { users: 3 } });
  });

  it("whole-database --mode overwrite keeps rows the backup does not have (no cascade through users)", async () => {
    const t = await target();
    await withLocalD1(t.dir, t.id, (db) => db.prepare("INSERT INTO orders (id, user_id, total) VALUES (7, 1, 700)").run());
    const r = await restore(["--asset", "shop", "--to", t.to, "--mode", "overwrite", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(await count(t, "orders")).toBe(7);
    expect(reportOf(r.stdout).inTarget?.orders).toBe(7);
  });

  it("--only users --mode clear is refused while orders references users, and writes nothing", async () => {
    const t = await target();
    const before = await snapshot(t);
    const r = await restore(["--asset", "shop", "--to", t.to, "--only", "users", "--mode", "clear"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/orders .*reference.*--only users,orders/);
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(/^drposture: /);
    expect(await snapshot(t)).toEqual(before);
  });

  it("--only users,orders --mode clear replaces both (a comma list names the referencing tables)", async () => {
    const t = await target();
    await withLocalD1(t.dir, t.id, (db) => db.prepare("INSERT INTO orders (id, user_id, total) VALUES (7, 1, 700)").run());
    const r = await restore(["--asset", "shop", "--to", t.to, "--only", "users,orders", "--mode", "clear", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(await count(t, "orders")).toBe(6);
    // 6 + the live order's; rows were written before the triggers were recreated: no new ones.
    expect(await count(t, "audit_log")).toBe(7);
    expect(reportOf(r.stdout).details).toEqual({ users: 3, orders: 6 });
  });

  it("into a SQL file, --only users --mode clear is refused by the backup's own foreign keys", async () => {
    const file = path.join(s.base, "clear-users.sql");
    const r = await restore(["--asset", "shop", "--to", `file:${file}`, "--only", "users", "--mode", "clear"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/orders .*reference/);
    expect(existsSync(file)).toBe(false);
  });
});

describe("a target that refuses the backup's rows", () => {
  it("overwrite where another row holds a UNIQUE value: exit 1 naming the constraint, never a deleted row; triggers are back", async () => {
    const t = await target();
    const triggers = await all(t, "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name");
    await withLocalD1(t.dir, t.id, async (db) => {
      await db.batch([db.prepare("UPDATE users SET email = 'ada@old.example.com' WHERE id = 1"), db.prepare("INSERT INTO users (id, email, name) VALUES (9, 'ada@example.com', 'Not Ada')")]);
    });
    const r = await restore(["--asset", "shop", "--to", t.to, "--only", "users", "--mode", "overwrite"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^drposture: local:.*D1 refused a batch of the restore: UNIQUE constraint failed: users\.email/m);
    expect(r.stderr).not.toMatch(/unexpected error|^\s+at /m);
    // INSERT OR REPLACE would have deleted user 9 (and its orders) to make room.
    expect(await all(t, "SELECT id, email FROM users WHERE id = 9")).toEqual([{ id: 9, email: "ada@example.com" }]);
    expect(await all(t, "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")).toEqual(triggers);
  });
});

describe("item 3: restored rows do not fire the target's triggers", () => {
  it("--mode overwrite into a live copy leaves audit_log as the backup has it, triggers intact, report = target", async () => {
    const t = await target();
    const triggers = await all(t, "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name");
    const r = await restore(["--asset", "shop", "--to", t.to, "--mode", "overwrite", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(await count(t, "audit_log")).toBe(6);
    expect(await all(t, "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")).toEqual(triggers);
    const rep = reportOf(r.stdout);
    for (const table of ["users", "orders", "audit_log", "notes"]) expect(rep.inTarget?.[table], table).toBe(await count(t, table));
    // The triggers work again after the restore.
    await withLocalD1(t.dir, t.id, (db) => db.prepare("INSERT INTO orders (id, user_id, total) VALUES (8, 2, 1)").run());
    expect(await count(t, "audit_log")).toBe(7);
  });

  it("a SQL script with --mode overwrite pauses the backup's triggers; one the backup lacks stops the script", async () => {
    const t = await target();
    const file = path.join(s.base, "overwrite.sql");
    expect((await restore(["--asset", "shop", "--to", `file:${file}`, "--mode", "overwrite"])).code).toBe(0);
    const ok = await wranglerExecuteFile(t.dir, t.id, file);
    expect(ok.code, ok.out).toBe(0);
    expect(await count(t, "audit_log")).toBe(6);
    expect((await all(t, "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")).map((x) => x.name)).toEqual(["orders_audit", "users_audit"]);

    await withLocalD1(t.dir, t.id, (db) => db.prepare("CREATE TRIGGER orders_shadow AFTER INSERT ON orders BEGIN INSERT INTO audit_log (event) VALUES ('shadow'); END").run());
    const before = await snapshot(t);
    const refused = await wranglerExecuteFile(t.dir, t.id, file);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toMatch(/CHECK constraint failed: drposture refused: the target has triggers on the restored tables/);
    expect(await snapshot(t)).toEqual(before);
  });
});

describe("item 4: SQL files reproduce control characters exactly", () => {
  it("text with NUL, newlines and other control characters round-trips through wrangler d1 execute --file", async () => {
    const file = path.join(s.base, "nul.sql");
    const r = await restore(["--asset", "shop", "--to", `file:${file}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(file).includes(0)).toBe(false);
    const t = await target(false);
    const ran = await wranglerExecuteFile(t.dir, t.id, file);
    expect(ran.code, ran.out).toBe(0);
    const source = await target();
    const hex = "SELECT id, hex(body) AS h FROM notes ORDER BY id";
    expect(await all(t, hex)).toEqual(await all(source, hex));
    expect((await all(t, hex))[0]).toEqual({ id: 1, h: "610062" });
    expect(await count(t, "audit_log")).toBe(6);
  });
});

describe("item 8: counts are what was written", () => {
  it("--mode skip over an identical database writes nothing and says so", async () => {
    const t = await target();
    const r = await restore(["--asset", "shop", "--to", t.to, "--mode", "skip", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(reportOf(r.stdout)).toMatchObject({ restored: 0, skipped: SHOP_ROWS });
    await withLocalD1(t.dir, t.id, (db) => db.prepare("DELETE FROM notes WHERE id = 4").run());
    const again = reportOf((await restore(["--asset", "shop", "--to", t.to, "--mode", "skip", "--json"])).stdout);
    expect(again).toMatchObject({ restored: 1, skipped: SHOP_ROWS - 1, details: { notes: 1, users: 0 } });
    expect(await count(t, "audit_log")).toBe(6);
  });

  it("--only naming a table the backup does not have fails with exit 2, listing its tables, and writes nothing", async () => {
    const t = await target(false);
    const r = await restore(["--asset", "shop", "--to", t.to, "--only", "users,nosuch"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--only users,nosuch: the backup has no table "nosuch"; its tables: users, orders, audit_log, notes');
    expect((await snapshot(t)).objs).toEqual([]);
  });
});

describe("item 14: a file target is a new artifact", () => {
  it("refuses to replace an existing file unless --mode overwrite, which says it replaces it", async () => {
    const file = path.join(s.base, "existing.sql");
    writeFileSync(file, "-- keep me\n");
    for (const mode of ["fail", "skip", "clear"]) {
      const r = await restore(["--asset", "shop", "--to", `file:${file}`, "--mode", mode]);
      expect(r.code, mode).toBe(1);
      expect(r.stderr).toMatch(/the file exists; refusing to replace it/);
      expect(readFileSync(file, "utf8")).toBe("-- keep me\n");
    }
    const r = await restore(["--asset", "shop", "--to", `file:${file}`, "--mode", "overwrite"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`replacing the existing file ${file}`);
    expect(readFileSync(file, "utf8")).toMatch(/^PRAGMA defer_foreign_keys = ON;/);
  });

  it("a file in a missing directory is a one-line usage error", async () => {
    const r = await restore(["--asset", "shop", "--to", `file:${path.join(s.base, "no", "such", "dir", "x.sql")}`]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(2); // the "restoring ..." line and the error
    expect(r.stderr).toMatch(/drposture: --to file:.*the directory .* does not exist/);
  });

  it("a restore that fails midway leaves no file (and no partial file) behind", async () => {
    const store = path.join(s.base, "bad-store");
    rmSync(store, { recursive: true, force: true });
    mkdirSync(store);
    // A copy of the store whose bulk artifact has a flipped byte near its end.
    const copy = (from: string, to: string) => {
      for (const e of readdirSync(from)) {
        const f = path.join(from, e);
        const g = path.join(to, e);
        if (statSync(f).isDirectory()) {
          mkdirSync(g);
          copy(f, g);
        } else writeFileSync(g, readFileSync(f));
      }
    };
    copy(s.store, store);
    const artifacts: string[] = [];
    const walk = (d: string) => readdirSync(d).forEach((e) => (statSync(path.join(d, e)).isDirectory() ? walk(path.join(d, e)) : /\/d1\/bulk\/.*\.drpenc$/.test(path.join(d, e)) && artifacts.push(path.join(d, e))));
    walk(store);
    expect(artifacts.length).toBeGreaterThan(0);
    const victim = artifacts.sort().at(-1) as string;
    const bytes = readFileSync(victim);
    expect(bytes.length).toBeGreaterThan(3 * 65536);
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] as number) ^ 0xff;
    writeFileSync(victim, bytes);
    const dir = path.join(s.base, "midway");
    mkdirSync(dir);
    const file = path.join(dir, "bulk.sql");
    const r = await drposture(["restore", "d1", "--store", store, "--key-file", s.keyFile, "--asset", "bulk", "--to", `file:${file}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/drposture: /);
    expect(readdirSync(dir)).toEqual([]);
  });
});
