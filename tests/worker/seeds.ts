/** Realistic source data for the workerd tests (D1 app database, KV sessions, R2 uploads). */
import { openArtifact } from "../../lib/backup/artifacts";
import type { InventoryLine } from "../../lib/backup/r2Records";
import type { Manifest } from "../../lib/format/manifest";
import { readAll, type BackupStorage } from "../../lib/storage/types";
import { linesOf, master } from "./helpers";

export async function seedAppDb(db: D1Database, rows = 50): Promise<void> {
  await db.batch([
    db.prepare("CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL UNIQUE, name TEXT, balance REAL, avatar BLOB, big INTEGER)"),
    db.prepare("CREATE TABLE sessions (token TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), data TEXT) WITHOUT ROWID"),
    db.prepare("CREATE INDEX sessions_user ON sessions(user_id)"),
    db.prepare("CREATE VIEW active_users AS SELECT id, email FROM users WHERE balance > 0"),
    db.prepare("CREATE TABLE audit (id INTEGER PRIMARY KEY, msg TEXT)"),
    db.prepare("CREATE TRIGGER users_audit AFTER INSERT ON users BEGIN INSERT INTO audit (msg) VALUES ('user ' || NEW.email); END"),
    db.prepare("CREATE VIRTUAL TABLE notes USING fts5(title, body)"),
    db.prepare("CREATE TABLE d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TEXT)"),
    db.prepare("INSERT INTO d1_migrations (name, applied_at) VALUES ('0001_init.sql', '2026-01-01'), ('0002_sessions.sql', '2026-02-01')"),
  ]);
  const stmts: D1PreparedStatement[] = [];
  for (let i = 1; i <= rows; i++) {
    stmts.push(
      db
        .prepare("INSERT INTO users (email, name, balance, avatar, big) VALUES (?, ?, ?, ?, CAST(? AS INTEGER))")
        .bind(`user${i}@example.com`, i % 7 === 0 ? null : `Ünïcödé 名前 ${i} 🎉`, i * 1.25 - 10, new Uint8Array([i & 255, 0, 255, 10, 13]), (9007199254740993n + BigInt(i)).toString()),
    );
    stmts.push(db.prepare("INSERT INTO sessions (token, user_id, data) VALUES (?, ?, ?)").bind(`tok-${i}`, i, JSON.stringify({ n: i })));
  }
  stmts.push(db.prepare("INSERT INTO notes (title, body) VALUES ('hello', 'full text search survives'), ('bye', 'second note')"));
  stmts.push(db.prepare("INSERT INTO users (email, balance) VALUES ('edge@example.com', 9e999), ('negzero@example.com', -0.0)"));
  await db.batch(stmts);
}

export const FUTURE = Math.floor(Date.UTC(2030, 0, 1) / 1000);

export async function seedSessions(kv: KVNamespace, n: number): Promise<Map<string, { value: Uint8Array; metadata?: unknown; expiration?: number }>> {
  const all = new Map<string, { value: Uint8Array; metadata?: unknown; expiration?: number }>();
  for (let i = 0; i < n; i++) {
    const key = i % 10 === 0 ? `user:${i}:ключ:🔑` : `session:${String(i).padStart(5, "0")}`;
    const value = new Uint8Array([0, 255, i & 255, 0x80, 10, 13, (i >> 8) & 255]);
    const metadata = i % 3 === 0 ? { userId: i, roles: ["a", "b"] } : undefined;
    const expiration = i % 4 === 0 ? FUTURE + i : undefined;
    await kv.put(key, value, { ...(metadata ? { metadata } : {}), ...(expiration ? { expiration } : {}) });
    all.set(key, { value, ...(metadata ? { metadata } : {}), ...(expiration ? { expiration } : {}) });
  }
  return all;
}

export const BIG = 600 * 1024;

export function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + seed) & 0xff;
  return out;
}

export async function seedUploads(bucket: R2Bucket): Promise<Map<string, Uint8Array>> {
  const objects = new Map<string, Uint8Array>([
    ["avatars/1.png", bytes(3000, 1)],
    ["avatars/2.png", bytes(5000, 2)],
    ["docs/contract.pdf", bytes(BIG, 3)],
    ["docs/empty.txt", new Uint8Array(0)],
    ["ünïcode/名前.txt", new TextEncoder().encode("hello 🌍")],
  ]);
  for (const [key, body] of objects) {
    await bucket.put(key, body, {
      httpMetadata: { contentType: key.endsWith(".png") ? "image/png" : "application/octet-stream", cacheControl: "max-age=60" },
      customMetadata: { owner: "user-1", path: key },
    });
  }
  return objects;
}

/** Rebuilds every object of a backup from its inventory and packs. */
export async function materialize(storage: BackupStorage, m: Manifest): Promise<Map<string, { line: InventoryLine; body: Uint8Array }>> {
  const key = await master();
  const inventory = (await linesOf(storage, m, "r2-inventory")) as InventoryLine[];
  const packs = new Map<string, Uint8Array>();
  const out = new Map<string, { line: InventoryLine; body: Uint8Array }>();
  for (const line of inventory) {
    const parts: Uint8Array[] = [];
    for (const s of line.segs) {
      if (!packs.has(s.a)) {
        const holder = JSON.parse(new TextDecoder().decode(await readAll((await storage.get(s.m)) as ReadableStream<Uint8Array>))) as Manifest;
        const entry = holder.artifacts.find((a) => a.key === s.a);
        if (!entry) throw new Error(`pack ${s.a} not in ${s.m}`);
        packs.set(s.a, await readAll(await openArtifact(storage, key, entry)));
      }
      parts.push((packs.get(s.a) as Uint8Array).subarray(s.o, s.o + s.n));
    }
    const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      body.set(p, at);
      at += p.length;
    }
    out.set(line.k, { line, body });
  }
  return out;
}

