/**
 * LOCAL WORLD. Multipart uploads in an AWS-flavour bucket, with S3's checks: s3:PutObject (and
 * what the create headers imply) at create, kms:GenerateDataKey and kms:Decrypt under SSE-KMS;
 * parts numbered 1-10,000, every part but the last at least 5 MiB (EntityTooSmall), parts listed
 * in ascending order with their ETags (InvalidPartOrder, InvalidPart); a checksum algorithm
 * chosen at create must accompany every part and the completion; Object Lock buckets need an
 * integrity header on every part. The object's ETag and checksum are the composite ones S3 makes.
 * Sources: https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 */
import { createHash, randomBytes } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
import type { AwsS3Bucket } from "./awsS3";
import { checkUploadIntegrity, checksumOf, md5Hex, type ChecksumAlgorithm } from "./checksums";
import { requireIntegrityForLock, retentionForUpload } from "./objectLock";
import { invalidRequest, notImplemented, S3Error } from "./s3Errors";
import { contentHeadersOf, parseTaggingHeader, parseXml, refuseConditionalHeaders, S3_XMLNS, tag, userMetadataOf, xmlReply, type S3Call, type S3Reply } from "./s3Wire";
import type { MultipartUpload, ObjectVersion } from "./versionedBucket";

export const MIN_PART_BYTES = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;
const ALGORITHMS = new Set(["CRC32", "SHA1", "SHA256"]);

function upload(b: AwsS3Bucket, call: S3Call, key: string): MultipartUpload {
  const id = call.query.get("uploadId") ?? "";
  const u = b.data.uploads.get(id);
  if (!u || u.key !== key) throw new S3Error(404, "NoSuchUpload", "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.");
  return u;
}

export async function createUpload(b: AwsS3Bucket, call: S3Call, key: string): Promise<S3Reply> {
  refuseConditionalHeaders(call.headers);
  // Multipart uploads under SSE-KMS need kms:Decrypt as well as kms:GenerateDataKey.
  await b.authorizeUpload(call, key, call.headers, ["kms:Decrypt"]);
  const algorithm = call.headers["x-amz-checksum-algorithm"]?.toUpperCase();
  if (algorithm !== undefined && !ALGORITHMS.has(algorithm)) throw notImplemented(`x-amz-checksum-algorithm ${algorithm} (the local store cannot recompute it)`);
  const retention = retentionForUpload(call.headers, undefined, b.lockEnabled, call.now);
  const uploadId = randomBytes(24).toString("base64url");
  b.data.uploads.set(uploadId, {
    uploadId,
    key,
    initiated: call.now,
    contentHeaders: contentHeadersOf(call.headers),
    userMetadata: userMetadataOf(call.headers),
    tags: parseTaggingHeader(call.headers["x-amz-tagging"]),
    ...(retention ? { retention } : {}),
    ...(algorithm ? { checksumAlgorithm: algorithm } : {}),
    parts: new Map(),
  });
  return xmlReply(200, `<InitiateMultipartUploadResult xmlns="${S3_XMLNS}">${tag("Bucket", b.cfg.name)}${tag("Key", key)}${tag("UploadId", uploadId)}</InitiateMultipartUploadResult>`, {
    ...b.sseHeaders(),
    ...(algorithm ? { "x-amz-checksum-algorithm": algorithm } : {}),
  });
}

export async function uploadPart(b: AwsS3Bucket, call: S3Call, key: string): Promise<S3Reply> {
  refuseConditionalHeaders(call.headers);
  await b.access.require(call, "s3:PutObject", b.access.objectArn(key));
  const u = upload(b, call, key);
  const n = Number(call.query.get("partNumber"));
  if (!Number.isInteger(n) || n < 1 || n > MAX_PARTS) throw new S3Error(400, "InvalidArgument", `Part number must be an integer between 1 and ${MAX_PARTS}, inclusive`);
  const integrity = checkUploadIntegrity(call.headers, call.body);
  requireIntegrityForLock(b.lockEnabled, integrity.present, "Upload Part");
  if (u.checksumAlgorithm && integrity.checksum?.algorithm !== u.checksumAlgorithm) {
    throw invalidRequest(`Checksum Type mismatch occurred, expected checksum Type: ${u.checksumAlgorithm.toLowerCase()}, actual checksum Type: ${integrity.checksum?.algorithm.toLowerCase() ?? "null"}`);
  }
  const old = u.parts.get(n);
  if (old) b.data.dropFile(old.file);
  const md5 = md5Hex(call.body);
  u.parts.set(n, { number: n, file: b.data.storeBody(call.body), size: call.body.byteLength, etag: `"${md5}"`, md5Hex: md5, ...(integrity.checksum ? { checksum: integrity.checksum.value } : {}) });
  return { status: 200, headers: { etag: `"${md5}"`, ...b.sseHeaders(), ...(integrity.checksum ? { [`x-amz-checksum-${integrity.checksum.algorithm.toLowerCase()}`]: integrity.checksum.value } : {}) } };
}

interface CompleteRequest {
  CompleteMultipartUpload?: { Part?: Array<Record<string, string>> };
}

export async function completeUpload(b: AwsS3Bucket, call: S3Call, key: string): Promise<S3Reply> {
  await b.access.require(call, "s3:PutObject", b.access.objectArn(key));
  const u = upload(b, call, key);
  const listed = parseXml<CompleteRequest>(call.body, "CompleteMultipartUpload").CompleteMultipartUpload?.Part ?? [];
  if (!listed.length) throw new S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema (no parts)");
  const alg = u.checksumAlgorithm;
  let previous = 0;
  const parts = listed.map((p, i) => {
    const n = Number(p.PartNumber);
    if (!(n > previous)) throw new S3Error(400, "InvalidPartOrder", "The list of parts was not in ascending order. The parts list must be specified in order by part number.");
    previous = n;
    const stored = u.parts.get(n);
    if (!stored || String(p.ETag).replace(/"/g, "") !== stored.md5Hex) throw new S3Error(400, "InvalidPart", `One or more of the specified parts could not be found (part ${n}).`);
    if (i < listed.length - 1 && stored.size < MIN_PART_BYTES) throw new S3Error(400, "EntityTooSmall", `Your proposed upload is smaller than the minimum allowed object size (part ${n} is ${stored.size} bytes; every part but the last must be at least 5 MiB).`);
    if (alg && p[`Checksum${alg}`] !== stored.checksum) throw new S3Error(400, "InvalidPart", `The ${alg} checksum of part ${n} is missing from the completion request or does not match the part.`);
    return stored;
  });
  const file = b.data.storeBody(new Uint8Array(0));
  for (const p of parts) appendFileSync(file, readFileSync(p.file));
  const etag = `"${createHash("md5").update(Buffer.concat(parts.map((p) => Buffer.from(p.md5Hex, "hex")))).digest("hex")}-${parts.length}"`;
  // Composite checksum: the checksum of the parts' binary checksums, with the part count.
  const checksum = alg ? { algorithm: alg, value: `${checksumOf(alg as ChecksumAlgorithm, Buffer.concat(parts.map((p) => Buffer.from(p.checksum ?? "", "base64"))))}-${parts.length}`, type: "COMPOSITE" as const } : undefined;
  const retention = u.retention ?? retentionForUpload({}, b.cfg.objectLock?.defaultRetention, b.lockEnabled, call.now);
  const v: ObjectVersion = {
    key,
    versionId: b.cfg.versioning ? b.data.newVersionId() : "null",
    deleteMarker: false,
    size: parts.reduce((s, p) => s + p.size, 0),
    etag,
    lastModified: call.now,
    file,
    contentHeaders: u.contentHeaders,
    userMetadata: u.userMetadata,
    tags: { ...u.tags },
    ...(retention ? { retention } : {}),
    legalHold: false,
    ...(checksum ? { checksum } : {}),
  };
  b.store(v);
  for (const p of u.parts.values()) b.data.dropFile(p.file);
  b.data.uploads.delete(u.uploadId);
  return xmlReply(
    200,
    `<CompleteMultipartUploadResult xmlns="${S3_XMLNS}">${tag("Location", `/${b.cfg.name}/${key}`)}${tag("Bucket", b.cfg.name)}${tag("Key", key)}${tag("ETag", etag)}${checksum ? tag(`Checksum${checksum.algorithm}`, checksum.value) : ""}</CompleteMultipartUploadResult>`,
    { ...b.versionHeaders(v), ...b.sseHeaders() },
  );
}

export async function abortUpload(b: AwsS3Bucket, call: S3Call, key: string): Promise<S3Reply> {
  await b.access.require(call, "s3:AbortMultipartUpload", b.access.objectArn(key));
  const u = upload(b, call, key);
  for (const p of u.parts.values()) b.data.dropFile(p.file);
  b.data.uploads.delete(u.uploadId);
  return { status: 204 };
}
