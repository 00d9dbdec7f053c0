/**
 * Writing and reading encrypted artifacts through a storage: plaintext is produced into a
 * writer, encrypted chunk by chunk and uploaded as it goes, so memory stays at a chunk plus
 * one upload part whatever the artifact's size.
 */
import { decryptArtifact, encryptArtifact, type ArtifactStats } from "../format/artifactCipher";
import { textEncoder } from "../format/bytes";
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
  let rest = "";
  for await (const part of stream as unknown as AsyncIterable<Uint8Array>) {
    rest += decoder.decode(part, { stream: true });
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (line) yield JSON.parse(line);
    }
  }
  rest += decoder.decode();
  if (rest.trim()) yield JSON.parse(rest);
}
