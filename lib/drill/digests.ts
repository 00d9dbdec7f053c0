/**
 * Counts and content digests of each kind of asset, computed the same way on the source before
 * the disaster and on the restored target after it: equal digests mean equal data (rows with
 * their types, keys with values, metadata and expiration, objects with bodies and metadata).
 */
import { createHash } from "node:crypto";
import { escapeIdentifier } from "pg";
import { withPgClient } from "../postgres/client";
import { readPage, readSchema, readSequences, type SqlReader } from "../backup/d1Dump";
import type { D1Like } from "../restore/d1Restore";
import { kvKeys } from "../restore/kvRestore";
import { r2Objects } from "../restore/r2Restore";

export interface Digest {
  /** Rows, keys or objects. */
  readonly count: number;
  /** SHA-256 (hex) over a canonical rendering of the content. */
  readonly digest: string;
  /** Per-table row counts and other details for the report. */
  readonly details: Record<string, number>;
}

export function d1Reader(db: D1Like): SqlReader {
  return { all: async (sql, params = []) => (await db.prepare(sql).bind(...params).all()).results as Array<Record<string, unknown>> };
}

export async function digestD1(db: D1Like): Promise<Digest> {
  const reader = d1Reader(db);
  const h = createHash("sha256");
  const { objects, tables } = await readSchema(reader);
  // Object definitions as written: a restore must recreate the same schema.
  for (const o of [...objects].sort((a, b) => a.name.localeCompare(b.name))) h.update(`${o.type}\0${o.name}\0${o.sql}\n`);
  const details: Record<string, number> = {};
  let count = 0;
  for (const t of [...tables].sort((a, b) => a.name.localeCompare(b.name))) {
    if (t.dataFrom !== "table") continue;
    let cursor = {};
    let rows = 0;
    for (;;) {
      const p = await readPage(reader, t, cursor, 1000);
      for (const r of p.rows) h.update(`${t.name}\0${JSON.stringify(r)}\n`);
      rows += p.rows.length;
      if (!p.next) break;
      cursor = p.next;
    }
    details[t.name] = rows;
    count += rows;
  }
  h.update(JSON.stringify(await readSequences(reader)));
  return { count, digest: h.digest("hex"), details };
}

type ListedKey = { name: string; metadata?: unknown; expiration?: number };

export async function digestKv(kv: {
  list(o: { prefix?: string; cursor?: string }): Promise<{ keys: ListedKey[]; list_complete: boolean; cursor?: string }>;
  get(key: string, type: "arrayBuffer"): Promise<ArrayBuffer | null>;
}): Promise<Digest> {
  const h = createHash("sha256");
  let count = 0;
  for await (const k of kvKeys(kv)) {
    const v = await kv.get(k.name, "arrayBuffer");
    h.update(JSON.stringify([k.name, Buffer.from(v ?? new ArrayBuffer(0)).toString("base64"), k.metadata ?? null, k.expiration ?? null]));
    h.update("\n");
    count++;
  }
  return { count, digest: h.digest("hex"), details: {} };
}

interface R2ObjectLike {
  key: string;
  size: number;
  httpMetadata?: Record<string, unknown>;
  customMetadata?: Record<string, string>;
}

export async function digestR2(bucket: {
  list(o: { prefix?: string; cursor?: string; include?: string[] }): Promise<{ objects: R2ObjectLike[]; truncated: boolean; cursor?: string }>;
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
}): Promise<Digest> {
  const h = createHash("sha256");
  let count = 0;
  let bytes = 0;
  for await (const o of r2Objects(bucket, "", ["httpMetadata", "customMetadata"])) {
    const body = Buffer.from(await ((await bucket.get(o.key)) as { arrayBuffer(): Promise<ArrayBuffer> }).arrayBuffer());
    const http = Object.fromEntries(Object.entries(o.httpMetadata ?? {}).filter(([, v]) => v !== undefined).sort());
    h.update(JSON.stringify([o.key, o.size, createHash("sha256").update(body).digest("hex"), http, o.customMetadata ?? {}]));
    h.update("\n");
    count++;
    bytes += o.size;
  }
  return { count, digest: h.digest("hex"), details: { bytes } };
}

/** Every user table's rows (as JSON, in a stable order) and every sequence's position. */
export async function digestPostgres(url: string): Promise<Digest> {
  return withPgClient(url, async (c) => {
    const h = createHash("sha256");
    const tables = (
      await c.query<{ s: string; t: string }>(
        "SELECT schemaname AS s, tablename AS t FROM pg_catalog.pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
      )
    ).rows;
    const details: Record<string, number> = {};
    let count = 0;
    for (const { s, t } of tables) {
      const q = `${escapeIdentifier(s)}.${escapeIdentifier(t)}`;
      const rows = (await c.query<{ j: string }>(`SELECT to_jsonb(x)::text AS j FROM ${q} x ORDER BY to_jsonb(x)::text`)).rows;
      for (const r of rows) h.update(`${s}.${t}\0${r.j}\n`);
      details[`${s}.${t}`] = rows.length;
      count += rows.length;
    }
    const seqs = (await c.query<{ n: string; v: string | null }>("SELECT schemaname || '.' || sequencename AS n, last_value::text AS v FROM pg_sequences ORDER BY 1")).rows;
    h.update(JSON.stringify(seqs));
    return { count, digest: h.digest("hex"), details };
  });
}
