/**
 * Streaming authenticated encryption of one artifact (see docs/FORMAT.md).
 *
 *   header  = "DRPENC01" | version u8 = 1 | chunk size u32 BE | artifact id (16) | key id (8)
 *   chunk i = AES-256-GCM(artifact key, nonce = 0x00000000 | u64 BE i,
 *                         aad = header | u64 BE i | final u8, plaintext chunk i) -> ct | tag(16)
 *
 * Every chunk but the last carries exactly `chunk size` plaintext bytes; the last carries
 * 0..chunk size and final = 1. Binding the header (so the artifact id and key id), the index
 * and the final flag into each chunk's tag makes bit flips, reordering, truncation, splicing
 * chunks between artifacts and appending data all fail authentication. Memory is one chunk
 * held back (to learn whether it is the last) plus the one being filled.
 */
import { createHash, type Hash } from "node:crypto";
import { bytesEqual, concatBytes, fromHex, randomBytes, textEncoder, toHex, u64be, type Bytes } from "./bytes";
import { artifactAead, type ChunkAead } from "./chunkAead";
import type { MasterKey } from "./keys";

export const MAGIC = textEncoder.encode("DRPENC01");
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 37;
export const TAG_BYTES = 16;
export const DEFAULT_CHUNK_SIZE = 64 * 1024;

export interface ArtifactStats {
  /** Hex of the 16-byte artifact id in the header. */
  artifactId: string;
  plaintextBytes: number;
  ciphertextBytes: number;
  plaintextSha256: string;
  ciphertextSha256: string;
  chunks: number;
}

export class ArtifactIntegrityError extends Error {
  constructor(message: string, readonly reason: "wrong-key" | "header" | "tampered" | "truncated" | "trailing-data" | "mismatch") {
    super(message);
    this.name = "ArtifactIntegrityError";
  }
}

interface Header {
  bytes: Uint8Array;
  chunkSize: number;
  artifactId: Uint8Array;
  keyId: string;
}

function buildHeader(chunkSize: number, artifactId: Uint8Array, keyId: string): Uint8Array {
  const h = new Uint8Array(HEADER_BYTES);
  h.set(MAGIC, 0);
  h[8] = FORMAT_VERSION;
  new DataView(h.buffer).setUint32(9, chunkSize);
  h.set(artifactId, 13);
  h.set(fromHex(keyId), 29);
  return h;
}

export function parseHeader(bytes: Uint8Array): Header {
  if (bytes.byteLength < HEADER_BYTES) throw new ArtifactIntegrityError("artifact is shorter than its header", "truncated");
  if (!bytesEqual(bytes.subarray(0, 8), MAGIC)) throw new ArtifactIntegrityError("not a drposture artifact (bad magic)", "header");
  if (bytes[8] !== FORMAT_VERSION) throw new ArtifactIntegrityError(`unsupported artifact format version ${bytes[8]}`, "header");
  const chunkSize = new DataView(bytes.buffer, bytes.byteOffset).getUint32(9);
  if (chunkSize < 1 || chunkSize > 16 * 1024 * 1024) throw new ArtifactIntegrityError(`implausible chunk size ${chunkSize}`, "header");
  return {
    bytes: bytes.slice(0, HEADER_BYTES),
    chunkSize,
    artifactId: bytes.slice(13, 29),
    keyId: toHex(bytes.subarray(29, 37)),
  };
}

function nonce(index: number): Bytes {
  const n = new Uint8Array(12);
  n.set(u64be(index), 4);
  return n;
}

function aad(header: Uint8Array, index: number, final: boolean): Bytes {
  return concatBytes([header, u64be(index), new Uint8Array([final ? 1 : 0])]);
}

/** The stats promise a stream settles when it ends; never an unhandled rejection on its own. */
function pendingStats(): { promise: Promise<ArtifactStats>; resolve: (s: ArtifactStats) => void; reject: (e: unknown) => void } {
  let resolve!: (s: ArtifactStats) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<ArtifactStats>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Accumulates chunk-sized pieces, holding one full chunk back until it is known not to be last. */
class Chunker {
  private fill: Uint8Array;
  private fillLen = 0;
  private held: Uint8Array | null = null;
  constructor(private readonly size: number) {
    this.fill = new Uint8Array(size);
  }
  /** Adds bytes; returns the chunks now known not to be last. */
  push(data: Uint8Array): Uint8Array[] {
    const ready: Uint8Array[] = [];
    let at = 0;
    while (at < data.byteLength) {
      const n = Math.min(this.size - this.fillLen, data.byteLength - at);
      this.fill.set(data.subarray(at, at + n), this.fillLen);
      this.fillLen += n;
      at += n;
      if (this.fillLen === this.size) {
        if (this.held) ready.push(this.held);
        this.held = this.fill;
        this.fill = new Uint8Array(this.size);
        this.fillLen = 0;
      }
    }
    // A partial fill after a held chunk proves the held one is not last.
    if (this.held && this.fillLen > 0) {
      ready.push(this.held);
      this.held = null;
    }
    return ready;
  }
  /** The last chunk (possibly empty). */
  last(): Uint8Array {
    if (this.held && this.fillLen === 0) return this.held;
    return this.fill.subarray(0, this.fillLen);
  }
}

export interface EncryptOptions {
  chunkSize?: number;
  /** Fixed artifact id (16 bytes); random by default. Tests use it for splicing cases. */
  artifactId?: Uint8Array;
}

/** Encrypts a plaintext stream. `stats` resolves once the output has been fully read. */
export function encryptArtifact(master: MasterKey, options: EncryptOptions = {}): {
  stream: TransformStream<Uint8Array, Uint8Array>;
  stats: Promise<ArtifactStats>;
} {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const artifactId = options.artifactId ?? randomBytes(16);
  const header = buildHeader(chunkSize, artifactId, master.id);
  const aeadPromise = artifactAead(master, artifactId, "encrypt");
  aeadPromise.catch(() => undefined);
  const chunker = new Chunker(chunkSize);
  const plainHash: Hash = createHash("sha256");
  const cipherHash: Hash = createHash("sha256");
  let index = 0;
  let plaintextBytes = 0;
  let ciphertextBytes = 0;
  const { promise: stats, resolve: resolveStats, reject: rejectStats } = pendingStats();

  const emit = (controller: TransformStreamDefaultController<Uint8Array>, bytes: Uint8Array) => {
    cipherHash.update(bytes);
    ciphertextBytes += bytes.byteLength;
    controller.enqueue(bytes);
  };
  const seal = async (controller: TransformStreamDefaultController<Uint8Array>, chunk: Uint8Array, final: boolean) => {
    const ct = await (await aeadPromise).seal(nonce(index), aad(header, index, final), chunk);
    index++;
    emit(controller, ct);
  };

  const stream = new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      emit(controller, header);
    },
    async transform(data, controller) {
      try {
        plainHash.update(data);
        plaintextBytes += data.byteLength;
        for (const chunk of chunker.push(data)) await seal(controller, chunk, false);
      } catch (err) {
        rejectStats(err);
        throw err;
      }
    },
    async flush(controller) {
      try {
        await seal(controller, chunker.last(), true);
        resolveStats({
          artifactId: toHex(artifactId),
          plaintextBytes,
          ciphertextBytes,
          plaintextSha256: plainHash.digest("hex"),
          ciphertextSha256: cipherHash.digest("hex"),
          chunks: index,
        });
      } catch (err) {
        rejectStats(err);
        throw err;
      }
    },
  });
  return { stream, stats };
}

export interface ExpectedArtifact {
  artifactId?: string;
  plaintextBytes?: number;
  plaintextSha256?: string;
  ciphertextSha256?: string;
}

/**
 * Decrypts and authenticates an artifact stream. Errors are ArtifactIntegrityError with a
 * reason; when `expected` is given, sizes and hashes are checked at the end as well.
 */
export function decryptArtifact(master: MasterKey, expected: ExpectedArtifact = {}, label = "artifact"): {
  stream: TransformStream<Uint8Array, Uint8Array>;
  stats: Promise<ArtifactStats>;
} {
  let header: Header | null = null;
  let headerBuf: Uint8Array = new Uint8Array(0);
  let aead: ChunkAead | null = null;
  let chunker: Chunker | null = null;
  const plainHash: Hash = createHash("sha256");
  const cipherHash: Hash = createHash("sha256");
  let index = 0;
  let plaintextBytes = 0;
  let ciphertextBytes = 0;
  const { promise: stats, resolve: resolveStats, reject: rejectStats } = pendingStats();

  const open = async (sealed: Uint8Array, final: boolean): Promise<Uint8Array> => {
    const h = header as Header;
    const tryOpen = (asFinal: boolean) => (aead as ChunkAead).open(nonce(index), aad(h.bytes, index, asFinal), sealed);
    try {
      return await tryOpen(final);
    } catch {
      // Diagnose: does the chunk authenticate under the other final flag?
      const other = await tryOpen(!final).then(
        () => true,
        () => false,
      );
      if (other && final) throw new ArtifactIntegrityError(`${label}: truncated after chunk ${index} (the final chunk is missing)`, "truncated");
      if (other && !final) throw new ArtifactIntegrityError(`${label}: data after the final chunk ${index}`, "trailing-data");
      throw new ArtifactIntegrityError(`${label}: chunk ${index} failed authentication (corrupted, cut short, reordered or from another artifact)`, "tampered");
    }
  };

  const stream = new TransformStream<Uint8Array, Uint8Array>({
    async transform(data, controller) {
      try {
        cipherHash.update(data);
        ciphertextBytes += data.byteLength;
        let rest = data;
        if (!header) {
          headerBuf = concatBytes([headerBuf, data]);
          if (headerBuf.byteLength < HEADER_BYTES) return;
          header = parseHeader(headerBuf);
          if (header.keyId !== master.id) {
            throw new ArtifactIntegrityError(`${label}: encrypted with key ${header.keyId}, but the key given is ${master.id} (wrong key)`, "wrong-key");
          }
          if (expected.artifactId && expected.artifactId !== toHex(header.artifactId)) {
            throw new ArtifactIntegrityError(`${label}: artifact id ${toHex(header.artifactId)} is not the one the manifest names (${expected.artifactId})`, "mismatch");
          }
          aead = await artifactAead(master, header.artifactId, "decrypt");
          chunker = new Chunker(header.chunkSize + TAG_BYTES);
          rest = headerBuf.subarray(HEADER_BYTES);
        }
        for (const sealed of (chunker as Chunker).push(rest)) {
          const plain = await open(sealed, false);
          index++;
          plainHash.update(plain);
          plaintextBytes += plain.byteLength;
          controller.enqueue(plain);
        }
      } catch (err) {
        rejectStats(err);
        throw err;
      }
    },
    async flush(controller) {
      try {
        if (!header || !chunker) throw new ArtifactIntegrityError(`${label}: truncated inside the header`, "truncated");
        const last = chunker.last();
        if (last.byteLength < TAG_BYTES) throw new ArtifactIntegrityError(`${label}: truncated after chunk ${index}`, "truncated");
        const plain = await open(last, true);
        index++;
        plainHash.update(plain);
        plaintextBytes += plain.byteLength;
        controller.enqueue(plain);
        const s: ArtifactStats = {
          artifactId: toHex(header.artifactId),
          plaintextBytes,
          ciphertextBytes,
          plaintextSha256: plainHash.digest("hex"),
          ciphertextSha256: cipherHash.digest("hex"),
          chunks: index,
        };
        const mismatch =
          (expected.plaintextBytes !== undefined && expected.plaintextBytes !== s.plaintextBytes && `size ${s.plaintextBytes} != ${expected.plaintextBytes}`) ||
          (expected.plaintextSha256 !== undefined && expected.plaintextSha256 !== s.plaintextSha256 && "plaintext SHA-256 differs") ||
          (expected.ciphertextSha256 !== undefined && expected.ciphertextSha256 !== s.ciphertextSha256 && "ciphertext SHA-256 differs");
        if (mismatch) throw new ArtifactIntegrityError(`${label}: ${mismatch} from the manifest`, "mismatch");
        resolveStats(s);
      } catch (err) {
        rejectStats(err);
        throw err;
      }
    },
  });
  return { stream, stats };
}
