/**
 * Benchmark Worker: the backup pipeline (lib/format, the same code the backup Worker runs) on
 * generated data. GET /encrypt?mib=N streams N MiB through chunked AES-256-GCM + SHA-256 (both
 * plaintext and ciphertext) and drains the output; GET /drain?mib=N only generates and drains,
 * the floor of the harness itself.
 */
import { encryptArtifact } from "../../lib/format/artifactCipher";
import { importMasterKey } from "../../lib/format/keys";

const KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const PIECE = 256 * 1024;

function source(mib: number): ReadableStream<Uint8Array> {
  // One pseudo-random piece, re-emitted: the data costs nothing to produce and memory stays flat.
  const piece = new Uint8Array(PIECE);
  let x = 2463534242;
  for (let i = 0; i < PIECE; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    piece[i] = x & 0xff;
  }
  let left = (mib * 1024 * 1024) / PIECE;
  return new ReadableStream({
    pull(c) {
      if (left-- <= 0) return c.close();
      c.enqueue(piece.slice());
    },
  });
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const part of stream as unknown as AsyncIterable<Uint8Array>) n += part.byteLength;
  return n;
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const mib = Number(url.searchParams.get("mib") ?? "64");
    if (url.pathname === "/drain") return Response.json({ bytes: await drain(source(mib)) });
    const { stream, stats } = encryptArtifact(await importMasterKey(KEY));
    const bytes = await drain(source(mib).pipeThrough(stream));
    return Response.json({ bytes, stats: await stats });
  },
};
