/**
 * LOCAL WORLD. Listings of an AWS-flavour bucket: ListObjectsV2 (s3:ListBucket, with s3:prefix,
 * s3:delimiter and s3:max-keys in the request context) and ListObjectVersions
 * (s3:ListBucketVersions). Paging as S3 pages: at most 1000 entries, an opaque continuation token.
 * Sources: https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html
 */
import { S3Error, notImplemented } from "./s3Errors";
import { S3_XMLNS, tag, xmlReply, type S3Call, type S3Reply } from "./s3Wire";
import { utf8Compare, type ObjectVersion, type VersionedBucket } from "./versionedBucket";

export function listContext(call: S3Call): Record<string, string> {
  const ctx: Record<string, string> = {};
  const prefix = call.query.get("prefix");
  const delimiter = call.query.get("delimiter");
  const maxKeys = call.query.get("max-keys");
  if (prefix !== undefined) ctx["s3:prefix"] = prefix;
  if (delimiter !== undefined) ctx["s3:delimiter"] = delimiter;
  if (maxKeys !== undefined) ctx["s3:max-keys"] = maxKeys;
  return ctx;
}

function maxKeysOf(call: S3Call): number {
  const raw = call.query.get("max-keys");
  if (raw === undefined) return 1000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new S3Error(400, "InvalidArgument", "max-keys must be a non-negative integer");
  return Math.min(n, 1000);
}

const enc = (s: string, url: boolean) => (url ? encodeURIComponent(s) : s);

export function listObjectsV2(bucket: VersionedBucket, call: S3Call): S3Reply {
  const prefix = call.query.get("prefix") ?? "";
  const delimiter = call.query.get("delimiter") ?? "";
  const url = call.query.get("encoding-type") === "url";
  if (call.query.has("encoding-type") && !url) throw new S3Error(400, "InvalidArgument", "Invalid Encoding Method specified in Request");
  const max = maxKeysOf(call);
  const token = call.query.get("continuation-token");
  let after = call.query.get("start-after") ?? "";
  if (token !== undefined) {
    try {
      after = Buffer.from(token, "base64url").toString("utf8");
    } catch {
      throw new S3Error(400, "InvalidArgument", "The continuation token provided is incorrect");
    }
  }
  const contents: ObjectVersion[] = [];
  const prefixes: string[] = [];
  let truncated = false;
  let last = "";
  for (const key of bucket.currentKeys()) {
    if (!key.startsWith(prefix) || (after && utf8Compare(key, after) <= 0)) continue;
    let entry: string | null = null;
    if (delimiter) {
      const at = key.indexOf(delimiter, prefix.length);
      if (at >= 0) entry = key.slice(0, at + delimiter.length);
    }
    if (entry !== null && prefixes[prefixes.length - 1] === entry) continue;
    if (contents.length + prefixes.length >= max) {
      truncated = true;
      break;
    }
    if (entry !== null) {
      prefixes.push(entry);
      // Skip the rest of this common prefix: resume after its last possible key.
      last = `${entry}\u{10FFFF}`;
    } else {
      contents.push(bucket.current(key) as ObjectVersion);
      last = key;
    }
  }
  const body =
    `<ListBucketResult xmlns="${S3_XMLNS}">${tag("Name", bucket.name)}${tag("Prefix", enc(prefix, url))}${tag("KeyCount", contents.length + prefixes.length)}${tag("MaxKeys", max)}` +
    (delimiter ? tag("Delimiter", enc(delimiter, url)) : "") +
    tag("IsTruncated", truncated) +
    (token !== undefined ? tag("ContinuationToken", token) : "") +
    (truncated ? tag("NextContinuationToken", Buffer.from(last, "utf8").toString("base64url")) : "") +
    (call.query.has("start-after") ? tag("StartAfter", enc(call.query.get("start-after") as string, url)) : "") +
    (url ? tag("EncodingType", "url") : "") +
    contents.map((v) => `<Contents>${tag("Key", enc(v.key, url))}${tag("LastModified", v.lastModified.toISOString())}${tag("ETag", v.etag)}${tag("Size", v.size)}${tag("StorageClass", "STANDARD")}</Contents>`).join("") +
    prefixes.map((p) => `<CommonPrefixes>${tag("Prefix", enc(p, url))}</CommonPrefixes>`).join("") +
    `</ListBucketResult>`;
  return xmlReply(200, body);
}

export function listObjectVersions(bucket: VersionedBucket, call: S3Call): S3Reply {
  if (call.query.has("delimiter") || call.query.has("version-id-marker")) throw notImplemented("delimiter and version-id-marker on ListObjectVersions (the local store pages by key only)");
  const prefix = call.query.get("prefix") ?? "";
  const keyMarker = call.query.get("key-marker") ?? "";
  const max = maxKeysOf(call);
  const out: ObjectVersion[] = [];
  let truncated = false;
  let nextKey = "";
  for (const v of bucket.allVersions()) {
    if (!v.key.startsWith(prefix) || (keyMarker && utf8Compare(v.key, keyMarker) <= 0)) continue;
    if (out.length >= max && v.key !== nextKey) {
      truncated = true;
      break;
    }
    out.push(v);
    nextKey = v.key;
  }
  const latest = new Set(out.map((v) => bucket.latest(v.key)?.versionId));
  const entry = (v: ObjectVersion) =>
    v.deleteMarker
      ? `<DeleteMarker>${tag("Key", v.key)}${tag("VersionId", v.versionId)}${tag("IsLatest", latest.has(v.versionId))}${tag("LastModified", v.lastModified.toISOString())}</DeleteMarker>`
      : `<Version>${tag("Key", v.key)}${tag("VersionId", v.versionId)}${tag("IsLatest", latest.has(v.versionId))}${tag("LastModified", v.lastModified.toISOString())}${tag("ETag", v.etag)}${tag("Size", v.size)}${tag("StorageClass", "STANDARD")}</Version>`;
  const body =
    `<ListVersionsResult xmlns="${S3_XMLNS}">${tag("Name", bucket.name)}${tag("Prefix", prefix)}${tag("KeyMarker", keyMarker)}${tag("MaxKeys", max)}${tag("IsTruncated", truncated)}` +
    (truncated ? tag("NextKeyMarker", nextKey) : "") +
    out.map(entry).join("") +
    `</ListVersionsResult>`;
  return xmlReply(200, body);
}
