/**
 * AES-256-GCM for the chunks of one artifact, keyed by the artifact key (keys.ts). Outside the
 * Workers runtime it uses node:crypto's cipher, several times faster than WebCrypto for 64 KiB
 * chunks (one call instead of an async round trip per chunk: 0.4 s against 2.2 s per GiB
 * here); in workerd, WebCrypto. Both produce the same bytes: ciphertext followed by the tag.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { asBytes, concatBytes } from "./bytes";
import { deriveArtifactKey, deriveArtifactKeyBytes, type MasterKey } from "./keys";

const TAG_BYTES = 16;

export interface ChunkAead {
  seal(iv: Uint8Array, aad: Uint8Array, plain: Uint8Array): Promise<Uint8Array>;
  /** Throws when the chunk does not authenticate. */
  open(iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Promise<Uint8Array>;
}

const inWorkers = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent === "Cloudflare-Workers";

function nodeAead(key: Uint8Array): ChunkAead {
  return {
    seal: async (iv, aad, plain) => {
      const c = createCipheriv("aes-256-gcm", key, iv);
      c.setAAD(aad);
      const body = c.update(plain);
      c.final();
      return concatBytes([body, c.getAuthTag()]);
    },
    open: async (iv, aad, sealed) => {
      if (sealed.byteLength < TAG_BYTES) throw new Error("chunk shorter than its tag");
      const d = createDecipheriv("aes-256-gcm", key, iv);
      d.setAAD(aad);
      d.setAuthTag(sealed.subarray(sealed.byteLength - TAG_BYTES));
      const plain = d.update(sealed.subarray(0, sealed.byteLength - TAG_BYTES));
      d.final();
      return new Uint8Array(plain.buffer, plain.byteOffset, plain.byteLength);
    },
  };
}

function webAead(key: CryptoKey): ChunkAead {
  return {
    seal: async (iv, aad, plain) => new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: asBytes(iv), additionalData: asBytes(aad) }, key, asBytes(plain))),
    open: async (iv, aad, sealed) => new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: asBytes(iv), additionalData: asBytes(aad) }, key, asBytes(sealed))),
  };
}

export async function artifactAead(master: MasterKey, artifactId: Uint8Array, usage: "encrypt" | "decrypt"): Promise<ChunkAead> {
  return inWorkers ? webAead(await deriveArtifactKey(master, artifactId, usage)) : nodeAead(await deriveArtifactKeyBytes(master, artifactId));
}
