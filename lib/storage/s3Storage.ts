/**
 * BackupStorage over the S3 API, signed with SigV4 by aws4fetch. Works from a Worker and from
 * Node, against AWS S3, R2's S3-compatible endpoint and S3-compatible on-prem stores. Streams go
 * up as multipart uploads in fixed-size parts; every upload carries a SHA-256 checksum, which S3
 * requires for objects under Object Lock.
 *
 * The flavour says what the endpoint implements. R2's S3 API answers 501 NotImplemented to
 * object tagging and Object Lock headers (it locks by bucket rules instead), so on R2 tags travel
 * as custom metadata, as they do through the R2 binding, and no lock header is sent.
 * Source: https://developers.cloudflare.com/r2/api/s3/api/
 */
import { AwsClient } from "aws4fetch";
import { createHash } from "node:crypto";
import { XMLParser } from "fast-xml-parser";
import { asBytes } from "../format/bytes";
import { metadataFromHeaders, metadataHeaders } from "./s3Metadata";
import { forEachPart, StorageError, UPLOAD_PART_BYTES, bodyBytes, type BackupStorage, type Body, type ByteRange, type ListOptions, type ObjectInfo, type PutOptions } from "./types";

export interface S3Config {
  /** e.g. https://s3.eu-central-1.amazonaws.com, https://<account>.r2.cloudflarestorage.com, http://127.0.0.1:4568 */
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** "virtual" (https://<bucket>.<endpoint host>/key, AWS's default) or "path" (<endpoint>/<bucket>/key,
   * for R2's S3 endpoint and local endpoints). Default: path. */
  readonly addressing?: "path" | "virtual";
  readonly partBytes?: number;
  /** Temporary credentials (SSO, assumed roles): sent as X-Amz-Security-Token. */
  readonly sessionToken?: string;
  /** "aws" (default): tags and Object Lock headers; "r2": neither (see above). */
  readonly flavour?: S3Flavour;
}

export type S3Flavour = "aws" | "r2";

const xml = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: false, isArray: (name) => name === "Contents" });

function sha256b64(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("base64");
}

function encodeKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

function tagging(tags: Readonly<Record<string, string>>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&");
}

/** HTTP metadata fields and their headers. */
const HTTP_HEADERS = { contentType: "content-type", cacheControl: "cache-control", contentDisposition: "content-disposition", contentEncoding: "content-encoding", contentLanguage: "content-language" } as const;

export class S3Storage implements BackupStorage {
  readonly label: string;
  readonly flavour: S3Flavour;
  private readonly client: AwsClient;
  private readonly base: string;
  private readonly partBytes: number;

  constructor(cfg: S3Config) {
    this.flavour = cfg.flavour ?? "aws";
    this.label = `${this.flavour === "r2" ? "r2" : "s3"}:${cfg.bucket}`;
    this.client = new AwsClient({
      accessKeyId: cfg.accessKeyId,
      secretAccessKey: cfg.secretAccessKey,
      ...(cfg.sessionToken ? { sessionToken: cfg.sessionToken } : {}),
      service: "s3",
      region: cfg.region,
      retries: 2,
    });
    const endpoint = new URL(cfg.endpoint);
    this.base =
      cfg.addressing === "virtual"
        ? `${endpoint.protocol}//${cfg.bucket}.${endpoint.host}`
        : `${cfg.endpoint.replace(/\/$/, "")}/${cfg.bucket}`;
    this.partBytes = cfg.partBytes ?? UPLOAD_PART_BYTES;
  }

  private url(key: string, query = ""): string {
    return `${this.base}/${encodeKey(key)}${query}`;
  }

  private async send(url: string, init: RequestInit, what: string, okStatuses: number[] = [200]): Promise<Response> {
    const res = await this.client.fetch(url, init);
    if (!okStatuses.includes(res.status)) {
      const text = await res.text().catch(() => "");
      const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? "";
      const message = /<Message>([^<]+)<\/Message>/.exec(text)?.[1];
      throw new StorageError(`${this.label}: ${what} failed: HTTP ${res.status} ${code}${message && res.status !== 403 ? ` (${message})` : ""}`.trim(), res.status);
    }
    return res;
  }

  /** Why a read of one key was refused: S3 answers 403, not 404, for a missing key to a caller
   * without an unconditioned s3:ListBucket, so a 403 may mean "absent" as well as "forbidden". */
  private readRefused(what: string, key: string, status: number): StorageError {
    const hint = status === 403 ? " (AccessDenied: either the identity may not read it, or the object does not exist and the identity may not list the bucket)" : "";
    return new StorageError(`${this.label}: ${what} ${key} failed: HTTP ${status}${hint}`, status);
  }

  private objectHeaders(options: PutOptions): Record<string, string> {
    const http = options.httpMetadata ?? {};
    const httpHeaders: Record<string, string> = {};
    for (const [k, v] of Object.entries(HTTP_HEADERS)) if (http[k]) httpHeaders[v] = http[k] as string;
    const r2 = this.flavour === "r2";
    const tags = options.tags && Object.keys(options.tags).length ? options.tags : undefined;
    return {
      ...(options.contentType ? { "content-type": options.contentType } : {}),
      ...httpHeaders,
      ...metadataHeaders({ ...(r2 && tags ? tags : {}), ...(options.customMetadata ?? {}) }),
      ...(!r2 && tags ? { "x-amz-tagging": tagging(tags) } : {}),
      ...(!r2 && options.retainUntil
        ? { "x-amz-object-lock-mode": options.lockMode ?? "COMPLIANCE", "x-amz-object-lock-retain-until-date": options.retainUntil.toISOString() }
        : {}),
    };
  }

  async put(key: string, body: Body, options: PutOptions = {}): Promise<ObjectInfo> {
    if (!(body instanceof ReadableStream)) return this.putSingle(key, bodyBytes(body), options);
    let uploadId: string | undefined;
    const etags: Array<{ n: number; etag: string; sum: string }> = [];
    let result: ObjectInfo | undefined;
    let total = 0;
    try {
      await forEachPart(body, this.partBytes, async (part, index, last) => {
        total += part.byteLength;
        if (index === 0 && last) {
          result = await this.putSingle(key, part, options);
          return;
        }
        if (!uploadId) {
          const res = await this.send(this.url(key, "?uploads"), { method: "POST", headers: { ...this.objectHeaders(options), "x-amz-checksum-algorithm": "SHA256" } }, `create multipart upload of ${key}`);
          uploadId = String((xml.parse(await res.text()) as { InitiateMultipartUploadResult: { UploadId: string } }).InitiateMultipartUploadResult.UploadId);
        }
        const sum = sha256b64(part);
        const res = await this.send(
          this.url(key, `?partNumber=${index + 1}&uploadId=${encodeURIComponent(uploadId)}`),
          { method: "PUT", body: asBytes(part), headers: { "x-amz-checksum-sha256": sum, "content-length": String(part.byteLength) } },
          `upload part ${index + 1} of ${key}`,
        );
        etags.push({ n: index + 1, etag: res.headers.get("etag") ?? "", sum });
      });
      if (result) return result;
      const complete = `<CompleteMultipartUpload>${etags
        .map((p) => `<Part><PartNumber>${p.n}</PartNumber><ETag>${p.etag}</ETag><ChecksumSHA256>${p.sum}</ChecksumSHA256></Part>`)
        .join("")}</CompleteMultipartUpload>`;
      const res = await this.send(this.url(key, `?uploadId=${encodeURIComponent(uploadId as string)}`), { method: "POST", body: complete }, `complete multipart upload of ${key}`);
      const text = await res.text();
      // S3 can answer 200 with an error document when completion fails late.
      if (/<Error>/.test(text)) throw new StorageError(`${this.label}: complete multipart upload of ${key} failed: ${/<Code>([^<]+)/.exec(text)?.[1] ?? "error"}`);
      return { key, size: total };
    } catch (err) {
      if (uploadId) {
        await this.client.fetch(this.url(key, `?uploadId=${encodeURIComponent(uploadId)}`), { method: "DELETE" }).catch(() => undefined);
      }
      throw err;
    }
  }

  private async putSingle(key: string, bytes: Uint8Array, options: PutOptions): Promise<ObjectInfo> {
    const res = await this.send(
      this.url(key),
      {
        method: "PUT",
        body: asBytes(bytes),
        headers: {
          ...this.objectHeaders(options),
          "x-amz-sdk-checksum-algorithm": "SHA256",
          "x-amz-checksum-sha256": sha256b64(bytes),
          "content-length": String(bytes.byteLength),
        },
      },
      `put ${key}`,
    );
    return { key, size: bytes.byteLength, etag: res.headers.get("etag") ?? undefined };
  }

  async get(key: string, range?: ByteRange): Promise<ReadableStream<Uint8Array> | null> {
    const headers: Record<string, string> = {};
    if (range) headers.range = `bytes=${range.offset}-${range.length !== undefined ? range.offset + range.length - 1 : ""}`;
    const res = await this.client.fetch(this.url(key), { headers });
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      throw this.readRefused("get", key, res.status);
    }
    return res.body as ReadableStream<Uint8Array>;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const res = await this.client.fetch(this.url(key), { method: "HEAD" });
    if (res.status === 404) return null;
    if (res.status !== 200) throw this.readRefused("head", key, res.status);
    const modified = res.headers.get("last-modified");
    const httpMetadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(HTTP_HEADERS)) {
      const value = res.headers.get(v);
      if (value !== null) httpMetadata[k] = value;
    }
    return {
      key,
      size: Number(res.headers.get("content-length") ?? 0),
      etag: res.headers.get("etag") ?? undefined,
      ...(modified ? { uploaded: new Date(modified) } : {}),
      httpMetadata,
      customMetadata: metadataFromHeaders(res.headers),
    };
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      const params: Record<string, string> = { "list-type": "2", prefix, ...(token ? { "continuation-token": token } : options.startAfter ? { "start-after": options.startAfter } : {}) };
      // %20 for spaces, never '+': S3 reads '+' in a query string as a literal plus sign.
      const q = Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
      const res = await this.send(`${this.base}?${q}`, {}, `list ${prefix}`);
      const doc = xml.parse(await res.text()) as {
        ListBucketResult: { Contents?: Array<{ Key: string; Size: string; ETag?: string; LastModified?: string }>; IsTruncated?: string; NextContinuationToken?: string };
      };
      const r = doc.ListBucketResult;
      for (const c of r.Contents ?? []) {
        yield { key: String(c.Key), size: Number(c.Size), ...(c.ETag ? { etag: String(c.ETag) } : {}), ...(c.LastModified ? { uploaded: new Date(c.LastModified) } : {}) };
      }
      token = r.IsTruncated === "true" ? r.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    await this.send(this.url(key), { method: "DELETE" }, `delete ${key}`, [200, 204]);
  }
}
