/**
 * Drill data: a fixture file (JSON) or the built-in sample, a realistic slice of an app on
 * Workers + Neon. Format (every part optional):
 *   {"d1": {DB: [SQL, ...]},
 *    "kv": {NS: [{"key", "value" | "base64", "metadata"?, "expiration"?}]},
 *    "r2": {BUCKET: [{"key", "text" | "base64", "httpMetadata"?, "customMetadata"?}]},
 *    "postgres": [SQL, ...]}
 */
import { readFileSync } from "node:fs";
import { z } from "zod";

const name = z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, { error: "must be an asset name (a-z, 0-9, '-')" });
const kvEntry = z
  .strictObject({ key: z.string().min(1).max(512), value: z.string().optional(), base64: z.string().optional(), metadata: z.unknown().optional(), expiration: z.number().int().optional() })
  .refine((e) => (e.value === undefined) !== (e.base64 === undefined), { error: "needs exactly one of value or base64" });
const r2Object = z
  .strictObject({
    key: z.string().min(1),
    text: z.string().optional(),
    base64: z.string().optional(),
    httpMetadata: z.record(z.string(), z.string()).optional(),
    customMetadata: z.record(z.string(), z.string()).optional(),
  })
  .refine((e) => (e.text === undefined) !== (e.base64 === undefined), { error: "needs exactly one of text or base64" });

export const fixtureSchema = z.strictObject({
  d1: z.record(name, z.array(z.string())).optional(),
  kv: z.record(name, z.array(kvEntry)).optional(),
  r2: z.record(name, z.array(r2Object)).optional(),
  postgres: z.array(z.string()).optional(),
});
export type Fixture = z.output<typeof fixtureSchema>;

export class FixtureError extends Error {
  override readonly name = "FixtureError";
}

export function loadFixture(file: string): Fixture {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new FixtureError(`${file}: ${(err as Error).message}`);
  }
  const r = fixtureSchema.safeParse(raw);
  if (!r.success) throw new FixtureError(`${file}: ${r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
  return r.data;
}

/** Deterministic pseudo-random bytes (xorshift), so the sample is the same on every machine. */
function bytes(n: number, seed: number): string {
  const out = Buffer.alloc(n);
  let x = seed || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out.toString("base64");
}

const FAR_FUTURE = 2_000_000_000; // 2033

/** The built-in sample: app-db (D1), sessions (KV), user-uploads (R2), app (Postgres). */
export function sampleFixture(): Fixture {
  const users = Array.from({ length: 400 }, (_, i) => i + 1);
  const d1: string[] = [
    "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL UNIQUE, name TEXT, balance REAL, avatar BLOB, lifetime_points INTEGER, created_at TEXT NOT NULL)",
    "CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, total_cents INTEGER NOT NULL, status TEXT NOT NULL CHECK (status IN ('new','paid','shipped')), note TEXT)",
    "CREATE INDEX orders_user ON orders(user_id)",
    "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, at TEXT NOT NULL, event TEXT NOT NULL)",
    "CREATE TRIGGER orders_audit AFTER INSERT ON orders BEGIN INSERT INTO audit_log (at, event) VALUES (datetime('now'), 'order ' || NEW.id); END",
    "CREATE VIEW paid_orders AS SELECT o.id, u.email, o.total_cents FROM orders o JOIN users u ON u.id = o.user_id WHERE o.status = 'paid'",
    "CREATE VIRTUAL TABLE product_search USING fts5(title, description)",
    "CREATE TABLE d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TEXT)",
    "INSERT INTO d1_migrations (name, applied_at) VALUES ('0001_init.sql', '2026-01-10 09:00:00'), ('0002_orders.sql', '2026-03-02 10:30:00'), ('0003_search.sql', '2026-06-15 08:15:00')",
    ...users.map(
      (i) =>
        `INSERT INTO users (email, name, balance, avatar, lifetime_points, created_at) VALUES ('user${i}@example.com', ${i % 11 === 0 ? "NULL" : `'Ünïcødé ${i} – ${["日本", "Ελλάδα", "مرحبا", "🎉"][i % 4]}'`}, ${(i * 3.14159).toFixed(5)}, X'${Buffer.from(bytes(24, i), "base64").toString("hex")}', ${9007199254740993n + BigInt(i * 1000)}, '2026-0${1 + (i % 9)}-1${i % 10} 12:00:00')`,
    ),
    ...Array.from({ length: 1200 }, (_, j) => `INSERT INTO orders (user_id, total_cents, status, note) VALUES (${(j % 400) + 1}, ${(j * 977) % 100000}, '${["new", "paid", "shipped"][j % 3]}', ${j % 5 === 0 ? "NULL" : `'order ${j} ''quoted'''`})`),
    ...Array.from({ length: 60 }, (_, j) => `INSERT INTO product_search (title, description) VALUES ('Product ${j}', 'A ${["red", "blue", "green"][j % 3]} widget, model ${j * 7}, ships worldwide')`),
  ];
  const kv: NonNullable<Fixture["kv"]>[string] = Array.from({ length: 300 }, (_, i) => {
    if (i % 10 === 0) return { key: `user:${i}:avatar-thumb`, base64: bytes(64, 1000 + i), metadata: { contentType: "image/webp" } };
    return { key: `session:${(i * 2654435761 % 4294967296).toString(16).padStart(8, "0")}`, value: JSON.stringify({ userId: (i % 400) + 1, roles: ["user"], csrf: bytes(12, i) }), metadata: { userId: (i % 400) + 1 }, expiration: FAR_FUTURE + i };
  });
  const r2: NonNullable<Fixture["r2"]>[string] = [
    ...Array.from({ length: 30 }, (_, i) => ({
      key: `avatars/${i + 1}.png`,
      base64: bytes(2000 + ((i * 7919) % 60000), 500 + i),
      httpMetadata: { contentType: "image/png", cacheControl: "public, max-age=86400" },
      customMetadata: { userId: String(i + 1) },
    })),
    { key: "invoices/2026/11/INV-0001.pdf", base64: bytes(1_500_000, 77), httpMetadata: { contentType: "application/pdf", contentDisposition: "attachment" }, customMetadata: { customer: "acme" } },
    { key: "exports/empty.csv", text: "", httpMetadata: { contentType: "text/csv" } },
    { key: "docs/ünïcode-名前.txt", text: "bonjour 🌍 — ok", httpMetadata: { contentType: "text/plain; charset=utf-8" } },
  ];
  const postgres = [
    "CREATE SCHEMA billing",
    "CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped', 'refunded')",
    "CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL)",
    "INSERT INTO schema_migrations VALUES ('20260110_init', '2026-01-10T09:00:00Z'), ('20260615_billing', '2026-06-15T08:00:00Z')",
    "CREATE TABLE customers (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, profile jsonb NOT NULL DEFAULT '{}', tags text[] NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers(id), status order_status NOT NULL, total numeric(12,2) NOT NULL, placed_at timestamptz NOT NULL)",
    "CREATE TABLE billing.payments (id serial PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders(id), amount numeric(14,4) NOT NULL, receipt bytea, meta jsonb, paid_at timestamptz NOT NULL)",
    "CREATE INDEX orders_customer ON orders(customer_id)",
    "INSERT INTO customers (email, profile, tags, created_at) SELECT 'c' || g || '@example.com', jsonb_build_object('plan', (ARRAY['free','pro','team'])[1 + g % 3], 'n', g, 'nested', jsonb_build_object('ok', g % 2 = 0)), ARRAY['t' || (g % 5), 'ünï'], timestamptz '2026-01-01 00:00:00+00' + g * interval '37 minutes' FROM generate_series(1, 500) g",
    "INSERT INTO orders (customer_id, status, total, placed_at) SELECT 1 + g % 500, (ARRAY['new','paid','shipped','refunded']::order_status[])[1 + g % 4], round((g * 13.37)::numeric, 2), timestamptz '2026-02-01 00:00:00+00' + g * interval '11 minutes' FROM generate_series(1, 2000) g",
    "INSERT INTO billing.payments (order_id, amount, receipt, meta, paid_at) SELECT g, (g * 1.2345)::numeric(14,4), decode(md5(g::text), 'hex'), CASE WHEN g % 7 = 0 THEN NULL ELSE jsonb_build_object('card', 'x' || g) END, timestamptz '2026-02-02 00:00:00+00' + g * interval '13 minutes' FROM generate_series(1, 1500) g",
    "DELETE FROM customers WHERE id = 499 AND NOT EXISTS (SELECT 1 FROM orders WHERE customer_id = 499)",
  ];
  return { d1: { "app-db": d1 }, kv: { sessions: kv }, r2: { "user-uploads": r2 }, postgres };
}
