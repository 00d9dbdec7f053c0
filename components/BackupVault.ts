/**
 * BackupVault: the two places backups live, in two providers.
 *  - a secondary R2 bucket with a lifecycle rule and a bucket-lock rule per tier prefix;
 *  - an S3 bucket in another region: versioned, Object Lock, lifecycle per tier prefix,
 *    SSE-KMS with a rotating customer-managed key, public access blocked, TLS only.
 *
 * S3 Object Lock has one default retention per bucket, so the bucket default covers the
 * shortest tier (daily) and the backup writer sets a longer retain-until date on weekly and
 * monthly objects at upload (it may extend a lock, never shorten one).
 */
import * as aws from "@pulumi/aws";
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ABORT_INCOMPLETE_UPLOAD_DAYS, NONCURRENT_VERSION_DAYS, type TierPolicy } from "../lib/posture/model";

const DAY_SECONDS = 86_400;

export interface BackupVaultArgs {
  /** Cloudflare account that owns the secondary R2 bucket. */
  readonly accountId: pulumi.Input<string>;
  /** Prefix of the physical bucket names; a random suffix is appended. */
  readonly namePrefix: pulumi.Input<string>;
  /** Retention tiers: one lifecycle rule and one lock rule per tier prefix. */
  readonly tiers: readonly TierPolicy[];
  /** AWS region of the S3 copy; must not be the primary region. */
  readonly s3Region: pulumi.Input<string>;
  /** R2 location hint for the secondary bucket. */
  readonly r2Location?: pulumi.Input<string>;
  /** R2 jurisdiction of the secondary bucket ("default", "eu", "fedramp"). */
  readonly r2Jurisdiction?: pulumi.Input<string>;
  /** S3 Object Lock mode: COMPLIANCE (nobody can shorten) or GOVERNANCE (privileged bypass). */
  readonly objectLockMode: pulumi.Input<"COMPLIANCE" | "GOVERNANCE">;
  /** Tags applied to every AWS resource. */
  readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export class BackupVault extends pulumi.ComponentResource {
  static readonly __pulumiType = "drposture:vault:BackupVault";

  readonly r2BucketName: pulumi.Output<string>;
  readonly r2Jurisdiction: pulumi.Output<string>;
  readonly s3BucketName: pulumi.Output<string>;
  readonly s3BucketArn: pulumi.Output<string>;
  readonly s3Region: pulumi.Output<string>;
  readonly kmsKeyArn: pulumi.Output<string>;

  constructor(name: string, args: BackupVaultArgs, opts?: pulumi.ComponentResourceOptions) {
    super(BackupVault.__pulumiType, name, withoutTags(args), opts);
    const parent = { parent: this };
    // Destroying or rebuilding the stack must never delete backups or the key that decrypts
    // them: the buckets and the KMS key leave Pulumi state but stay in the account.
    const keep = { parent: this, retainOnDelete: true };
    const tiers = args.tiers;
    const shortestTier = tiers.reduce((a, b) => (b.retentionDays < a.retentionDays ? b : a));

    // Bucket names are global; a random suffix keeps a rebuilt stack from colliding with the
    // locked (undeletable) buckets of the one it replaces.
    const suffix = new random.RandomId(`${name}-suffix`, { byteLength: 3 }, parent);
    const bucketName = pulumi.interpolate`${args.namePrefix}-${suffix.hex}`;

    // --- Cloudflare R2 (secondary copy) ---
    const jurisdiction = pulumi.output(args.r2Jurisdiction ?? "default");
    const r2 = new cloudflare.R2Bucket(
      `${name}-r2`,
      {
        accountId: args.accountId,
        name: bucketName,
        jurisdiction,
        ...(args.r2Location ? { location: args.r2Location } : {}),
        storageClass: "Standard",
      },
      keep,
    );
    new cloudflare.R2BucketLifecycle(
      `${name}-r2-lifecycle`,
      {
        accountId: args.accountId,
        bucketName: r2.name,
        jurisdiction,
        rules: tiers.map((t) => ({
          id: `expire-${t.tier}`,
          enabled: true,
          conditions: { prefix: t.prefix },
          deleteObjectsTransition: { condition: { type: "Age", maxAge: t.retentionDays * DAY_SECONDS } },
          abortMultipartUploadsTransition: {
            condition: { type: "Age", maxAge: ABORT_INCOMPLETE_UPLOAD_DAYS * DAY_SECONDS },
          },
        })),
      },
      parent,
    );
    new cloudflare.R2BucketLock(
      `${name}-r2-lock`,
      {
        accountId: args.accountId,
        bucketName: r2.name,
        jurisdiction,
        rules: tiers.map((t) => ({
          id: `lock-${t.tier}`,
          enabled: true,
          prefix: t.prefix,
          condition: { type: "Age", maxAgeSeconds: t.retentionDays * DAY_SECONDS },
        })),
      },
      parent,
    );

    // --- AWS S3 (other provider, other region) ---
    const region = args.s3Region;
    const tags = args.tags ?? {};
    const key = new aws.kms.Key(
      `${name}-kms`,
      {
        region,
        description: pulumi.interpolate`dr-posture backup encryption for ${bucketName}`,
        enableKeyRotation: true,
        rotationPeriodInDays: 365,
        deletionWindowInDays: 30,
        tags,
      },
      keep,
    );
    new aws.kms.Alias(`${name}-kms-alias`, { region, name: pulumi.interpolate`alias/${bucketName}`, targetKeyId: key.keyId }, parent);

    const bucket = new aws.s3.Bucket(
      `${name}-s3`,
      { region, bucket: bucketName, objectLockEnabled: true, forceDestroy: false, tags },
      keep,
    );
    const onBucket = { ...parent, dependsOn: [bucket] };
    const publicAccess = new aws.s3.BucketPublicAccessBlock(
      `${name}-s3-public-access`,
      { region, bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      onBucket,
    );
    new aws.s3.BucketOwnershipControls(
      `${name}-s3-ownership`,
      { region, bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
      onBucket,
    );
    const versioning = new aws.s3.BucketVersioning(
      `${name}-s3-versioning`,
      { region, bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
      onBucket,
    );
    new aws.s3.BucketObjectLockConfiguration(
      `${name}-s3-object-lock`,
      {
        region,
        bucket: bucket.id,
        objectLockEnabled: "Enabled",
        rule: { defaultRetention: { mode: args.objectLockMode, days: shortestTier.retentionDays } },
      },
      { ...parent, dependsOn: [versioning] },
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-s3-encryption`,
      {
        region,
        bucket: bucket.id,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key.arn }, bucketKeyEnabled: true }],
      },
      onBucket,
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-s3-lifecycle`,
      {
        region,
        bucket: bucket.id,
        rules: tiers.map((t) => ({
          id: `expire-${t.tier}`,
          status: "Enabled",
          filter: { prefix: t.prefix },
          expiration: { days: t.retentionDays },
          noncurrentVersionExpiration: { noncurrentDays: NONCURRENT_VERSION_DAYS },
          abortIncompleteMultipartUpload: { daysAfterInitiation: ABORT_INCOMPLETE_UPLOAD_DAYS },
        })),
      },
      { ...parent, dependsOn: [versioning] },
    );
    new aws.s3.BucketPolicy(
      `${name}-s3-policy`,
      {
        region,
        bucket: bucket.id,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "DenyInsecureTransport",
              Effect: "Deny",
              Principal: "*",
              Action: "s3:*",
              Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
          ],
        }),
      },
      // The public access block must exist first so the policy is never briefly evaluated
      // against an unprotected bucket.
      { ...parent, dependsOn: [publicAccess] },
    );

    this.r2BucketName = r2.name;
    this.r2Jurisdiction = jurisdiction;
    this.s3BucketName = bucket.bucket;
    this.s3BucketArn = bucket.arn;
    this.s3Region = pulumi.output(region);
    this.kmsKeyArn = key.arn;
    this.registerOutputs({
      r2BucketName: this.r2BucketName,
      s3BucketName: this.s3BucketName,
      s3BucketArn: this.s3BucketArn,
      kmsKeyArn: this.kmsKeyArn,
    });
  }
}

/** Component inputs as the policy pack sees them; tags are noise there. */
function withoutTags(args: BackupVaultArgs): Omit<BackupVaultArgs, "tags"> {
  const { tags: _tags, ...rest } = args;
  return rest;
}
