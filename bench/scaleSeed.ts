/**
 * bench/scale's sources, filled through Miniflare's bindings from Node: a KV namespace of
 * session-like keys, a D1 database of rows carrying ~1 KiB each (written in SQL, so the bytes
 * never cross into Node), and an R2 bucket of small uploads plus one large object sent as a
 * multipart upload (parts of 64 MiB: R2 requires equal parts of at least 5 MiB but the last).
 */
import type { Miniflare } from "miniflare";

/** Deterministic bytes: a bench run is comparable with the next. */
function bytesOf(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export const KV_VALUE_BYTES = 200;

export async function seedKv(mf: Miniflare, binding: string, keys: number): Promise<void> {
  const kv = await mf.getKVNamespace(binding);
  const value = bytesOf(KV_VALUE_BYTES, 7);
  for (let i = 0; i < keys; i += 250) {
    await Promise.all(
      Array.from({ length: Math.min(250, keys - i) }, (_, j) => kv.put(`session:${String(i + j).padStart(8, "0")}`, value, { metadata: { user: (i + j) % 5000 } })),
    );
  }
}

/** Rows of ~1 KiB (id, user, hex payload of 512 random bytes). */
export const D1_ROW_BYTES = 1024 + 32;

export async function seedD1(mf: Miniflare, binding: string, mib: number): Promise<number> {
  const db = await mf.getD1Database(binding);
  await db.exec("CREATE TABLE events (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, payload TEXT NOT NULL)");
  const rows = Math.round((mib * 1024 * 1024) / D1_ROW_BYTES);
  for (let from = 1; from <= rows; from += 20_000) {
    const to = Math.min(rows, from + 19_999);
    await db
      .prepare("WITH RECURSIVE s(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM s WHERE i < ?2) INSERT INTO events (id, user_id, payload) SELECT i, i % 5000, hex(randomblob(512)) FROM s")
      .bind(from, to)
      .run();
  }
  return rows;
}

export const R2_OBJECT_BYTES = 16 * 1024;
const PART_BYTES = 64 * 1024 * 1024;

export async function seedR2(mf: Miniflare, binding: string, objects: number, bigMiB: number): Promise<number> {
  const bucket = await mf.getR2Bucket(binding);
  for (let i = 0; i < objects; i += 250) {
    await Promise.all(
      Array.from({ length: Math.min(250, objects - i) }, (_, j) => bucket.put(`uploads/${String(i + j).padStart(6, "0")}.bin`, bytesOf(R2_OBJECT_BYTES, i + j), { httpMetadata: { contentType: "application/octet-stream" } })),
    );
  }
  if (bigMiB <= 0) return objects * R2_OBJECT_BYTES;
  const upload = await bucket.createMultipartUpload("exports/big.bin");
  const parts = [];
  const total = bigMiB * 1024 * 1024;
  for (let n = 1, at = 0; at < total; n++, at += PART_BYTES) {
    parts.push(await upload.uploadPart(n, bytesOf(Math.min(PART_BYTES, total - at), 1000 + n)));
  }
  await upload.complete(parts);
  return objects * R2_OBJECT_BYTES + total;
}
