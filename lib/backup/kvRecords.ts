/**
 * KV backup records. Entries artifacts hold one JSON line per key:
 *   {"k": key, "v": base64 value, "m": metadata?, "e": expiration (unix s)?}
 *   {"k": key, "deleted": true}            (differential backups: gone since the full)
 * Index artifacts hold [key, hash] lines in KV's key order; a differential backup compares
 * the live namespace with its full backup's index to find what changed.
 */
import { createHash } from "node:crypto";
import { concatBytes, textEncoder, toBase64 } from "../format/bytes";

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

/**
 * entryHash computed piece by piece, for values too large to hold as one base64 string: the
 * same bytes JSON.stringify([key, base64, metadata, expiration]) would produce (base64 needs
 * no JSON escaping), fed as the value streams by.
 */
export class EntryHasher {
  private readonly h = createHash("sha256");
  constructor(key: string) {
    this.h.update(`[${JSON.stringify(key)},"`);
  }
  base64(chunk: string): void {
    this.h.update(chunk);
  }
  finish(metadata: unknown, expiration: number | undefined): string {
    this.h.update(`",${JSON.stringify(metadata ?? null)},${JSON.stringify(expiration ?? null)}]`);
    return this.h.digest("hex").slice(0, 32);
  }
}

/** Base64 of a byte stream, emitted in pieces (a 3-byte carry keeps the pieces joinable). */
export class Base64Stream {
  private carry = new Uint8Array(0);
  push(bytes: Uint8Array): string {
    const all = this.carry.length ? concatBytes([this.carry, bytes]) : bytes;
    const whole = all.length - (all.length % 3);
    this.carry = all.slice(whole);
    return whole ? toBase64(all.subarray(0, whole)) : "";
  }
  end(): string {
    const rest = this.carry.length ? toBase64(this.carry) : "";
    this.carry = new Uint8Array(0);
    return rest;
  }
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
