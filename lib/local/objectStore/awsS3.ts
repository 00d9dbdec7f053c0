/**
 * LOCAL WORLD. An S3 bucket with AWS's semantics, as strict as AWS where dr-posture depends on
 * it: versioning (an overwrite is a new version), Object Lock (default retention, locked
 * versions that cannot be deleted or shortened, integrity headers required), IAM on every call
 * (awsAccess.ts), and AWS's answer for a missing key: 404 only to a caller allowed
 * s3:ListBucket on the bucket, 403 to anyone else.
 * Operations the project and its tests use are implemented; any other answers 501 after
 * authorization, so nothing is silently accepted.
 * Sources: https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html ("If you don't
 * have the s3:ListBucket permission, Amazon S3 returns an HTTP status code 403"),
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html
 */
import { readFileSync, statSync, writeFileSync } from "node:fs";
import type { AwsPrincipal } from "./iamAuthorizer";
import { AwsAccess, type AwsBucketConfig } from "./awsAccess";
import { listObjectsV2, listObjectVersions, listContext } from "./awsListing";
import { checkUploadIntegrity, md5Hex } from "./checksums";
import { deleteObjects, deleteObject } from "./awsDelete";
import { abortUpload, completeUpload, createUpload, uploadPart } from "./awsMultipart";
import { requireIntegrityForLock, retentionForUpload } from "./objectLock";
import { getLegalHold, getRetention, getTagging, putLegalHold, putRetention, putTagging } from "./awsSubresources";
import { S3Error, noSuchKey, notImplemented } from "./s3Errors";
import { contentHeadersOf, parseRange, parseTaggingHeader, refuseConditionalHeaders, userMetadataOf, type S3Call, type S3Reply } from "./s3Wire";
import { VersionedBucket, type ObjectVersion } from "./versionedBucket";

/** Bucket-level configuration calls: authorized, then refused (the program owns the config). */
const BUCKET_CONFIG_ACTIONS: Record<string, Record<string, string>> = {
  PUT: { policy: "s3:PutBucketPolicy", lifecycle: "s3:PutLifecycleConfiguration", "object-lock": "s3:PutBucketObjectLockConfiguration", encryption: "s3:PutEncryptionConfiguration", versioning: "s3:PutBucketVersioning", publicAccessBlock: "s3:PutBucketPublicAccessBlock", acl: "s3:PutBucketAcl", tagging: "s3:PutBucketTagging", ownershipControls: "s3:PutBucketOwnershipControls" },
  DELETE: { policy: "s3:DeleteBucketPolicy", lifecycle: "s3:PutLifecycleConfiguration", encryption: "s3:PutEncryptionConfiguration", publicAccessBlock: "s3:PutBucketPublicAccessBlock", tagging: "s3:PutBucketTagging" },
  GET: { policy: "s3:GetBucketPolicy", lifecycle: "s3:GetLifecycleConfiguration", "object-lock": "s3:GetBucketObjectLockConfiguration", encryption: "s3:GetEncryptionConfiguration", versioning: "s3:GetBucketVersioning", location: "s3:GetBucketLocation" },
};

export class AwsS3Bucket {
  readonly data: VersionedBucket;
  readonly access: AwsAccess;

  constructor(readonly cfg: AwsBucketConfig, dir: string, principals: ReadonlyMap<string, AwsPrincipal>) {
    this.data = new VersionedBucket(cfg.name, dir);
    this.access = new AwsAccess(cfg, principals);
  }

  get lockEnabled(): boolean {
    return this.cfg.objectLock !== undefined;
  }

  async handle(call: S3Call): Promise<S3Reply> {
    return call.key === null ? this.bucketCall(call) : this.objectCall(call, call.key);
  }

  private async bucketCall(call: S3Call): Promise<S3Reply> {
    const q = call.query;
    const a = this.access;
    if (call.method === "GET" && q.get("list-type") === "2") {
      await a.require(call, "s3:ListBucket", a.bucketArn, listContext(call));
      return listObjectsV2(this.data, call);
    }
    if (call.method === "GET" && q.has("versions")) {
      await a.require(call, "s3:ListBucketVersions", a.bucketArn, listContext(call));
      return listObjectVersions(this.data, call);
    }
    if (call.method === "POST" && q.has("delete")) return deleteObjects(this, call);
    if (call.method === "DELETE" && q.size === 0) {
      await a.require(call, "s3:DeleteBucket", a.bucketArn);
      throw new S3Error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty (and its versions are locked)");
    }
    for (const [sub, action] of Object.entries(BUCKET_CONFIG_ACTIONS[call.method] ?? {})) {
      if (!q.has(sub)) continue;
      await a.require(call, action, a.bucketArn);
      throw notImplemented(`${action}: the local store's bucket configuration comes from the Pulumi program and is not changed over the API`);
    }
    await a.require(call, "s3:ListBucket", a.bucketArn);
    throw notImplemented(`${call.method} on the bucket with ${[...q.keys()].join(", ") || "no sub-resource"} (ListObjects v1 included: use list-type=2)`);
  }

  private async objectCall(call: S3Call, key: string): Promise<S3Reply> {
    const q = call.query;
    if (Buffer.byteLength(key) > 1024) throw new S3Error(400, "KeyTooLongError", "Your key is too long");
    if (q.has("uploads") && call.method === "POST") return createUpload(this, call, key);
    if (q.has("uploadId")) {
      if (call.method === "PUT") return uploadPart(this, call, key);
      if (call.method === "POST") return completeUpload(this, call, key);
      if (call.method === "DELETE") return abortUpload(this, call, key);
      throw notImplemented("ListParts");
    }
    if (q.has("retention")) return call.method === "PUT" ? putRetention(this, call, key) : getRetention(this, call, key);
    if (q.has("legal-hold")) return call.method === "PUT" ? putLegalHold(this, call, key) : getLegalHold(this, call, key);
    if (q.has("tagging")) return call.method === "GET" ? getTagging(this, call, key) : putTagging(this, call, key);
    const unknown = [...q.keys()].filter((k) => k !== "versionId" && !k.startsWith("response-") && k !== "x-id");
    if (unknown.length) throw notImplemented(`?${unknown.join("&")} on objects`);
    switch (call.method) {
      case "PUT":
        return this.putObject(call, key);
      case "GET":
      case "HEAD":
        return this.getObject(call, key);
      case "DELETE":
        return deleteObject(this, call, key);
      default:
        throw new S3Error(405, "MethodNotAllowed", `${call.method} is not allowed against this resource`);
    }
  }

  /** Authorizes an upload of `key` with these headers: s3:PutObject plus what the headers imply. */
  async authorizeUpload(call: S3Call, key: string, headers: Readonly<Record<string, string>>, extraKms: readonly string[] = []): Promise<void> {
    const a = this.access;
    const ctx: Record<string, string> = {};
    if (headers["x-amz-object-lock-mode"]) ctx["s3:object-lock-mode"] = headers["x-amz-object-lock-mode"];
    if (headers["x-amz-object-lock-retain-until-date"]) {
      ctx["s3:object-lock-retain-until-date"] = headers["x-amz-object-lock-retain-until-date"];
      ctx["s3:object-lock-remaining-retention-days"] = String(Math.max(0, Math.ceil((Date.parse(headers["x-amz-object-lock-retain-until-date"]) - call.now.getTime()) / 86_400_000)));
    }
    await a.require(call, "s3:PutObject", a.objectArn(key), ctx);
    // Tags and lock settings sent with an upload need their own permissions.
    if (headers["x-amz-tagging"] !== undefined) await a.require(call, "s3:PutObjectTagging", a.objectArn(key));
    if (headers["x-amz-object-lock-mode"] !== undefined || headers["x-amz-object-lock-retain-until-date"] !== undefined) await a.require(call, "s3:PutObjectRetention", a.objectArn(key), ctx);
    if (headers["x-amz-object-lock-legal-hold"] !== undefined) await a.require(call, "s3:PutObjectLegalHold", a.objectArn(key));
    if (headers["x-amz-acl"] !== undefined || Object.keys(headers).some((h) => h.startsWith("x-amz-grant-"))) {
      throw new S3Error(400, "AccessControlListNotSupported", "The bucket does not allow ACLs (BucketOwnerEnforced)");
    }
    await a.requireKms(call, ["kms:GenerateDataKey", ...extraKms]);
  }

  private async putObject(call: S3Call, key: string): Promise<S3Reply> {
    refuseConditionalHeaders(call.headers);
    await this.authorizeUpload(call, key, call.headers);
    const integrity = checkUploadIntegrity(call.headers, call.body);
    requireIntegrityForLock(this.lockEnabled, integrity.present, "Put Object");
    const retention = retentionForUpload(call.headers, this.cfg.objectLock?.defaultRetention, this.lockEnabled, call.now);
    const v: ObjectVersion = {
      key,
      versionId: this.cfg.versioning ? this.data.newVersionId() : "null",
      deleteMarker: false,
      size: call.body.byteLength,
      etag: `"${md5Hex(call.body)}"`,
      lastModified: call.now,
      file: this.data.storeBody(call.body),
      contentHeaders: contentHeadersOf(call.headers),
      userMetadata: userMetadataOf(call.headers),
      tags: parseTaggingHeader(call.headers["x-amz-tagging"]),
      ...(retention ? { retention } : {}),
      legalHold: call.headers["x-amz-object-lock-legal-hold"] === "ON",
      ...(integrity.checksum ? { checksum: { ...integrity.checksum, type: "FULL_OBJECT" as const } } : {}),
    };
    this.store(v);
    return { status: 200, headers: { etag: v.etag, ...this.versionHeaders(v), ...this.sseHeaders(), ...(v.checksum ? { [`x-amz-checksum-${v.checksum.algorithm.toLowerCase()}`]: v.checksum.value } : {}) } };
  }

  /** Flips one byte in the middle of the current version's body on disk: corruption at rest,
   * which no API call could cause (the drill's --corrupt). */
  corruptAtRest(key: string): void {
    const v = this.data.current(key);
    if (!v?.file || v.size === 0) throw new Error(`no object ${key} to corrupt`);
    const bytes = readFileSync(v.file);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = (bytes[at] as number) ^ 0x20;
    writeFileSync(v.file, bytes);
  }

  /** Adds a version; an unversioned bucket keeps only the newest. */
  store(v: ObjectVersion): void {
    if (!this.cfg.versioning) {
      const old = this.data.latest(v.key);
      if (old) {
        this.data.remove(v.key, old.versionId);
        if (old.file) this.data.dropFile(old.file);
      }
    }
    this.data.add(v);
  }

  versionHeaders(v: ObjectVersion): Record<string, string> {
    return this.cfg.versioning ? { "x-amz-version-id": v.versionId } : {};
  }

  sseHeaders(): Record<string, string> {
    const kms = this.cfg.kms;
    return kms ? { "x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": kms.keyArn, "x-amz-server-side-encryption-bucket-key-enabled": "true" } : {};
  }

  /** The version a call names, with AWS's 403-or-404 for one that does not exist; `action`
   * (e.g. s3:GetObject, checked as s3:GetObjectVersion with a versionId) is required first. */
  async findForRead(call: S3Call, key: string, action?: string): Promise<ObjectVersion> {
    const a = this.access;
    const versionId = call.query.get("versionId");
    if (action) await a.require(call, versionId ? `${action}Version` : action, a.objectArn(key));
    const v = versionId ? this.data.version(key, versionId) : this.data.current(key);
    if (v && !v.deleteMarker) return v;
    // Without s3:ListBucket (evaluated without an s3:prefix), S3 hides whether the key exists.
    if (!(await a.allowed(call, "s3:ListBucket", a.bucketArn))) throw new S3Error(403, "AccessDenied", "Access Denied");
    if (v?.deleteMarker && versionId) throw new S3Error(405, "MethodNotAllowed", "The specified method is not allowed against this resource (a delete marker)");
    throw versionId ? new S3Error(404, "NoSuchVersion", "The specified version does not exist.") : noSuchKey();
  }

  private async getObject(call: S3Call, key: string): Promise<S3Reply> {
    refuseConditionalHeaders(call.headers);
    const v = await this.findForRead(call, key, "s3:GetObject");
    if (call.method === "GET") await this.access.requireKms(call, ["kms:Decrypt"]);
    const range = call.method === "GET" ? parseRange(call.headers.range, v.size) : undefined;
    const seeLock = v.retention && (await this.access.allowed(call, "s3:GetObjectRetention", this.access.objectArn(key)));
    const headers: Record<string, string> = {
      ...v.contentHeaders,
      etag: v.etag,
      "last-modified": v.lastModified.toUTCString(),
      "accept-ranges": "bytes",
      ...this.versionHeaders(v),
      ...this.sseHeaders(),
      ...Object.fromEntries(Object.entries(v.userMetadata).map(([k, val]) => [`x-amz-meta-${k}`, val])),
      ...(Object.keys(v.tags).length ? { "x-amz-tagging-count": String(Object.keys(v.tags).length) } : {}),
      ...(seeLock && v.retention ? { "x-amz-object-lock-mode": v.retention.mode, "x-amz-object-lock-retain-until-date": v.retention.retainUntil.toISOString() } : {}),
      ...(v.checksum && call.headers["x-amz-checksum-mode"] === "ENABLED" ? { [`x-amz-checksum-${v.checksum.algorithm.toLowerCase()}`]: v.checksum.value, "x-amz-checksum-type": v.checksum.type } : {}),
      "content-length": String(range ? range.end - range.start + 1 : v.size),
      ...(range ? { "content-range": `bytes ${range.start}-${range.end}/${v.size}` } : {}),
    };
    for (const [param, header] of Object.entries({ "response-content-type": "content-type", "response-content-disposition": "content-disposition", "response-cache-control": "cache-control" })) {
      const value = call.query.get(param);
      if (value !== undefined) headers[header] = value;
    }
    if (call.method === "HEAD" || v.size === 0) return { status: range ? 206 : 200, headers };
    const file = v.file as string;
    if (statSync(file).size !== v.size) throw new S3Error(500, "InternalError", `body of ${key} is damaged in the local store`);
    return { status: range ? 206 : 200, headers, body: { file, start: range?.start ?? 0, end: range?.end ?? v.size - 1 } };
  }
}
