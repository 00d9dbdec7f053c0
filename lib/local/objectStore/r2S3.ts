/**
 * LOCAL WORLD. R2's S3-compatible API over a Miniflare R2 bucket: the same bucket the backup
 * Worker writes through its binding, reached the way `drposture backup postgres`, `list`,
 * `verify` and `restore` reach R2. It keeps R2's differences from S3:
 *   - only the operations and headers R2 implements; the rest answer 501 NotImplemented
 *     (object tagging, Object Lock, ACLs, versioning, bucket policies, ...) (r2Capabilities.ts);
 *   - no versions: an overwrite replaces the object;
 *   - bucket lock rules (the program's R2BucketLock) refuse deleting or overwriting a locked
 *     object;
 *   - access by Cloudflare API token: the token's permission groups, for this bucket's resource;
 *   - multipart parts of equal size except the last, at least 5 MiB.
 * Source: https://developers.cloudflare.com/r2/api/s3/api/
 */
import { createHash } from "node:crypto";
import { lockedBy, type R2LockRuleLike } from "../limits/r2Locks";
import { checkUploadIntegrity } from "./checksums";
import { refuseUnsupported, r2Permission, type R2Grant } from "./r2Capabilities";
import { accessDenied, noSuchKey, notImplemented, S3Error } from "./s3Errors";
import { parseRange, parseXml, S3_XMLNS, tag, userMetadataOf, xmlReply, type S3Call, type S3Reply } from "./s3Wire";

/** The part of a Miniflare R2 bucket (Node side) this facade uses. */
export interface R2BucketLike {
  head(key: string): Promise<R2ObjectLike | null>;
  get(key: string, options?: { range?: { offset: number; length?: number } }): Promise<(R2ObjectLike & { body: ReadableStream<Uint8Array>; arrayBuffer(): Promise<ArrayBuffer> }) | null>;
  put(key: string, value: ArrayBuffer, options?: Record<string, unknown>): Promise<R2ObjectLike | null>;
  delete(keys: string | string[]): Promise<void>;
  list(options: { prefix?: string; cursor?: string; startAfter?: string; delimiter?: string; limit?: number; include?: string[] }): Promise<{ objects: R2ObjectLike[]; delimitedPrefixes: string[]; truncated: boolean; cursor?: string }>;
  createMultipartUpload(key: string, options?: Record<string, unknown>): Promise<{ uploadId: string }>;
  resumeMultipartUpload(key: string, uploadId: string): {
    uploadPart(n: number, value: ArrayBuffer): Promise<{ partNumber: number; etag: string }>;
    complete(parts: Array<{ partNumber: number; etag: string }>): Promise<R2ObjectLike>;
    abort(): Promise<void>;
  };
}

export interface R2ObjectLike {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly httpEtag: string;
  readonly uploaded: Date;
  readonly httpMetadata?: Record<string, unknown>;
  readonly customMetadata?: Record<string, string>;
}

export interface R2BucketConfig {
  readonly name: string;
  readonly accountId: string;
  readonly jurisdiction: string;
  readonly lockRules: readonly R2LockRuleLike[];
}

const HTTP = { "content-type": "contentType", "cache-control": "cacheControl", "content-disposition": "contentDisposition", "content-encoding": "contentEncoding", "content-language": "contentLanguage" } as const;
const MIN_PART = 5 * 1024 * 1024;

/** A plain ArrayBuffer copy: Miniflare's Node-to-workerd proxy takes no Buffer subclass. */
const plain = (b: Buffer): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

function httpMetadataOf(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [h, k] of Object.entries(HTTP)) if (headers[h] !== undefined) out[k] = headers[h] as string;
  return out;
}

export class R2S3Bucket {
  /** Part sizes per upload id (R2 wants equal parts except the last). */
  private readonly partSizes = new Map<string, Map<number, number>>();

  constructor(
    readonly cfg: R2BucketConfig,
    private readonly bucket: () => Promise<R2BucketLike>,
    /** Token id -> what it may do on this bucket. */
    private readonly grants: (principal: string) => R2Grant,
  ) {}

  private require(call: S3Call, need: "read" | "write" | "list"): void {
    const g = this.grants(call.principal);
    if (!r2Permission(g, need)) throw accessDenied(`token ${call.principal} has no ${need} permission on bucket ${this.cfg.name}`);
  }

  async handle(call: S3Call): Promise<S3Reply> {
    if (!call.secure) throw new S3Error(403, "AccessDenied", "R2 is only reachable over HTTPS");
    refuseUnsupported(call);
    const b = await this.bucket();
    if (call.key === null) return this.bucketCall(call, b);
    const key = call.key;
    const q = call.query;
    if (q.has("uploads") && call.method === "POST") return this.createUpload(call, b, key);
    if (q.has("uploadId")) {
      this.require(call, "write");
      if (call.method === "PUT") return this.uploadPart(call, b, key);
      if (call.method === "POST") return this.complete(call, b, key);
      if (call.method === "DELETE") {
        await b.resumeMultipartUpload(key, q.get("uploadId") as string).abort();
        return { status: 204 };
      }
    }
    switch (call.method) {
      case "GET":
      case "HEAD":
        return this.get(call, b, key);
      case "PUT":
        return this.put(call, b, key);
      case "DELETE":
        this.require(call, "write");
        await this.assertUnlocked(b, key, call.now, "delete");
        await b.delete(key);
        return { status: 204 };
      default:
        throw new S3Error(405, "MethodNotAllowed", `${call.method} is not allowed against this resource`);
    }
  }

  private async assertUnlocked(b: R2BucketLike, key: string, now: Date, what: string): Promise<void> {
    const existing = await b.head(key);
    const rule = existing ? lockedBy(this.cfg.lockRules, key, existing.uploaded, now) : null;
    if (rule) throw new S3Error(403, "AccessDenied", `cannot ${what} ${key}: the object is locked by bucket lock rule ${rule.id}`);
  }

  private async bucketCall(call: S3Call, b: R2BucketLike): Promise<S3Reply> {
    if (call.method === "GET" && call.query.get("list-type") === "2") {
      this.require(call, "list");
      return this.list(call, b);
    }
    if (call.method === "POST" && call.query.has("delete")) {
      this.require(call, "write");
      const doc = parseXml<{ Delete?: { Object?: Array<{ Key?: string }> } }>(call.body, "Delete");
      const parts: string[] = [];
      for (const o of doc.Delete?.Object ?? []) {
        const key = String(o.Key ?? "");
        try {
          await this.assertUnlocked(b, key, call.now, "delete");
          await b.delete(key);
          parts.push(`<Deleted>${tag("Key", key)}</Deleted>`);
        } catch (err) {
          if (!(err instanceof S3Error)) throw err;
          parts.push(`<Error>${tag("Key", key)}${tag("Code", err.code)}${tag("Message", err.message)}</Error>`);
        }
      }
      return xmlReply(200, `<DeleteResult xmlns="${S3_XMLNS}">${parts.join("")}</DeleteResult>`);
    }
    throw notImplemented(`${call.method} on the bucket with ${[...call.query.keys()].join(", ") || "no sub-resource"} (not used by dr-posture; not emulated)`);
  }

  private async list(call: S3Call, b: R2BucketLike): Promise<S3Reply> {
    const prefix = call.query.get("prefix") ?? "";
    const delimiter = call.query.get("delimiter");
    const max = Math.min(Number(call.query.get("max-keys") ?? 1000) || 1000, 1000);
    const token = call.query.get("continuation-token");
    const startAfter = call.query.get("start-after");
    const page = await b.list({ prefix, limit: max, ...(delimiter ? { delimiter } : {}), ...(token ? { cursor: token } : startAfter ? { startAfter } : {}) });
    const body =
      `<ListBucketResult xmlns="${S3_XMLNS}">${tag("Name", this.cfg.name)}${tag("Prefix", prefix)}${tag("KeyCount", page.objects.length + page.delimitedPrefixes.length)}${tag("MaxKeys", max)}${tag("IsTruncated", page.truncated)}` +
      (page.truncated && page.cursor ? tag("NextContinuationToken", page.cursor) : "") +
      page.objects.map((o) => `<Contents>${tag("Key", o.key)}${tag("LastModified", o.uploaded.toISOString())}${tag("ETag", `"${o.etag}"`)}${tag("Size", o.size)}${tag("StorageClass", "STANDARD")}</Contents>`).join("") +
      page.delimitedPrefixes.map((p) => `<CommonPrefixes>${tag("Prefix", p)}</CommonPrefixes>`).join("") +
      `</ListBucketResult>`;
    return xmlReply(200, body);
  }

  private async get(call: S3Call, b: R2BucketLike, key: string): Promise<S3Reply> {
    this.require(call, "read");
    const head = await b.head(key);
    if (!head) throw noSuchKey();
    const range = call.method === "GET" ? parseRange(call.headers.range, head.size) : undefined;
    const headers: Record<string, string> = {
      etag: `"${head.etag}"`,
      "last-modified": head.uploaded.toUTCString(),
      "accept-ranges": "bytes",
      "content-type": String(head.httpMetadata?.contentType ?? "application/octet-stream"),
      ...Object.fromEntries(Object.entries(HTTP).filter(([h, k]) => h !== "content-type" && head.httpMetadata?.[k] !== undefined).map(([h, k]) => [h, String(head.httpMetadata?.[k])])),
      ...Object.fromEntries(Object.entries(head.customMetadata ?? {}).map(([k, v]) => [`x-amz-meta-${k}`, v])),
      "content-length": String(range ? range.end - range.start + 1 : head.size),
      ...(range ? { "content-range": `bytes ${range.start}-${range.end}/${head.size}` } : {}),
    };
    if (call.method === "HEAD" || head.size === 0) return { status: range ? 206 : 200, headers };
    const obj = await b.get(key, range ? { range: { offset: range.start, length: range.end - range.start + 1 } } : undefined);
    if (!obj) throw noSuchKey();
    return { status: range ? 206 : 200, headers, body: Buffer.from(await obj.arrayBuffer()) };
  }

  private async put(call: S3Call, b: R2BucketLike, key: string): Promise<S3Reply> {
    this.require(call, "write");
    const integrity = checkUploadIntegrity(call.headers, call.body);
    await this.assertUnlocked(b, key, call.now, "overwrite");
    const obj = await b.put(key, plain(call.body), {
      httpMetadata: httpMetadataOf(call.headers),
      customMetadata: userMetadataOf(call.headers),
      ...(integrity.checksum?.algorithm === "SHA256" ? { sha256: Buffer.from(integrity.checksum.value, "base64").toString("hex") } : {}),
      ...(call.headers["content-md5"] ? { md5: Buffer.from(call.headers["content-md5"], "base64").toString("hex") } : {}),
    });
    return { status: 200, headers: { etag: `"${obj?.etag ?? createHash("md5").update(call.body).digest("hex")}"` } };
  }

  private async createUpload(call: S3Call, b: R2BucketLike, key: string): Promise<S3Reply> {
    this.require(call, "write");
    await this.assertUnlocked(b, key, call.now, "overwrite");
    const u = await b.createMultipartUpload(key, { httpMetadata: httpMetadataOf(call.headers), customMetadata: userMetadataOf(call.headers) });
    this.partSizes.set(u.uploadId, new Map());
    return xmlReply(200, `<InitiateMultipartUploadResult xmlns="${S3_XMLNS}">${tag("Bucket", this.cfg.name)}${tag("Key", key)}${tag("UploadId", u.uploadId)}</InitiateMultipartUploadResult>`);
  }

  private async uploadPart(call: S3Call, b: R2BucketLike, key: string): Promise<S3Reply> {
    const uploadId = call.query.get("uploadId") as string;
    const n = Number(call.query.get("partNumber"));
    if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new S3Error(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive");
    const integrity = checkUploadIntegrity(call.headers, call.body);
    const part = await b.resumeMultipartUpload(key, uploadId).uploadPart(n, plain(call.body));
    this.partSizes.get(uploadId)?.set(n, call.body.byteLength);
    return { status: 200, headers: { etag: `"${part.etag}"`, ...(integrity.checksum ? { [`x-amz-checksum-${integrity.checksum.algorithm.toLowerCase()}`]: integrity.checksum.value } : {}) } };
  }

  private async complete(call: S3Call, b: R2BucketLike, key: string): Promise<S3Reply> {
    const uploadId = call.query.get("uploadId") as string;
    const listed = parseXml<{ CompleteMultipartUpload?: { Part?: Array<Record<string, string>> } }>(call.body, "CompleteMultipartUpload").CompleteMultipartUpload?.Part ?? [];
    const sizes = this.partSizes.get(uploadId) ?? new Map<number, number>();
    const numbers = listed.map((p) => Number(p.PartNumber));
    numbers.forEach((n, i) => {
      const size = sizes.get(n);
      if (i === numbers.length - 1 || size === undefined) return;
      if (size < MIN_PART) throw new S3Error(400, "EntityTooSmall", `Your proposed upload is smaller than the minimum allowed object size (part ${n}: ${size} bytes).`);
      if (size !== sizes.get(numbers[0] as number)) throw new S3Error(400, "InvalidPart", "All non-trailing parts must have the same length.");
    });
    await this.assertUnlocked(b, key, call.now, "overwrite");
    const obj = await b.resumeMultipartUpload(key, uploadId).complete(listed.map((p) => ({ partNumber: Number(p.PartNumber), etag: String(p.ETag).replace(/"/g, "") })));
    this.partSizes.delete(uploadId);
    return xmlReply(200, `<CompleteMultipartUploadResult xmlns="${S3_XMLNS}">${tag("Bucket", this.cfg.name)}${tag("Key", key)}${tag("ETag", `"${obj.etag}"`)}</CompleteMultipartUploadResult>`);
  }
}
