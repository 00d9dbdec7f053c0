/**
 * LOCAL WORLD. The S3 wire format shared by both flavours: the parsed call a flavour handles,
 * the reply it returns, object headers in and out, ranges, and XML bodies.
 */
import { XMLParser } from "fast-xml-parser";
import { S3Error, xmlEscape } from "./s3Errors";

export interface S3Call {
  readonly method: string;
  readonly bucket: string;
  /** Object key, decoded; null for bucket-level requests. */
  readonly key: string | null;
  readonly query: ReadonlyMap<string, string>;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** Whether the request arrived over TLS (aws:SecureTransport). */
  readonly secure: boolean;
  /** Who signed the request (an IAM principal ARN, or an R2 token id). */
  readonly principal: string;
  readonly now: Date;
}

export type ReplyBody = string | Buffer | { readonly file: string; readonly start: number; readonly end: number };

export interface S3Reply {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: ReplyBody;
}

export const S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";

export const xmlReply = (status: number, body: string, headers: Record<string, string> = {}): S3Reply => ({
  status,
  headers: { "content-type": "application/xml", ...headers },
  body: `<?xml version="1.0" encoding="UTF-8"?>\n${body}`,
});

export const tag = (name: string, value: string | number | boolean) => `<${name}>${xmlEscape(String(value))}</${name}>`;

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, isArray: (n) => ["Part", "Object", "Tag"].includes(n) });

export function parseXml<T>(body: Buffer, what: string): T {
  try {
    return parser.parse(body.toString("utf8")) as T;
  } catch {
    throw new S3Error(400, "MalformedXML", `The XML you provided was not well-formed or did not validate against our published schema (${what}).`);
  }
}

/** HTTP headers S3 stores with an object and returns on GET/HEAD. */
export const CONTENT_HEADERS = ["content-type", "cache-control", "content-disposition", "content-encoding", "content-language", "expires"] as const;

export function contentHeadersOf(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of CONTENT_HEADERS) if (headers[h] !== undefined) out[h] = headers[h] as string;
  if (!out["content-type"]) out["content-type"] = "binary/octet-stream";
  return out;
}

/** x-amz-meta-* headers: names lower case without the prefix. S3 limits them to 2 KB in all. */
export function userMetadataOf(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  let size = 0;
  for (const [h, v] of Object.entries(headers)) {
    if (!h.startsWith("x-amz-meta-")) continue;
    const name = h.slice("x-amz-meta-".length);
    out[name] = v;
    size += Buffer.byteLength(name) + Buffer.byteLength(v);
  }
  if (size > 2048) throw new S3Error(400, "MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size (2 KB).");
  return out;
}

/** Tags from an x-amz-tagging header (URL query form). */
export function parseTaggingHeader(value: string | undefined): Record<string, string> {
  if (value === undefined) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(value)) out[k] = v;
  if (Object.keys(out).length > 10) throw new S3Error(400, "BadRequest", "Object tags cannot be greater than 10");
  return out;
}

/** An inclusive byte range, or undefined for the whole object. RFC 9110 single ranges only. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined; // S3 ignores a range it cannot parse
  let start: number;
  let end: number;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) throw new S3Error(416, "InvalidRange", "The requested range is not satisfiable");
  return { start, end };
}

/** Headers S3 answers 501 for when the store would otherwise silently ignore them. */
export function refuseConditionalHeaders(headers: Readonly<Record<string, string>>): void {
  for (const h of ["if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "x-amz-copy-source"]) {
    if (headers[h] !== undefined) throw new S3Error(501, "NotImplemented", `${h} is not implemented by the local store (it refuses what it cannot honour)`);
  }
}
