/**
 * LOCAL WORLD. Object sub-resources of an AWS-flavour bucket: retention (PutObjectRetention may
 * extend a lock; shortening needs governance bypass and is impossible under COMPLIANCE), legal
 * hold and tags. Each needs its own permission; retention and legal-hold changes need an
 * integrity header, as S3 requires.
 * Sources: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectRetention.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html
 */
import type { AwsS3Bucket } from "./awsS3";
import { checkUploadIntegrity } from "./checksums";
import { assertRetentionChange } from "./objectLock";
import { invalidRequest, S3Error } from "./s3Errors";
import { parseXml, S3_XMLNS, tag, xmlReply, type S3Call, type S3Reply } from "./s3Wire";

function requireLock(b: AwsS3Bucket): void {
  if (!b.lockEnabled) throw invalidRequest("Bucket is missing Object Lock Configuration");
}

function requireIntegrity(call: S3Call, what: string): void {
  if (!checkUploadIntegrity(call.headers, call.body).present) throw invalidRequest(`Content-MD5 OR x-amz-checksum- HTTP header is required for ${what} requests`);
}

export async function putRetention(b: AwsS3Bucket, call: S3Call, key: string): Promise<S3Reply> {
  requireLock(b);
  await b.access.require(call, "s3:PutObjectRetention", b.access.objectArn(key));
  requireIntegrity(call, "Put Object Retention");
  const v = await b.findForRead(call, key);
  const doc = parseXml<{ Retention?: { Mode?: string; RetainUntilDate?: string } }>(call.body, "Retention").Retention;
  const mode = doc?.Mode;
  const until = new Date(String(doc?.RetainUntilDate));
  if ((mode !== "COMPLIANCE" && mode !== "GOVERNANCE") || Number.isNaN(until.getTime())) throw new S3Error(400, "MalformedXML", "Retention needs Mode (COMPLIANCE or GOVERNANCE) and RetainUntilDate");
  if (until.getTime() <= call.now.getTime()) throw new S3Error(400, "InvalidArgument", "The retain until date must be in the future!");
  const bypass = call.headers["x-amz-bypass-governance-retention"]?.toLowerCase() === "true" && (await b.access.allowed(call, "s3:BypassGovernanceRetention", b.access.objectArn(key)));
  const next = { mode, retainUntil: until } as const;
  assertRetentionChange(v, next, call.now, bypass);
  v.retention = next;
  return { status: 200 };
}

export async function getRetention(b: AwsS3Bucket, call: S3Call, key: string): Promise<S3Reply> {
  await b.access.require(call, "s3:GetObjectRetention", b.access.objectArn(key));
  const v = await b.findForRead(call, key);
  if (!v.retention) throw new S3Error(404, "NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock configuration");
  return xmlReply(200, `<Retention xmlns="${S3_XMLNS}">${tag("Mode", v.retention.mode)}${tag("RetainUntilDate", v.retention.retainUntil.toISOString())}</Retention>`);
}

export async function putLegalHold(b: AwsS3Bucket, call: S3Call, key: string): Promise<S3Reply> {
  requireLock(b);
  await b.access.require(call, "s3:PutObjectLegalHold", b.access.objectArn(key));
  requireIntegrity(call, "Put Object Legal Hold");
  const v = await b.findForRead(call, key);
  const status = parseXml<{ LegalHold?: { Status?: string } }>(call.body, "LegalHold").LegalHold?.Status;
  if (status !== "ON" && status !== "OFF") throw new S3Error(400, "MalformedXML", "LegalHold Status must be ON or OFF");
  v.legalHold = status === "ON";
  return { status: 200 };
}

export async function getLegalHold(b: AwsS3Bucket, call: S3Call, key: string): Promise<S3Reply> {
  await b.access.require(call, "s3:GetObjectLegalHold", b.access.objectArn(key));
  const v = await b.findForRead(call, key);
  return xmlReply(200, `<LegalHold xmlns="${S3_XMLNS}">${tag("Status", v.legalHold ? "ON" : "OFF")}</LegalHold>`);
}

const tagAction = (base: string, call: S3Call) => (call.query.has("versionId") ? base.replace("Object", "ObjectVersion") : base);

export async function putTagging(b: AwsS3Bucket, call: S3Call, key: string): Promise<S3Reply> {
  const deleting = call.method === "DELETE";
  await b.access.require(call, tagAction(deleting ? "s3:DeleteObjectTagging" : "s3:PutObjectTagging", call), b.access.objectArn(key));
  const versionId = call.query.get("versionId");
  const v = versionId ? b.data.version(key, versionId) : b.data.current(key);
  if (!v || v.deleteMarker) throw new S3Error(404, "NoSuchKey", "The specified key does not exist.");
  if (deleting) {
    v.tags = {};
    return { status: 204 };
  }
  const tags = parseXml<{ Tagging?: { TagSet?: { Tag?: Array<{ Key?: string; Value?: string }> } } }>(call.body, "Tagging").Tagging?.TagSet?.Tag ?? [];
  if (tags.length > 10) throw new S3Error(400, "BadRequest", "Object tags cannot be greater than 10");
  v.tags = Object.fromEntries(tags.map((t) => [String(t.Key ?? ""), String(t.Value ?? "")]));
  return { status: 200 };
}

export async function getTagging(b: AwsS3Bucket, call: S3Call, key: string): Promise<S3Reply> {
  await b.access.require(call, tagAction("s3:GetObjectTagging", call), b.access.objectArn(key));
  const v = await b.findForRead(call, key);
  return xmlReply(200, `<Tagging xmlns="${S3_XMLNS}"><TagSet>${Object.entries(v.tags).map(([k, val]) => `<Tag>${tag("Key", k)}${tag("Value", val)}</Tag>`).join("")}</TagSet></Tagging>`);
}
