/**
 * R2 mirror records. A backup's inventory artifacts list every object of the source bucket at
 * that time, one JSON line each, in key order:
 *   {"k": key, "size": n, "etag": "...", "uploaded": iso, "http": {...}?, "custom": {...}?,
 *    "segs": [{"m": manifest key, "a": artifact key, "o": offset, "n": length, "x": expiresAt}]}
 * The bytes live in pack artifacts (plain concatenation of object bodies); `segs` say where.
 * An unchanged object points at the pack of an earlier backup, but only if that pack is kept at
 * least as long as the new backup: every backup stays restorable for its whole retention.
 */
export interface PackSegment {
  /** Manifest of the backup that holds the pack (restore reads hashes from it). */
  m: string;
  /** Pack artifact object key. */
  a: string;
  /** Offset and length in the pack's plaintext. */
  o: number;
  n: number;
  /** When the pack expires. */
  x: string;
}

export interface InventoryLine {
  k: string;
  size: number;
  etag: string;
  uploaded: string;
  http?: Record<string, unknown>;
  custom?: Record<string, string>;
  segs: PackSegment[];
}

/** Whether an earlier copy can be reused by a backup that must last until `expiresAt`. */
export function reusable(line: InventoryLine, etag: string, expiresAt: string): boolean {
  return line.etag === etag && line.segs.every((s) => s.x >= expiresAt);
}
