/**
 * One KV value on its way into an entries artifact: streamed as base64 into the line
 * {"k":…,"v":"…","m":…,"e":…} and through the entry hash at once, so a 25 MiB value never
 * exists as one string (its base64 JSON line would need several times that in a 128 MB isolate).
 */
import { Base64Stream, EntryHasher } from "../../lib/backup/kvRecords";
import { textEncoder } from "../../lib/format/bytes";

export interface ListedKey {
  name: string;
  metadata?: unknown;
  expiration?: number;
}

/** Where entry bytes go: a DeferredArtifact (or anything that writes bytes and lines). */
export interface EntrySink {
  write(bytes: Uint8Array): Promise<void>;
  line(value: unknown): Promise<void>;
}

export interface StreamedValue {
  /** The entry hash the index records (same as entryHash over the whole value). */
  readonly hash: string;
  readonly bytes: number;
  /** The value's chunks, when it was no larger than the `keep` asked for. */
  readonly kept: Uint8Array[] | null;
}

const meta = (k: ListedKey) => (k.metadata !== undefined && k.metadata !== null ? k.metadata : undefined);

/** The opening of an entry line, up to the value: {"k":...,"v":" */
const lineHead = (key: string) => textEncoder.encode(`{"k":${JSON.stringify(key)},"v":"`);
/** The rest of an entry line after the value. */
const lineTail = (k: ListedKey) => textEncoder.encode(`"${meta(k) !== undefined ? `,"m":${JSON.stringify(meta(k))}` : ""}${k.expiration ? `,"e":${k.expiration}` : ""}}\n`);

/** Hashes a value as it streams; with `out`, writes its whole entry line there too. Chunks are
 * kept (for a later `writeKept`) while the total stays within `keep` bytes. */
export async function streamValue(stream: ReadableStream<Uint8Array>, k: ListedKey, out: EntrySink | null, keep = 0): Promise<StreamedValue> {
  const hasher = new EntryHasher(k.name);
  const b64 = new Base64Stream();
  let bytes = 0;
  let kept: Uint8Array[] | null = [];
  const emit = async (text: string) => {
    if (!text) return;
    hasher.base64(text);
    if (out) await out.write(textEncoder.encode(text));
  };
  if (out) await out.write(lineHead(k.name));
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.byteLength;
    if (kept && bytes <= keep) kept.push(chunk);
    else kept = null;
    await emit(b64.push(chunk));
  }
  await emit(b64.end());
  if (out) await out.write(lineTail(k));
  return { hash: hasher.finish(meta(k), k.expiration), bytes, kept };
}

/** Writes the entry line of a value held in memory by `streamValue`. */
export async function writeKept(out: EntrySink, k: ListedKey, kept: readonly Uint8Array[]): Promise<void> {
  await out.write(lineHead(k.name));
  const b64 = new Base64Stream();
  for (const c of kept) await out.write(textEncoder.encode(b64.push(c)));
  await out.write(textEncoder.encode(b64.end()));
  await out.write(lineTail(k));
}
