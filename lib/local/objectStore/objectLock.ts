/**
 * LOCAL WORLD. S3 Object Lock rules, as AWS documents them:
 *  - a bucket with Object Lock takes uploads only with Content-MD5 or an x-amz-checksum-*
 *    header (400 InvalidRequest otherwise);
 *  - x-amz-object-lock-mode and -retain-until-date come together, with a date in the future;
 *    without them, the bucket's default retention applies to the new version;
 *  - a version under COMPLIANCE retention cannot be deleted or have its retention shortened
 *    by anyone; under GOVERNANCE only with x-amz-bypass-governance-retention: true and the
 *    s3:BypassGovernanceRetention permission; a legal hold blocks deletion.
 * Sources: https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html
 */
import { S3Error, accessDenied, invalidRequest } from "./s3Errors";
import type { LockMode, ObjectVersion, Retention } from "./versionedBucket";

export const DAY_MS = 86_400_000;

/** Retention asked for in upload headers, or the bucket default; undefined when none applies. */
export function retentionForUpload(headers: Readonly<Record<string, string>>, defaults: { mode: LockMode; days: number } | undefined, lockEnabled: boolean, now: Date): Retention | undefined {
  const mode = headers["x-amz-object-lock-mode"];
  const until = headers["x-amz-object-lock-retain-until-date"];
  if (mode !== undefined || until !== undefined) {
    if (!lockEnabled) throw invalidRequest("Bucket is missing Object Lock Configuration");
    if (mode === undefined || until === undefined) throw new S3Error(400, "InvalidArgument", "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied");
    if (mode !== "COMPLIANCE" && mode !== "GOVERNANCE") throw new S3Error(400, "InvalidArgument", "Unknown wormMode directive.");
    const date = new Date(until);
    if (Number.isNaN(date.getTime())) throw new S3Error(400, "InvalidArgument", "The retain until date must be provided in ISO 8601 format");
    if (date.getTime() <= now.getTime()) throw new S3Error(400, "InvalidArgument", "The retain until date must be in the future!");
    return { mode, retainUntil: date };
  }
  if (lockEnabled && defaults) return { mode: defaults.mode, retainUntil: new Date(now.getTime() + defaults.days * DAY_MS) };
  return undefined;
}

export function requireIntegrityForLock(lockEnabled: boolean, present: boolean, what: string): void {
  if (lockEnabled && !present) {
    throw invalidRequest(`Content-MD5 OR x-amz-checksum- HTTP header is required for ${what} requests with Object Lock parameters`);
  }
}

export const underRetention = (v: ObjectVersion, now: Date): boolean => !!v.retention && v.retention.retainUntil.getTime() > now.getTime();

/**
 * Whether a version may be deleted (or, for `shorten`, its retention lowered).
 * `bypass` is true when the caller sent the bypass header and holds the permission.
 */
export function assertMayRemove(v: ObjectVersion, now: Date, bypass: boolean): void {
  if (v.legalHold) throw accessDenied(`version ${v.versionId} of ${v.key} is under a legal hold`);
  if (!underRetention(v, now)) return;
  const r = v.retention as Retention;
  if (r.mode === "COMPLIANCE") throw accessDenied(`version ${v.versionId} of ${v.key} is locked in COMPLIANCE mode until ${r.retainUntil.toISOString()}`);
  if (!bypass) throw accessDenied(`version ${v.versionId} of ${v.key} is locked in GOVERNANCE mode until ${r.retainUntil.toISOString()}; only a caller with s3:BypassGovernanceRetention sending x-amz-bypass-governance-retention may remove it`);
}

/** PutObjectRetention on an existing version: extending is always allowed. */
export function assertRetentionChange(v: ObjectVersion, next: Retention, now: Date, bypass: boolean): void {
  if (!underRetention(v, now)) return;
  const cur = v.retention as Retention;
  const weaker = next.retainUntil.getTime() < cur.retainUntil.getTime() || (cur.mode === "COMPLIANCE" && next.mode !== "COMPLIANCE");
  if (!weaker) return;
  if (cur.mode === "COMPLIANCE") throw accessDenied(`the COMPLIANCE retention of ${v.key} (until ${cur.retainUntil.toISOString()}) cannot be shortened or weakened`);
  if (!bypass) throw accessDenied(`the GOVERNANCE retention of ${v.key} can only be shortened with s3:BypassGovernanceRetention and x-amz-bypass-governance-retention`);
}
