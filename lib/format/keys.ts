/**
 * Keys. One 256-bit master key (the data-encryption key, a Pulumi secret bound to the Worker
 * and escrowed in AWS Secrets Manager). Everything else is derived with HKDF-SHA256:
 *   artifact key  = HKDF(master, salt = artifact id, info = "drposture/v1/artifact")
 *   manifest MAC  = HKDF(master, salt = "",          info = "drposture/v1/manifest-mac")
 *   state seal    = HKDF(master, salt = "",          info = "drposture/v1/state-mac")
 *   key id        = first 8 bytes of HMAC-SHA256(master, "drposture/v1/key-id"), hex
 * A fresh artifact id per artifact gives every artifact its own AES key, so chunk nonces
 * (the chunk index) never repeat under one key.
 */
import { asBytes, fromBase64, fromHex, textEncoder, toHex } from "./bytes";

export const KEY_BYTES = 32;

export interface MasterKey {
  /** Short public identifier: which key encrypted a backup, without revealing it. */
  readonly id: string;
  readonly hkdf: CryptoKey;
  readonly macKey: CryptoKey;
  /** Seals the Worker's bookkeeping under _state/ (job cursors, latest pointers). */
  readonly stateKey: CryptoKey;
}

export class KeyError extends Error {}

/** Parses a key given as 64 hex characters or base64 of 32 bytes. */
export function parseKeyMaterial(text: string): Uint8Array {
  const t = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(t) ? fromHex(t) : (() => {
    try {
      return fromBase64(t);
    } catch {
      return new Uint8Array(0);
    }
  })();
  if (bytes.byteLength !== KEY_BYTES) throw new KeyError("encryption key must be 32 bytes, as 64 hex characters or base64");
  return bytes;
}

export async function importMasterKey(material: Uint8Array | string): Promise<MasterKey> {
  const raw = asBytes(typeof material === "string" ? parseKeyMaterial(material) : material);
  if (raw.byteLength !== KEY_BYTES) throw new KeyError("encryption key must be 32 bytes");
  const idKey = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const id = toHex(new Uint8Array(await crypto.subtle.sign("HMAC", idKey, textEncoder.encode("drposture/v1/key-id"))).subarray(0, 8));
  const hkdf = await crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveKey", "deriveBits"]);
  const hmacKey = (info: string) =>
    crypto.subtle.deriveKey({ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: textEncoder.encode(info) }, hkdf, { name: "HMAC", hash: "SHA-256", length: 256 }, false, ["sign", "verify"]);
  return { id, hkdf, macKey: await hmacKey("drposture/v1/manifest-mac"), stateKey: await hmacKey("drposture/v1/state-mac") };
}

export function deriveArtifactKey(master: MasterKey, artifactId: Uint8Array, usage: "encrypt" | "decrypt"): Promise<CryptoKey> {
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: asBytes(artifactId), info: textEncoder.encode("drposture/v1/artifact") },
    master.hkdf,
    { name: "AES-GCM", length: 256 },
    false,
    [usage],
  );
}

/** The same artifact key as raw bytes, for node:crypto's cipher (chunkAead.ts). */
export async function deriveArtifactKeyBytes(master: MasterKey, artifactId: Uint8Array): Promise<Uint8Array> {
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: asBytes(artifactId), info: textEncoder.encode("drposture/v1/artifact") },
    master.hkdf,
    256,
  );
  return new Uint8Array(bits);
}
