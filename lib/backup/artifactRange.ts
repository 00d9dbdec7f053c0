/**
 * Reading part of an artifact's plaintext without downloading the rest: fixed-size chunks make
 * plaintext offset -> chunk index arithmetic, each chunk is fetched with a ranged GET and
 * authenticated on its own (its index and final flag are in its tag). Used to restore one R2
 * object out of a large pack.
 */
import { ArtifactIntegrityError, HEADER_BYTES, parseHeader, TAG_BYTES } from "../format/artifactCipher";
import { concatBytes, u64be } from "../format/bytes";
import { artifactAead, type ChunkAead } from "../format/chunkAead";
import type { MasterKey } from "../format/keys";
import type { ArtifactEntry } from "../format/manifest";
import { readAll, StorageError, type BackupStorage } from "../storage/types";

/** Chunks fetched per ranged GET (16 × 64 KiB = 1 MiB of memory at most). */
const SPAN_CHUNKS = 16;

export function openArtifactRange(storage: BackupStorage, master: MasterKey, entry: ArtifactEntry, offset: number, length: number): ReadableStream<Uint8Array> {
  let header: ReturnType<typeof parseHeader> | null = null;
  let aead: ChunkAead | null = null;
  const label = `${storage.label}/${entry.key}`;
  const end = offset + length; // exclusive
  let next = 0;
  let last = 0;
  let ready: Promise<void> | null = null;
  // Set up in the first pull, not in an async start(): read from inside workerd (restore
  // tests in the Worker) the first pull ran with the header still unset.
  const setup = async () => {
    const head = await storage.get(entry.key, { offset: 0, length: HEADER_BYTES });
    if (!head) throw new StorageError(`${label} is missing`);
    header = parseHeader(await readAll(head));
    if (header.keyId !== master.id) throw new ArtifactIntegrityError(`${label}: encrypted with key ${header.keyId}, not ${master.id} (wrong key)`, "wrong-key");
    aead = await artifactAead(master, header.artifactId, "decrypt");
    next = Math.floor(offset / header.chunkSize);
    last = Math.max(next, Math.ceil(end / header.chunkSize) - 1);
    if (length === 0) next = last + 1;
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      ready ??= setup();
      await ready;
      const h = header as NonNullable<typeof header>;
      if (next > last) return controller.close();
      const sealedSize = h.chunkSize + TAG_BYTES;
      // Several chunks per ranged GET: each GET is one operation of the invocation's budget.
      const span = Math.min(SPAN_CHUNKS, last - next + 1);
      const body = await storage.get(entry.key, { offset: HEADER_BYTES + next * sealedSize, length: span * sealedSize });
      if (!body) throw new StorageError(`${label} is missing`);
      const sealedSpan = await readAll(body);
      const out: Uint8Array[] = [];
      for (let k = 0; k < span; k++) {
        const sealed = sealedSpan.subarray(k * sealedSize, (k + 1) * sealedSize);
        const final = next === entry.chunks - 1;
        let plain: Uint8Array;
        try {
          plain = await (aead as ChunkAead).open(concatBytes([new Uint8Array(4), u64be(next)]), concatBytes([h.bytes, u64be(next), new Uint8Array([final ? 1 : 0])]), sealed);
        } catch {
          throw new ArtifactIntegrityError(`${label}: chunk ${next} failed authentication`, "tampered");
        }
        const chunkStart = next * h.chunkSize;
        const from = Math.max(0, offset - chunkStart);
        const to = Math.min(plain.byteLength, end - chunkStart);
        next++;
        out.push(plain.subarray(from, to));
      }
      controller.enqueue(out.length === 1 ? (out[0] as Uint8Array) : concatBytes(out));
    },
  });
}
