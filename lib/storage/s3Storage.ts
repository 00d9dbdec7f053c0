/**
 * BackupStorage over the S3 API, signed with SigV4 by aws4fetch. Works from a Worker and from
 * Node, against AWS S3, R2's S3-compatible endpoint and s3rver. Streams go up as multipart
 * uploads in fixed-size parts; every upload carries a SHA-256 checksum, which S3 requires for
 * objects under Object Lock.
 */
import { AwsClient } from "aws4fetch";
import { createHash } from "node:crypto";
import { XMLParser } from "fast-xml-parser";
import { asBytes } from "../format/bytes";
import { forEachPart, StorageError, UPLOAD_PART_BYTES, bodyBytes, type BackupStorage, type Body, type ByteRange, type ObjectInfo, type PutOptions } from "./types";

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
}

const xml = new XMLParser({ ignoreAttributes: true, parseTagValue: false, isArray: (name) => name === "Contents" });

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

export class S3Storage implements BackupStorage {
  readonly label: string;
  private readonly client: AwsClient;
  private readonly base: string;
  private readonly partBytes: number;

  constructor(cfg: S3Config) {
    this.label = `s3:${cfg.bucket}`;
    this.client = new AwsClient({ accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey, service: "s3", region: cfg.region, retries: 2 });
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
      throw new StorageError(`${this.label}: ${what} failed: HTTP ${res.status} ${code}`.trim(), res.status);
    }
    return res;
  }

  private objectHeaders(options: PutOptions): Record<string, string> {
    const http = options.httpMetadata ?? {};
    const httpHeaders: Record<string, string> = {};
    for (const [k, v] of Object.entries({ contentType: "content-type", cacheControl: "cache-control", contentDisposition: "content-disposition", contentEncoding: "content-encoding", contentLanguage: "content-language" })) {
      if (http[k]) httpHeaders[v] = http[k] as string;
    }
    return {
      ...(options.contentType ? { "content-type": options.contentType } : {}),
      ...httpHeaders,
      ...Object.fromEntries(Object.entries(options.customMetadata ?? {}).map(([k, v]) => [`x-amz-meta-${k.toLowerCase()}`, encodeURIComponent(v)])),
      ...(options.tags && Object.keys(options.tags).length ? { "x-amz-tagging": tagging(options.tags) } : {}),
      ...(options.retainUntil
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
      throw new StorageError(`${this.label}: get ${key} failed: HTTP ${res.status}`, res.status);
    }
    return res.body as ReadableStream<Uint8Array>;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const res = await this.client.fetch(this.url(key), { method: "HEAD" });
    if (res.status === 404) return null;
    if (res.status !== 200) throw new StorageError(`${this.label}: head ${key} failed: HTTP ${res.status}`, res.status);
    const modified = res.headers.get("last-modified");
    return {
      key,
      size: Number(res.headers.get("content-length") ?? 0),
      etag: res.headers.get("etag") ?? undefined,
      ...(modified ? { uploaded: new Date(modified) } : {}),
    };
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      const q = new URLSearchParams({ "list-type": "2", prefix, ...(token ? { "continuation-token": token } : {}) });
      const res = await this.send(`${this.base}?${q.toString()}`, {}, `list ${prefix}`);
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
