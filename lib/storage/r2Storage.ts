/** BackupStorage over a Worker's R2 bucket binding. Streams go up as multipart uploads. */
import { forEachPart, UPLOAD_PART_BYTES, type BackupStorage, type Body, type ByteRange, type ListOptions, type ObjectInfo, type PutOptions } from "./types";

export class R2Storage implements BackupStorage {
  readonly label: string;
  constructor(
    private readonly bucket: R2Bucket,
    name: string,
    private readonly partBytes = UPLOAD_PART_BYTES,
  ) {
    this.label = `r2:${name}`;
  }

  async put(key: string, body: Body, options: PutOptions = {}): Promise<ObjectInfo> {
    const http = { ...(options.httpMetadata ?? {}), ...(options.contentType ? { contentType: options.contentType } : {}) };
    const custom = { ...(options.tags ?? {}), ...(options.customMetadata ?? {}) };
    const opts: R2PutOptions = {
      ...(Object.keys(http).length ? { httpMetadata: http } : {}),
      ...(Object.keys(custom).length ? { customMetadata: custom } : {}),
    };
    if (!(body instanceof ReadableStream)) {
      const obj = await this.bucket.put(key, body, opts);
      return { key, size: obj?.size ?? 0, etag: obj?.etag };
    }
    let upload: R2MultipartUpload | undefined;
    const parts: R2UploadedPart[] = [];
    let single: R2Object | null = null;
    try {
      await forEachPart(body, this.partBytes, async (part, index, last) => {
        if (index === 0 && last) {
          single = await this.bucket.put(key, part, opts);
          return;
        }
        upload ??= await this.bucket.createMultipartUpload(key, opts);
        parts.push(await upload.uploadPart(index + 1, part));
      });
      if (single) return { key, size: (single as R2Object).size, etag: (single as R2Object).etag };
      const obj = await (upload as R2MultipartUpload).complete(parts);
      return { key, size: obj.size, etag: obj.etag };
    } catch (err) {
      // An aborted multipart upload leaves nothing behind; lifecycle rules catch the rest.
      await upload?.abort().catch(() => undefined);
      throw err;
    }
  }

  async get(key: string, range?: ByteRange): Promise<ReadableStream<Uint8Array> | null> {
    const obj = await this.bucket.get(key, range ? { range: { offset: range.offset, ...(range.length !== undefined ? { length: range.length } : {}) } } : undefined);
    return obj ? (obj.body as ReadableStream<Uint8Array>) : null;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const obj = await this.bucket.head(key);
    return obj ? { key, size: obj.size, etag: obj.etag, uploaded: obj.uploaded } : null;
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectInfo> {
    let cursor: string | undefined;
    do {
      // R2's startAfter applies to the first page; the cursor carries it on.
      const page = await this.bucket.list({ prefix, ...(cursor ? { cursor } : options.startAfter ? { startAfter: options.startAfter } : {}) });
      for (const o of page.objects) yield { key: o.key, size: o.size, etag: o.etag, uploaded: o.uploaded };
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  }

  async delete(key: string): Promise<void> {
    await this.bucket.delete(key);
  }
}
