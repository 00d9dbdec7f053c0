/**
 * LOCAL WORLD. What R2's S3 API implements and what a Cloudflare API token may do there.
 *  - Headers and sub-resources R2 does not implement answer 501 NotImplemented, as R2 answers
 *    them, instead of being ignored (R2's compatibility table).
 *  - Bucket-scoped tokens: "Workers R2 Storage Bucket Item Read" reads and lists objects of the
 *    bucket; "... Item Write" also writes and deletes them; nothing of these touches bucket
 *    configuration. A token applies only to the resources its policy names
 *    (com.cloudflare.edge.r2.bucket.<account>_<jurisdiction>_<bucket>).
 * Sources: https://developers.cloudflare.com/r2/api/s3/api/,
 * https://developers.cloudflare.com/r2/api/tokens/
 */
import type { DeclaredR2Token } from "../declaredWorld";
import { notImplemented } from "./s3Errors";
import type { S3Call } from "./s3Wire";

/** Request headers R2's S3 API does not implement (PutObject, CreateMultipartUpload, ...). */
export const R2_UNSUPPORTED_HEADERS = [
  "x-amz-tagging",
  "x-amz-object-lock-mode",
  "x-amz-object-lock-retain-until-date",
  "x-amz-object-lock-legal-hold",
  "x-amz-bypass-governance-retention",
  "x-amz-acl",
  "x-amz-grant-full-control",
  "x-amz-grant-read",
  "x-amz-grant-read-acp",
  "x-amz-grant-write-acp",
  "x-amz-website-redirect-location",
  "x-amz-request-payer",
  "x-amz-server-side-encryption-aws-kms-key-id",
  "x-amz-server-side-encryption-context",
  "x-amz-server-side-encryption-bucket-key-enabled",
] as const;

/** Sub-resources (query parameters) of S3 operations R2 does not implement. */
export const R2_UNSUPPORTED_SUBRESOURCES = ["tagging", "retention", "legal-hold", "acl", "versions", "versionId", "object-lock", "policy", "versioning", "replication", "torrent", "restore", "select", "notification", "logging", "website", "ownershipControls", "publicAccessBlock", "requestPayment", "accelerate", "analytics", "inventory", "metrics", "intelligent-tiering"] as const;

export function refuseUnsupported(call: S3Call): void {
  for (const h of R2_UNSUPPORTED_HEADERS) if (call.headers[h] !== undefined) throw notImplemented(`Header '${h}' with value '${call.headers[h]}' not implemented`);
  const sse = call.headers["x-amz-server-side-encryption"];
  if (sse !== undefined && sse !== "AES256") throw notImplemented(`Header 'x-amz-server-side-encryption' with value '${sse}' not implemented`);
  for (const q of R2_UNSUPPORTED_SUBRESOURCES) if (call.query.has(q)) throw notImplemented(`the ${q} sub-resource is not implemented by R2`);
}

export interface R2Grant {
  readonly read: boolean;
  readonly write: boolean;
}

const GROUPS: Record<string, R2Grant> = {
  "Workers R2 Storage Bucket Item Read": { read: true, write: false },
  "Workers R2 Storage Bucket Item Write": { read: true, write: true },
};

export function r2Permission(g: R2Grant, need: "read" | "write" | "list"): boolean {
  return need === "write" ? g.write : g.read;
}

/** What a declared token may do on one bucket, from its policies' resources and groups. */
export function grantFor(token: DeclaredR2Token | undefined, bucket: { accountId: string; jurisdiction: string; name: string }): R2Grant {
  const resource = `com.cloudflare.edge.r2.bucket.${bucket.accountId}_${bucket.jurisdiction}_${bucket.name}`;
  let read = false;
  let write = false;
  for (const p of token?.policies ?? []) {
    if (p.effect !== "allow" || p.resources[resource] !== "*") continue;
    for (const group of p.permissionGroups) {
      read ||= GROUPS[group]?.read ?? false;
      write ||= GROUPS[group]?.write ?? false;
    }
  }
  for (const p of token?.policies ?? []) {
    // A deny for this bucket wins, as in Cloudflare's token policies.
    if (p.effect === "deny" && p.resources[resource] === "*") return { read: false, write: false };
  }
  return { read, write };
}
