/**
 * IAM policy documents of the backup identities. Kept apart from the component so the exact
 * statements can be read (and tested) in one place.
 */
import * as pulumi from "@pulumi/pulumi";

export type BackupRole = "writer" | "verifier" | "restorer";

export interface PolicyInputs {
  readonly bucketArn: pulumi.Input<string>;
  readonly kmsKeyArn: pulumi.Input<string>;
  readonly region: pulumi.Input<string>;
  readonly prefixes: readonly string[];
  /** ARN pattern of the key-escrow secrets (every key this stack ever had). */
  readonly escrowSecretsArn: pulumi.Input<string>;
}

export function backupIdentityPolicies(p: PolicyInputs): Record<BackupRole, pulumi.Output<string>> {
  const objects = p.prefixes.map((prefix) => pulumi.interpolate`${p.bucketArn}/${prefix}*`);
  const viaS3 = { StringEquals: { "kms:ViaService": pulumi.interpolate`s3.${p.region}.amazonaws.com` } };

  const writer = pulumi.jsonStringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "PutBackupObjects",
        Effect: "Allow",
        // PutObjectRetention lets the writer lengthen a weekly/monthly object's lock; it cannot
        // shorten one (that needs s3:BypassGovernanceRetention, which no identity here has).
        // AbortMultipartUpload only discards an upload that never completed.
        Action: ["s3:PutObject", "s3:PutObjectRetention", "s3:PutObjectTagging", "s3:AbortMultipartUpload"],
        Resource: objects,
      },
      {
        Sid: "EncryptWithVaultKey",
        Effect: "Allow",
        // Multipart uploads under SSE-KMS need Decrypt of the data key; ViaService keeps it
        // usable only through S3 in the vault's region.
        Action: ["kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"],
        Resource: p.kmsKeyArn,
        Condition: viaS3,
      },
    ],
  });

  const reader = (sid: string, extra: unknown[] = []) =>
    pulumi.jsonStringify({
      Version: "2012-10-17",
      Statement: [
        ...extra,
        {
          Sid: `${sid}ReadBackupObjects`,
          Effect: "Allow",
          Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectRetention"],
          Resource: objects,
        },
        {
          Sid: `${sid}ListBackupPrefixes`,
          Effect: "Allow",
          Action: ["s3:ListBucket", "s3:ListBucketVersions"],
          Resource: p.bucketArn,
          Condition: { StringLike: { "s3:prefix": p.prefixes.map((x) => `${x}*`) } },
        },
        {
          Sid: `${sid}DecryptWithVaultKey`,
          Effect: "Allow",
          Action: ["kms:Decrypt"],
          Resource: p.kmsKeyArn,
          Condition: viaS3,
        },
      ],
    });

  // The restorer reads the escrowed keys through its own policy, not the secrets' resource
  // policies: a resource policy names a user by its unique id, so it would not admit the
  // restorer of a rebuilt stack to the keys of the backups made before the rebuild.
  const escrow = { Sid: "RestoreReadsEscrowedKeys", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: p.escrowSecretsArn };
  return { writer, verifier: reader("Verify"), restorer: reader("Restore", [escrow]) };
}
