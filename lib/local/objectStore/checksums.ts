/**
 * LOCAL WORLD. Integrity headers on uploads, checked as S3 checks them: Content-MD5 (400
 * BadDigest when it does not match) and the flexible checksums x-amz-checksum-{crc32,sha1,sha256}
 * (400 BadDigest). CRC32C and CRC64NVME cannot be recomputed here, so they are refused rather
 * than trusted. Object Lock buckets require one of them on every upload (see the AWS flavour).
 * Sources: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 */
import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { invalidRequest, notImplemented, S3Error } from "./s3Errors";

export type ChecksumAlgorithm = "CRC32" | "SHA1" | "SHA256";

export interface UploadIntegrity {
  /** The flexible checksum sent, if any (algorithm and base64 value). */
  readonly checksum?: { readonly algorithm: ChecksumAlgorithm; readonly value: string };
  /** Whether Content-MD5 or a flexible checksum was sent (Object Lock needs one). */
  readonly present: boolean;
}

export function checksumOf(algorithm: ChecksumAlgorithm, body: Uint8Array): string {
  if (algorithm === "CRC32") {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(crc32(body) >>> 0);
    return b.toString("base64");
  }
  return createHash(algorithm === "SHA1" ? "sha1" : "sha256").update(body).digest("base64");
}

export function sha256Base64(body: Uint8Array): string {
  return checksumOf("SHA256", body);
}

/** Verifies every integrity header present; returns what was sent. */
export function checkUploadIntegrity(headers: Readonly<Record<string, string>>, body: Uint8Array): UploadIntegrity {
  const md5 = headers["content-md5"];
  if (md5 !== undefined && createHash("md5").update(body).digest("base64") !== md5) {
    throw new S3Error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.");
  }
  const sent = Object.keys(headers).filter((h) => h.startsWith("x-amz-checksum-") && h !== "x-amz-checksum-type" && h !== "x-amz-checksum-algorithm");
  if (sent.length > 1) throw invalidRequest("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.");
  const sdkAlgorithm = headers["x-amz-sdk-checksum-algorithm"]?.toUpperCase();
  let checksum: UploadIntegrity["checksum"];
  if (sent[0]) {
    const algorithm = sent[0].slice("x-amz-checksum-".length).toUpperCase();
    if (algorithm === "CRC32C" || algorithm === "CRC64NVME") throw notImplemented(`x-amz-checksum-${algorithm.toLowerCase()} (the local store cannot recompute it, so it refuses it rather than trust it)`);
    if (algorithm !== "CRC32" && algorithm !== "SHA1" && algorithm !== "SHA256") throw invalidRequest(`unknown checksum header ${sent[0]}`);
    if (sdkAlgorithm && sdkAlgorithm !== algorithm) throw invalidRequest(`x-amz-sdk-checksum-algorithm ${sdkAlgorithm} does not match ${sent[0]}`);
    const value = headers[sent[0]] as string;
    if (checksumOf(algorithm, body) !== value) throw new S3Error(400, "BadDigest", `The ${algorithm} you specified did not match the calculated checksum.`);
    checksum = { algorithm, value };
  } else if (sdkAlgorithm) {
    throw invalidRequest(`x-amz-sdk-checksum-algorithm ${sdkAlgorithm} was sent without its x-amz-checksum-${sdkAlgorithm.toLowerCase()} header`);
  }
  return { ...(checksum ? { checksum } : {}), present: md5 !== undefined || checksum !== undefined };
}

export function md5Hex(body: Uint8Array): string {
  return createHash("md5").update(body).digest("hex");
}
