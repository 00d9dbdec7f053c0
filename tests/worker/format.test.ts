/**
 * The artifact format in workerd: round trip, and every kind of damage rejected with a clear
 * error: flipped bits, truncation (at a chunk boundary and inside a chunk), reordered chunks,
 * a chunk spliced in from another artifact, appended data, and the wrong key.
 */
import { describe, expect, it } from "vitest";
import { ArtifactIntegrityError, decryptArtifact, encryptArtifact, HEADER_BYTES, TAG_BYTES } from "../../lib/format/artifactCipher";
import { concatBytes } from "../../lib/format/bytes";
import { importMasterKey } from "../../lib/format/keys";
import { readAll } from "../../lib/storage/types";

const KEY_A = "6d1f0c5e3b2a4f8e9d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e";
const KEY_B = "0000000000000000000000000000000000000000000000000000000000000001";
const CHUNK = 1024;

function sample(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + (i >> 8)) & 0xff;
  return out;
}

function streamOf(bytes: Uint8Array, piece = 777): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, at + piece));
      at += piece;
    },
  });
}

async function encrypt(plain: Uint8Array, key = KEY_A, chunkSize = CHUNK, artifactId?: Uint8Array) {
  const master = await importMasterKey(key);
  const { stream, stats } = encryptArtifact(master, { chunkSize, ...(artifactId ? { artifactId } : {}) });
  const ct = await readAll(streamOf(plain).pipeThrough(stream));
  return { ct, stats: await stats };
}

async function decrypt(ct: Uint8Array, key = KEY_A, expected = {}) {
  const master = await importMasterKey(key);
  const { stream, stats } = decryptArtifact(master, expected, "test-artifact");
  const plain = await readAll(streamOf(ct, 500).pipeThrough(stream));
  return { plain, stats: await stats };
}

const sealedSize = CHUNK + TAG_BYTES;
const chunkAt = (ct: Uint8Array, i: number) => ct.slice(HEADER_BYTES + i * sealedSize, HEADER_BYTES + (i + 1) * sealedSize);

describe("artifact format", () => {
  it.each([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK, 5 * CHUNK + 123])("round-trips %i bytes", async (n) => {
    const plain = sample(n);
    const { ct, stats } = await encrypt(plain);
    expect(stats.plaintextBytes).toBe(n);
    expect(stats.ciphertextBytes).toBe(ct.byteLength);
    expect(stats.chunks).toBe(Math.max(1, Math.ceil(n / CHUNK)));
    expect(ct.byteLength).toBe(HEADER_BYTES + n + stats.chunks * TAG_BYTES);
    const out = await decrypt(ct, KEY_A, stats);
    expect(out.plain).toEqual(plain);
    expect(out.stats.plaintextSha256).toBe(stats.plaintextSha256);
  });

  it("uses a fresh artifact id (and so key) per artifact", async () => {
    const plain = sample(3000);
    const a = await encrypt(plain);
    const b = await encrypt(plain);
    expect(a.stats.artifactId).not.toBe(b.stats.artifactId);
    expect(a.stats.ciphertextSha256).not.toBe(b.stats.ciphertextSha256);
  });

  const reject = async (ct: Uint8Array, reason: string, message: RegExp, key = KEY_A) => {
    const err = await decrypt(ct, key).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ArtifactIntegrityError);
    expect((err as ArtifactIntegrityError).reason).toBe(reason);
    expect((err as Error).message).toMatch(message);
  };

  it("rejects a flipped bit in any chunk", async () => {
    const { ct } = await encrypt(sample(4 * CHUNK + 10));
    for (const offset of [HEADER_BYTES + 5, HEADER_BYTES + sealedSize * 2 + 100, ct.byteLength - 3]) {
      const bad = ct.slice();
      bad[offset] = (bad[offset] as number) ^ 0x01;
      await reject(bad, "tampered", /failed authentication/);
    }
  });

  it("rejects a flipped bit in the header (chunk size, artifact id)", async () => {
    const { ct } = await encrypt(sample(2 * CHUNK));
    const bad = ct.slice();
    bad[20] = (bad[20] as number) ^ 0x80; // inside the artifact id
    await reject(bad, "tampered", /chunk 0 failed authentication/);
  });

  it("rejects truncation at a chunk boundary", async () => {
    const { ct } = await encrypt(sample(4 * CHUNK + 10));
    await reject(ct.slice(0, HEADER_BYTES + 2 * sealedSize), "truncated", /truncated after chunk 1 \(the final chunk is missing\)/);
  });

  it("rejects truncation inside a chunk and inside the header", async () => {
    const { ct } = await encrypt(sample(4 * CHUNK + 10));
    await reject(ct.slice(0, HEADER_BYTES + sealedSize + 100), "tampered", /chunk 1 failed authentication/);
    await reject(ct.slice(0, 20), "truncated", /truncated inside the header/);
  });

  it("rejects reordered chunks", async () => {
    const { ct } = await encrypt(sample(4 * CHUNK + 10));
    const swapped = concatBytes([ct.slice(0, HEADER_BYTES), chunkAt(ct, 1), chunkAt(ct, 0), ct.slice(HEADER_BYTES + 2 * sealedSize)]);
    await reject(swapped, "tampered", /chunk 0 failed authentication/);
  });

  it("rejects a chunk spliced in from another artifact under the same key", async () => {
    // Same key, same plaintext, same position: only the artifact id differs.
    const a = await encrypt(sample(3 * CHUNK + 1));
    const other = await encrypt(sample(3 * CHUNK + 1));
    const crossArtifact = concatBytes([a.ct.slice(0, HEADER_BYTES + sealedSize), chunkAt(other.ct, 1), a.ct.slice(HEADER_BYTES + 2 * sealedSize)]);
    await reject(crossArtifact, "tampered", /chunk 1 failed authentication/);
  });

  it("rejects data appended after the final chunk", async () => {
    // Final chunk full-size: the appended bytes form a chunk of their own.
    const full = await encrypt(sample(3 * CHUNK));
    await reject(concatBytes([full.ct, chunkAt(full.ct, 0)]), "trailing-data", /data after the final chunk 2/);
    // Short final chunk: the appended bytes merge into it and it fails authentication.
    const short = await encrypt(sample(2 * CHUNK + 5));
    await reject(concatBytes([short.ct, new Uint8Array(40)]), "tampered", /chunk 2 failed authentication/);
  });

  it("rejects the wrong key by its id before decrypting anything", async () => {
    const { ct } = await encrypt(sample(100));
    await reject(ct, "wrong-key", /encrypted with key [0-9a-f]{16}, but the key given is [0-9a-f]{16} \(wrong key\)/, KEY_B);
  });

  it("checks sizes and hashes against the manifest entry", async () => {
    const { ct, stats } = await encrypt(sample(100));
    const err = await decrypt(ct, KEY_A, { ...stats, plaintextSha256: "0".repeat(64) }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/plaintext SHA-256 differs from the manifest/);
  });
});
