/**
 * User metadata over the S3 API (x-amz-meta-*). HTTP header values travel as US-ASCII, and S3
 * returns a non-ASCII value RFC 2047-encoded, so a value that is not plain printable ASCII is
 * sent as an RFC 2047 "encoded-word" (=?UTF-8?B?<base64>?=) and decoded on read. Values that
 * already look like an encoded word are encoded too, so decoding never changes a value a user
 * actually stored: the round trip is lossless.
 * Source: https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html
 * ("When using non US-ASCII characters in your metadata values, ... RFC 2047").
 */
import { fromBase64, textEncoder, toBase64 } from "../format/bytes";

const PLAIN = /^[\x20-\x7e]*$/;
const ENCODED_WORD = /^=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=$/i;

export function encodeMetadataValue(value: string): string {
  if (PLAIN.test(value) && !value.startsWith("=?") && value.trim() === value) return value;
  return `=?UTF-8?B?${toBase64(textEncoder.encode(value))}?=`;
}

export function decodeMetadataValue(value: string): string {
  const m = ENCODED_WORD.exec(value);
  return m ? new TextDecoder().decode(fromBase64(m[1] as string)) : value;
}

/** x-amz-meta-* request headers for custom metadata (names are lower-cased by S3 anyway). */
export function metadataHeaders(custom: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(custom)) {
    if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/i.test(k)) throw new Error(`metadata name ${JSON.stringify(k)} is not a valid HTTP header name`);
    out[`x-amz-meta-${k.toLowerCase()}`] = encodeMetadataValue(v);
  }
  return out;
}

/** Custom metadata from response headers, decoded. */
export function metadataFromHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((v, k) => {
    if (k.startsWith("x-amz-meta-")) out[k.slice("x-amz-meta-".length)] = decodeMetadataValue(v);
  });
  return out;
}
