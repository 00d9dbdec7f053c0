/**
 * What the policies know about the resources they judge: type tokens, how a sub-resource
 * (lifecycle, lock, versioning...) points at its bucket, IAM documents. Policies match raw
 * provider types, so a backup stack written by hand is judged exactly like one built from
 * dr-posture's components.
 */
import type { PolicyResource } from "@pulumi/policy";

export const T = {
  s3Bucket: ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"],
  s3Lifecycle: ["aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"],
  s3ObjectLock: ["aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2"],
  s3Versioning: ["aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"],
  s3Encryption: ["aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"],
  s3PublicAccessBlock: ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"],
  s3Policy: ["aws:s3/bucketPolicy:BucketPolicy"],
  s3Acl: ["aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2"],
  s3Metric: ["aws:s3/bucketMetric:BucketMetric"],
  kmsKey: ["aws:kms/key:Key"],
  iamPolicyDocs: ["aws:iam/userPolicy:UserPolicy", "aws:iam/rolePolicy:RolePolicy", "aws:iam/groupPolicy:GroupPolicy", "aws:iam/policy:Policy"],
  iamAttachments: ["aws:iam/userPolicyAttachment:UserPolicyAttachment", "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"],
  snsTopic: ["aws:sns/topic:Topic"],
  snsSubscription: ["aws:sns/topicSubscription:TopicSubscription"],
  alarm: ["aws:cloudwatch/metricAlarm:MetricAlarm"],
  r2Bucket: ["cloudflare:index/r2Bucket:R2Bucket"],
  r2Lifecycle: ["cloudflare:index/r2BucketLifecycle:R2BucketLifecycle"],
  r2Lock: ["cloudflare:index/r2BucketLock:R2BucketLock"],
  workersScript: ["cloudflare:index/workersScript:WorkersScript"],
  cronTrigger: ["cloudflare:index/workersCronTrigger:WorkersCronTrigger"],
  tokens: ["cloudflare:index/accountToken:AccountToken", "cloudflare:index/apiToken:ApiToken"],
  command: ["command:local:Command"],
  drComponent: ["drposture:index:DisasterRecovery"],
  neonComponent: ["drposture:neon:NeonPitr"],
} as const;

export const is = (r: { type: string }, types: readonly string[]) => types.includes(r.type);
export const ofType = (rs: readonly PolicyResource[], types: readonly string[]) => rs.filter((r) => is(r, types));

/** The S3 bucket a sub-resource configures: by property dependency, else by name/id. */
export function bucketOf(sub: PolicyResource, buckets: readonly PolicyResource[], prop = "bucket"): PolicyResource | undefined {
  const dep = sub.propertyDependencies?.[prop]?.find((d) => buckets.includes(d));
  if (dep) return dep;
  const ref = sub.props[prop];
  return buckets.find((b) => b.props.bucket === ref || b.props.id === ref || b.props.arn === ref);
}

/** Sub-resources of `types` that configure `bucket`. */
export function configsOf(bucket: PolicyResource, all: readonly PolicyResource[], types: readonly string[], buckets: readonly PolicyResource[]): PolicyResource[] {
  return ofType(all, types).filter((c) => bucketOf(c, buckets) === bucket);
}

/** The R2 bucket a lifecycle or lock configures (by bucketName). */
export function r2BucketOf(sub: PolicyResource, buckets: readonly PolicyResource[]): PolicyResource | undefined {
  const dep = sub.propertyDependencies?.bucketName?.find((d) => buckets.includes(d));
  return dep ?? buckets.find((b) => b.props.name === sub.props.bucketName);
}

export interface IamStatement {
  Effect?: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export function statements(policy: unknown): IamStatement[] {
  const doc = typeof policy === "string" ? (JSON.parse(policy) as { Statement?: unknown }) : (policy as { Statement?: unknown });
  const s = doc?.Statement;
  return (Array.isArray(s) ? s : s ? [s] : []) as IamStatement[];
}

export const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** IAM-style glob: * matches any run of characters, ? one character. Case-insensitive. */
export function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i");
  return re.test(value);
}

export const TIERS = ["daily", "weekly", "monthly"] as const;
export type Tier = (typeof TIERS)[number];
export const tierPrefix = (t: Tier) => `${t}/`;

/** The tiers whose objects a rule with this prefix applies to ("" applies to all). */
export function tiersCovered(prefix: string | undefined): Tier[] {
  const p = prefix ?? "";
  return TIERS.filter((t) => tierPrefix(t).startsWith(p) || p.startsWith(tierPrefix(t)));
}
