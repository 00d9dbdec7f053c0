/**
 * Writing and reading encrypted artifacts through a storage: plaintext is produced into a
 * writer, encrypted chunk by chunk and uploaded as it goes, so memory stays at a chunk plus
 * one upload part whatever the artifact's size.
 */
import { decryptArtifact, encryptArtifact, type ArtifactStats } from "../format/artifactCipher";
import { concatBytes, textEncoder } from "../format/bytes";
import type { MasterKey } from "../format/keys";
import type { ArtifactEntry } from "../format/manifest";
import { StorageError, type BackupStorage } from "../storage/types";

export type Produce = (out: ByteSink) => Promise<void>;

/** Buffers small writes (NDJSON lines) into ~64 KiB pieces before they reach the cipher. */
export class ByteSink {
  private buf: Uint8Array[] = [];
  private size = 0;
  written = 0;
  constructor(private readonly writer: WritableStreamDefaultWriter<Uint8Array>, private readonly flushAt = 64 * 1024) {}

  async write(bytes: Uint8Array): Promise<void> {
    this.written += bytes.byteLength;
    if (bytes.byteLength >= this.flushAt) {
      await this.flush();
      await this.writer.write(bytes);
      return;
    }
    this.buf.push(bytes);
    this.size += bytes.byteLength;
    if (this.size >= this.flushAt) await this.flush();
  }

  line(value: unknown): Promise<void> {
    return this.write(textEncoder.encode(`${JSON.stringify(value)}\n`));
  }

  async flush(): Promise<void> {
    if (!this.size) return;
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const b of this.buf) {
      out.set(b, at);
      at += b.byteLength;
    }
    this.buf = [];
    this.size = 0;
    await this.writer.write(out);
  }

  /** Streams a body into the artifact; returns the bytes copied. */
  async pipeFrom(stream: ReadableStream<Uint8Array>): Promise<number> {
    await this.flush();
    let n = 0;
    for await (const part of stream as unknown as AsyncIterable<Uint8Array>) {
      n += part.byteLength;
      this.written += part.byteLength;
      await this.writer.write(part);
    }
    return n;
  }
}

export async function writeArtifact(
  storage: BackupStorage,
  master: MasterKey,
  target: { key: string; name: string; role: string },
  produce: Produce,
  chunkSize?: number,
): Promise<ArtifactEntry> {
  const { stream, stats } = encryptArtifact(master, chunkSize ? { chunkSize } : {});
  const writer = stream.writable.getWriter();
  const upload = storage.put(target.key, stream.readable, { contentType: "application/octet-stream" });
  // If the upload dies first, stop producing instead of filling a stream nobody reads.
  upload.catch((err: unknown) => writer.abort(err).catch(() => undefined));
  try {
    const sink = new ByteSink(writer);
    await produce(sink);
    await sink.flush();
    await writer.close();
  } catch (err) {
    await writer.abort(err).catch(() => undefined);
    await upload.catch(() => undefined);
    throw err;
  }
  await upload;
  const s: ArtifactStats = await stats;
  return { name: target.name, key: target.key, role: target.role, ...s };
}

/** Decrypted, authenticated plaintext of an artifact, checked against its manifest entry. */
export async function openArtifact(storage: BackupStorage, master: MasterKey, entry: ArtifactEntry): Promise<ReadableStream<Uint8Array>> {
  const body = await storage.get(entry.key);
  if (!body) throw new StorageError(`${storage.label}: artifact ${entry.key} is missing`);
  const { stream } = decryptArtifact(master, entry, `${storage.label}/${entry.key}`);
  return body.pipeThrough(stream);
}

/** Reads an artifact as NDJSON values, one at a time. */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  // The current line's pieces: only new text is searched for "\n", so a line of many chunks
  // (a 25 MiB KV value is 33 MB of base64) costs linear time, not quadratic.
  let pieces: string[] = [];
  for await (const part of stream as unknown as AsyncIterable<Uint8Array>) {
    const text = decoder.decode(part, { stream: true });
    let from = 0;
    let nl: number;
    while ((nl = text.indexOf("\n", from)) >= 0) {
      pieces.push(text.slice(from, nl));
      const line = pieces.join("");
      pieces = [];
      from = nl + 1;
      if (line) yield JSON.parse(line);
    }
    if (from < text.length) pieces.push(text.slice(from));
  }
  const rest = pieces.join("") + decoder.decode();
  if (rest.trim()) yield JSON.parse(rest);
}

/**
 * NDJSON values with the plaintext byte offset each one ends at: a position a later reader
 * can resume from (openArtifactRange at that offset, then readLinesAt(stream, offset)). Lines
 * are cut on the newline byte, which UTF-8 never uses inside a character.
 */
export async function* readLinesAt(stream: ReadableStream<Uint8Array>, start = 0): AsyncGenerator<{ value: unknown; start: number; end: number }> {
  const decoder = new TextDecoder();
  let pos = start;
  let pieces: Uint8Array[] = [];
  const line = function* (bytes: Uint8Array) {
    const at = pos;
    pos += bytes.byteLength;
    const text = decoder.decode(bytes);
    if (text.trim()) yield { value: JSON.parse(text) as unknown, start: at, end: pos };
  };
  for await (const part of stream as unknown as AsyncIterable<Uint8Array>) {
    let from = 0;
    let nl: number;
    while ((nl = part.indexOf(10, from)) >= 0) {
      pieces.push(part.subarray(from, nl + 1));
      const bytes = pieces.length === 1 ? (pieces[0] as Uint8Array) : concatBytes(pieces);
      pieces = [];
      from = nl + 1;
      yield* line(bytes);
    }
    if (from < part.byteLength) pieces.push(part.slice(from));
  }
  if (pieces.length) yield* line(concatBytes(pieces));
}

/**
 * An artifact that is created only once it has content: writes are held until `threshold`
 * bytes, then the upload starts and everything flows through. Closing one that never got a
 * byte writes nothing (a differential step with no change adds no object).
 */
export class DeferredArtifact {
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private sink?: ByteSink;
  private finish?: () => void;
  private fail?: (err: unknown) => void;
  private upload?: Promise<ArtifactEntry>;
  written = 0;

  constructor(
    private readonly open: (produce: Produce) => Promise<ArtifactEntry>,
    private readonly threshold = 1024 * 1024,
  ) {}

  private async start(): Promise<void> {
    let ready!: () => void;
    const opened = new Promise<void>((r) => (ready = r));
    const finished = new Promise<void>((resolve, reject) => {
      this.finish = resolve;
      this.fail = reject;
    });
    this.upload = this.open(async (out) => {
      for (const b of this.held) await out.write(b);
      this.held = [];
      this.sink = out;
      ready();
      await finished;
    });
    // If the upload fails before it ever opened, surface that instead of waiting for ever.
    await Promise.race([opened, this.upload.then(() => undefined)]);
    if (!this.sink) throw new Error("artifact upload ended before it opened");
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.written += bytes.byteLength;
    if (this.sink) return this.sink.write(bytes);
    this.held.push(bytes);
    this.heldBytes += bytes.byteLength;
    if (this.heldBytes >= this.threshold) await this.start();
  }

  line(value: unknown): Promise<void> {
    return this.write(textEncoder.encode(`${JSON.stringify(value)}\n`));
  }

  /** The artifact, or null when nothing was written. */
  async close(): Promise<ArtifactEntry | null> {
    if (!this.sink) {
      if (!this.heldBytes) return null;
      await this.start();
    }
    this.finish?.();
    return this.upload as Promise<ArtifactEntry>;
  }

  /** Abandons the upload: its producer fails, so the partial object is never completed. */
  async abort(err: unknown): Promise<void> {
    if (!this.upload) return;
    this.fail?.(err);
    await this.upload.catch(() => undefined);
  }
}
