/**
 * One small interface over the three places backups can live: the R2 binding (Worker), the
 * S3 API (Worker and CLI; also R2's S3-compatible endpoint) and a local directory (CLI, drill).
 * Job code only ever talks to this interface, so every destination behaves the same way.
 */
export interface PutOptions {
  readonly contentType?: string;
  /** HTTP metadata of a restored object: contentType, cacheControl, contentDisposition,
   * contentEncoding, contentLanguage. */
  readonly httpMetadata?: Readonly<Record<string, string>>;
  /** User metadata of a restored object (R2 custom metadata, S3 x-amz-meta-*). */
  readonly customMetadata?: Readonly<Record<string, string>>;
  /** S3 object tags (the staleness alarm counts manifests by tag); R2 custom metadata. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Object Lock retain-until date for this object (S3). R2 locks by bucket rules instead. */
  readonly retainUntil?: Date;
  readonly lockMode?: "COMPLIANCE" | "GOVERNANCE";
}

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly etag?: string;
  readonly uploaded?: Date;
  /** On head(): the object's HTTP and custom metadata, decoded (when the storage reports them). */
  readonly httpMetadata?: Readonly<Record<string, string>>;
  readonly customMetadata?: Readonly<Record<string, string>>;
}

export interface ListOptions {
  /** Only keys after this one (S3 start-after, R2 startAfter): resumes a listing cheaply. */
  readonly startAfter?: string;
}

export interface ByteRange {
  readonly offset: number;
  readonly length?: number;
}

export type Body = ReadableStream<Uint8Array> | Uint8Array | string;

export interface BackupStorage {
  /** Human name for messages, e.g. "r2:drp-prod-1a2b3c" or "s3:bucket". */
  readonly label: string;
  /** Writes an object; a stream is uploaded in bounded parts. A failed put leaves no object. */
  put(key: string, body: Body, options?: PutOptions): Promise<ObjectInfo>;
  /** Streams an object (or a byte range of it); null when it does not exist. */
  get(key: string, range?: ByteRange): Promise<ReadableStream<Uint8Array> | null>;
  head(key: string): Promise<ObjectInfo | null>;
  /** Every object under a prefix, in key order. */
  list(prefix: string, options?: ListOptions): AsyncIterable<ObjectInfo>;
  /** Deletes an object. Locked backups refuse this; it is used for job state and cleanup. */
  delete(key: string): Promise<void>;
}

export class StorageError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = "StorageError";
  }
}

/** Size of the parts a streamed upload is cut into: the memory bound of an upload. */
export const UPLOAD_PART_BYTES = 8 * 1024 * 1024;

export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const p of stream as unknown as AsyncIterable<Uint8Array>) {
    parts.push(p);
    n += p.byteLength;
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

export async function getText(storage: BackupStorage, key: string): Promise<string | null> {
  const s = await storage.get(key);
  return s ? new TextDecoder().decode(await readAll(s)) : null;
}

export function bodyBytes(body: Uint8Array | string): Uint8Array {
  return typeof body === "string" ? new TextEncoder().encode(body) : body;
}

/**
 * Cuts a stream into parts of exactly `partBytes` (the last may be shorter), calling `onPart`
 * for each with backpressure. Returns the number of parts. If the whole stream fits in one
 * part, `onPart` is called once with `last = true`, letting callers use a single PUT.
 */
export async function forEachPart(
  stream: ReadableStream<Uint8Array>,
  partBytes: number,
  onPart: (part: Uint8Array, index: number, last: boolean) => Promise<void>,
): Promise<number> {
  const reader = stream.getReader();
  let buf = new Uint8Array(partBytes);
  let fill = 0;
  let pending: Uint8Array | null = null;
  // A part whose upload has finished is reused: two buffers for the whole stream instead of a
  // new one per part, so a 256 MiB copy does not leave 256 MiB of garbage for the GC to find.
  let spare: Uint8Array | null = null;
  let index = 0;
  const send = async (part: Uint8Array, last: boolean) => {
    await onPart(part, index++, last);
    if (!last) spare = part;
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      let at = 0;
      while (at < value.byteLength) {
        const n = Math.min(partBytes - fill, value.byteLength - at);
        buf.set(value.subarray(at, at + n), fill);
        fill += n;
        at += n;
        if (fill === partBytes) {
          if (pending) await send(pending, false);
          pending = buf;
          buf = spare ?? new Uint8Array(partBytes);
          spare = null;
          fill = 0;
        }
      }
      if (pending && fill > 0) {
        await send(pending, false);
        pending = null;
      }
    }
  } finally {
    reader.releaseLock();
  }
  if (pending && fill === 0) await send(pending, true);
  else await send(buf.subarray(0, fill), true);
  return index;
}
