/**
 * BackupAccess: least-privilege identities for the backup vault.
 *  - writer (the backup Worker, `drposture backup postgres`): put objects under the tier
 *    prefixes, set a longer lock on them, encrypt with the vault key. No delete, no bucket,
 *    lifecycle, lock or policy change, no governance bypass, no read.
 *  - verifier and restorer: read only; separate identities so that audit logs tell a routine
 *    verification from a restore.
 * Each has its own credentials, all secrets. Cloudflare account tokens are scoped to the one
 * backup bucket with object-level permissions only.
 */
import * as aws from "@pulumi/aws";
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import type { TierPolicy } from "../lib/posture/model";
import { backupIdentityPolicies, type BackupRole } from "./accessPolicies";

/** Cloudflare permission groups (names as the API lists them) for bucket-scoped R2 tokens. */
export const R2_PERMISSION_GROUPS = {
  write: "Workers R2 Storage Bucket Item Write",
  read: "Workers R2 Storage Bucket Item Read",
} as const;

export interface BackupAccessArgs {
  /** Cloudflare account that owns the R2 backup bucket. */
  readonly accountId: pulumi.Input<string>;
  /** Name of the S3 backup bucket. */
  readonly s3BucketArn: pulumi.Input<string>;
  /** ARN of the customer-managed KMS key that encrypts the S3 bucket. */
  readonly kmsKeyArn: pulumi.Input<string>;
  /** AWS region of the S3 bucket (scopes KMS use to S3 in that region). */
  readonly s3Region: pulumi.Input<string>;
  /** Name and jurisdiction of the R2 backup bucket. */
  readonly r2BucketName: pulumi.Input<string>;
  readonly r2Jurisdiction: pulumi.Input<string>;
  /** Tier prefixes the writer may put under. */
  readonly tiers: readonly TierPolicy[];
  /** Prefix for identity names (IAM users, tokens). */
  readonly namePrefix: pulumi.Input<string>;
  /** Name prefix of the key-escrow secrets (in the vault region) the restorer may read. */
  readonly escrowSecretPrefix: pulumi.Input<string>;
}

export interface S3Credentials {
  readonly userArn: pulumi.Output<string>;
  /** URN of the access key resource: `pulumi up --replace <urn>` rotates it. */
  readonly keyUrn: pulumi.Output<string>;
  readonly accessKeyId: pulumi.Output<string>;
  readonly secretAccessKey: pulumi.Output<string>;
}

/** R2's S3-compatible credentials derived from an account token. */
export interface R2Credentials {
  readonly tokenId: pulumi.Output<string>;
  /** URN of the account token resource: `pulumi up --replace <urn>` rotates it. */
  readonly tokenUrn: pulumi.Output<string>;
  readonly accessKeyId: pulumi.Output<string>;
  readonly secretAccessKey: pulumi.Output<string>;
}

export class BackupAccess extends pulumi.ComponentResource {
  static readonly __pulumiType = "drposture:access:BackupAccess";

  readonly s3: Record<BackupRole, S3Credentials>;
  readonly r2: { readonly writer: R2Credentials; readonly reader: R2Credentials };

  constructor(name: string, args: BackupAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super(BackupAccess.__pulumiType, name, args, opts);
    const parent = { parent: this };

    const account = aws.getCallerIdentityOutput({}, parent).accountId;
    const policies = backupIdentityPolicies({
      bucketArn: args.s3BucketArn,
      kmsKeyArn: args.kmsKeyArn,
      region: args.s3Region,
      prefixes: args.tiers.map((t) => t.prefix),
      escrowSecretsArn: pulumi.interpolate`arn:aws:secretsmanager:${args.s3Region}:${account}:secret:${args.escrowSecretPrefix}/*`,
    });
    const s3 = {} as Record<BackupRole, S3Credentials>;
    for (const role of ["writer", "verifier", "restorer"] as const) {
      const user = new aws.iam.User(
        `${name}-${role}`,
        { name: pulumi.interpolate`${args.namePrefix}-${role}`, path: "/drposture/", forceDestroy: true },
        parent,
      );
      new aws.iam.UserPolicy(`${name}-${role}-policy`, { user: user.name, policy: policies[role] }, parent);
      const key = new aws.iam.AccessKey(`${name}-${role}-key`, { user: user.name }, { ...parent, additionalSecretOutputs: ["secret"] });
      s3[role] = { userArn: user.arn, keyUrn: key.urn, accessKeyId: key.id, secretAccessKey: pulumi.secret(key.secret) };
    }
    this.s3 = s3;

    const groupId = (groupName: string) =>
      cloudflare
        .getAccountApiTokenPermissionGroupsListOutput({ accountId: args.accountId, name: groupName }, parent)
        .apply((res) => {
          const id = res.results[0]?.id;
          if (!id) throw new Error(`Cloudflare permission group "${groupName}" not found for this account`);
          return id;
        });
    const bucketResource = pulumi.jsonStringify(
      pulumi
        .all([args.accountId, args.r2Jurisdiction, args.r2BucketName])
        .apply(([acct, jur, bucket]) => ({ [`com.cloudflare.edge.r2.bucket.${acct}_${jur}_${bucket}`]: "*" })),
    );
    const token = (suffix: "writer" | "reader", group: string): R2Credentials => {
      const t = new cloudflare.AccountToken(
        `${name}-r2-${suffix}`,
        {
          accountId: args.accountId,
          name: pulumi.interpolate`${args.namePrefix}-r2-${suffix}`,
          policies: [{ effect: "allow", permissionGroups: [{ id: groupId(group) }], resources: bucketResource }],
        },
        { ...parent, additionalSecretOutputs: ["value"] },
      );
      // R2's S3 API: access key id = token id, secret = SHA-256 of the token value.
      return {
        tokenId: t.id,
        tokenUrn: t.urn,
        accessKeyId: t.id,
        secretAccessKey: pulumi.secret(t.value.apply((v) => createHash("sha256").update(v ?? "").digest("hex"))),
      };
    };
    this.r2 = { writer: token("writer", R2_PERMISSION_GROUPS.write), reader: token("reader", R2_PERMISSION_GROUPS.read) };

    this.registerOutputs({
      writerArn: s3.writer.userArn,
      verifierArn: s3.verifier.userArn,
      restorerArn: s3.restorer.userArn,
      r2WriterTokenId: this.r2.writer.tokenId,
      r2ReaderTokenId: this.r2.reader.tokenId,
    });
  }
}
