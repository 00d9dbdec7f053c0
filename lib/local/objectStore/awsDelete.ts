/**
 * LOCAL WORLD. Deletes in an AWS-flavour bucket: DeleteObject (a delete marker in a versioned
 * bucket; s3:DeleteObject), DeleteObject with a versionId (removes that version;
 * s3:DeleteObjectVersion; refused while Object Lock retention or a legal hold protects it) and
 * DeleteObjects (the same rules per key; the request needs Content-MD5 or a checksum).
 * Sources: https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectVersions.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
 */
import type { AwsS3Bucket } from "./awsS3";
import { checkUploadIntegrity } from "./checksums";
import { assertMayRemove } from "./objectLock";
import { invalidRequest, S3Error } from "./s3Errors";
import { parseXml, S3_XMLNS, tag, xmlReply, type S3Call, type S3Reply } from "./s3Wire";

async function bypassAllowed(b: AwsS3Bucket, call: S3Call, key: string): Promise<boolean> {
  if (call.headers["x-amz-bypass-governance-retention"]?.toLowerCase() !== "true") return false;
  return b.access.allowed(call, "s3:BypassGovernanceRetention", b.access.objectArn(key));
}

/** One deletion; returns the response headers S3 sends for it. */
async function deleteOne(b: AwsS3Bucket, call: S3Call, key: string, versionId: string | undefined): Promise<Record<string, string>> {
  const a = b.access;
  if (versionId !== undefined) {
    await a.require(call, "s3:DeleteObjectVersion", a.objectArn(key));
    const v = b.data.version(key, versionId);
    if (!v) return { "x-amz-version-id": versionId };
    assertMayRemove(v, call.now, await bypassAllowed(b, call, key));
    b.data.remove(key, versionId);
    if (v.file) b.data.dropFile(v.file);
    return { "x-amz-version-id": versionId, ...(v.deleteMarker ? { "x-amz-delete-marker": "true" } : {}) };
  }
  await a.require(call, "s3:DeleteObject", a.objectArn(key));
  if (!b.cfg.versioning) {
    const v = b.data.latest(key);
    if (v) {
      assertMayRemove(v, call.now, await bypassAllowed(b, call, key));
      b.data.remove(key, v.versionId);
      if (v.file) b.data.dropFile(v.file);
    }
    return {};
  }
  // Versioned: the versions stay (and stay locked); a delete marker hides them.
  const marker = { key, versionId: b.data.newVersionId(), deleteMarker: true, size: 0, etag: "", lastModified: call.now, contentHeaders: {}, userMetadata: {}, tags: {}, legalHold: false };
  b.data.add(marker);
  return { "x-amz-delete-marker": "true", "x-amz-version-id": marker.versionId };
}

export async function deleteObject(b: AwsS3Bucket, call: S3Call, key: string): Promise<S3Reply> {
  return { status: 204, headers: await deleteOne(b, call, key, call.query.get("versionId")) };
}

interface DeleteRequest {
  Delete?: { Quiet?: string; Object?: Array<{ Key?: string; VersionId?: string }> };
}

export async function deleteObjects(b: AwsS3Bucket, call: S3Call): Promise<S3Reply> {
  if (!checkUploadIntegrity(call.headers, call.body).present) throw invalidRequest("Missing required header for this request: Content-MD5 (or an x-amz-checksum- header)");
  const doc = parseXml<DeleteRequest>(call.body, "Delete");
  const objects = doc.Delete?.Object ?? [];
  if (objects.length > 1000) throw new S3Error(400, "MalformedXML", "at most 1000 keys per DeleteObjects request");
  const quiet = doc.Delete?.Quiet === "true";
  const parts: string[] = [];
  for (const o of objects) {
    const key = String(o.Key ?? "");
    const versionId = o.VersionId === undefined ? undefined : String(o.VersionId);
    try {
      const h = await deleteOne(b, call, key, versionId);
      if (!quiet) parts.push(`<Deleted>${tag("Key", key)}${versionId ? tag("VersionId", versionId) : ""}${h["x-amz-delete-marker"] ? tag("DeleteMarker", "true") + tag("DeleteMarkerVersionId", h["x-amz-version-id"] ?? "") : ""}</Deleted>`);
    } catch (err) {
      if (!(err instanceof S3Error)) throw err;
      parts.push(`<Error>${tag("Key", key)}${versionId ? tag("VersionId", versionId) : ""}${tag("Code", err.code)}${tag("Message", err.message)}</Error>`);
    }
  }
  return xmlReply(200, `<DeleteResult xmlns="${S3_XMLNS}">${parts.join("")}</DeleteResult>`);
}
