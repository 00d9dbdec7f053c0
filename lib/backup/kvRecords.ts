/**
 * KV backup records. Entries artifacts hold one JSON line per key:
 *   {"k": key, "v": base64 value, "m": metadata?, "e": expiration (unix s)?}
 *   {"k": key, "deleted": true}            (differential backups: gone since the full)
 * Index artifacts hold [key, hash] lines in KV's key order; a differential backup compares
 * the live namespace with its full backup's index to find what changed.
 */
import { createHash } from "node:crypto";
import { textEncoder } from "../format/bytes";

export interface KvEntryRecord {
  k: string;
  v?: string;
  m?: unknown;
  e?: number;
  deleted?: true;
}

export type KvIndexLine = [key: string, hash: string];

export function entryHash(key: string, valueB64: string, metadata: unknown, expiration: number | undefined): string {
  return createHash("sha256")
    .update(JSON.stringify([key, valueB64, metadata ?? null, expiration ?? null]))
    .digest("hex")
    .slice(0, 32);
}

/** KV lists keys in UTF-8 byte order; JS string order differs for astral characters. */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const x = textEncoder.encode(a);
  const y = textEncoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  return x.length - y.length;
}
