/**
 * How DirStorage maps an object key to a path, for ANY key R2 or S3 accepts (R2: up to 1,024
 * bytes of UTF-8, https://developers.cloudflare.com/r2/platform/limits/), losslessly and without
 * two keys ever sharing a path. The key is split at "/"; each segment becomes one path
 * component:
 *
 *   directory segments   kept as they are, except "%", "/", control characters and "." which
 *                        are percent-encoded (%XX per UTF-8 byte, upper-case hex)
 *   the last segment     the same, but "." is kept (escaped only in ".", ".." and in the
 *     (the file)         suffixes the old layout reserved: ".meta.json" at the end, ".partial-");
 *                        a name left without any "." gets a final "%"
 *   an empty segment     "%_"  (from "a//b", "a/" or "/a")
 *   too long             a segment whose encoding passes 200 bytes becomes "%h" + SHA-256 hex;
 *                        the object's sidecar then records its key (file systems stop at 255)
 *
 * Why this is collision-free: escaping only ever writes "%" followed by two hex digits, so the
 * marker forms ("%_", "%h…", a final lone "%") and DirStorage's own suffixes ("%meta.json" for
 * sidecars, "%partial-" for uploads in progress) never come out of a key. A file name always
 * holds a "." or ends in "%"; a directory name never does: "a" and "a/b", or "folder/" and
 * "folder/child.txt", cannot meet at one path.
 *
 * Why it looks like this: every key drposture itself writes (daily/kv/sessions/<id>/manifest.json,
 * _state/latest/kv/x.json) has dot-free directories and a file name with a ".", so backup stores
 * read and look exactly as before this layout existed, including stores written by earlier
 * versions. Directories written by `restore r2 --to DIR` before it are not read back by it (a
 * file named without a "." is not in this layout): restore them again.
 *
 * Caveat: a case-insensitive or normalising file system (macOS, Windows defaults) still folds
 * keys that differ only in case or Unicode normalisation; use a case-sensitive one.
 */
import { createHash } from "node:crypto";

/** Longest encoded component kept readable; leaves room for the "%partial-…" and "%meta.json" suffixes. */
export const MAX_COMPONENT_BYTES = 200;
export const EMPTY_SEGMENT = "%_";
export const HASHED_PREFIX = "%h";
/** Suffix of an object's sidecar (metadata, tags, lock date, and the key of a hashed path). */
export const SIDECAR_SUFFIX = "%meta.json";
/** Infix of an upload in progress (renamed into place when complete). */
export const PARTIAL_INFIX = "%partial-";
/** What the layout before this one wrote next to objects; skipped when listing old stores. */
export const LEGACY_SIDECAR_SUFFIX = ".meta.json";
export const LEGACY_PARTIAL_INFIX = ".partial-";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }); // a key may start with U+FEFF: keep it

function escapeChar(c: string): string {
  return [...encoder.encode(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join("");
}

function escape(segment: string, keep: (c: string) => boolean): string {
  let out = "";
  for (const c of segment) {
    const code = c.codePointAt(0) as number;
    out += c !== "%" && c !== "/" && code >= 0x20 && code !== 0x7f && keep(c) ? c : escapeChar(c);
  }
  return out;
}

const hashed = (segment: string) => `${HASHED_PREFIX}${createHash("sha256").update(segment).digest("hex")}`;
const fits = (name: string) => Buffer.byteLength(name) <= MAX_COMPONENT_BYTES;

export function encodeDirSegment(segment: string): string {
  if (segment === "") return EMPTY_SEGMENT;
  const e = escape(segment, (c) => c !== ".");
  return fits(e) ? e : hashed(segment);
}

export function encodeFileSegment(segment: string): string {
  let e: string;
  if (segment === "") e = EMPTY_SEGMENT;
  else if (segment === "." || segment === "..") e = escape(segment, () => false);
  else {
    e = escape(segment, () => true).replaceAll(LEGACY_PARTIAL_INFIX, `%2E${LEGACY_PARTIAL_INFIX.slice(1)}`);
    if (e.endsWith(LEGACY_SIDECAR_SUFFIX)) e = `${e.slice(0, -LEGACY_SIDECAR_SUFFIX.length)}%2E${LEGACY_SIDECAR_SUFFIX.slice(1)}`;
    if (!fits(e)) e = hashed(segment);
  }
  return e.includes(".") ? e : `${e}%`;
}

/** The relative path components of a key. */
export function encodeKey(key: string): string[] {
  const segments = key.split("/");
  const file = segments.pop() as string;
  return [...segments.map(encodeDirSegment), encodeFileSegment(file)];
}

/** Whether a key's path holds a hashed component, so that only its sidecar knows the key. */
export function isHashedPath(components: readonly string[]): boolean {
  return components.some((c) => c.startsWith(HASHED_PREFIX));
}

/** Percent-decoding of what `escape` wrote; null if `e` holds a "%" that is not "%XX" or bytes that are not UTF-8. */
function unescape(e: string): string | null {
  const bytes: number[] = [];
  for (let i = 0; i < e.length; ) {
    if (e[i] === "%") {
      const hex = e.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return null;
      bytes.push(parseInt(hex, 16));
      i += 3;
    } else {
      const c = String.fromCodePoint(e.codePointAt(i) as number);
      bytes.push(...encoder.encode(c));
      i += c.length;
    }
  }
  try {
    return decoder.decode(new Uint8Array(bytes));
  } catch {
    return null;
  }
}

/**
 * The segment a path component stands for: a string, "hashed" (only the sidecar knows), or
 * null when the name is not one this layout writes (a sidecar, an upload in progress, the old
 * layout's sidecars and uploads, a stray file): only names that encode back to themselves count.
 */
export function decodeComponent(name: string, as: "dir" | "file"): string | "hashed" | null {
  const e = as === "file" && name.endsWith("%") ? name.slice(0, -1) : name;
  if (/^%h[0-9a-f]{64}$/.test(e)) return as === "dir" ? (e === name ? "hashed" : null) : e !== name ? "hashed" : null;
  const segment = e === EMPTY_SEGMENT ? "" : unescape(e);
  if (segment === null) return null;
  return (as === "dir" ? encodeDirSegment(segment) : encodeFileSegment(segment)) === name ? segment : null;
}
