/** Backup identities can do only what their job needs. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { globMatch, is, list, statements, T } from "./resources";

/** Actions no identity that writes backups may hold: deleting, reconfiguring or unlocking. */
export const WRITER_FORBIDDEN = [
  "s3:DeleteObject",
  "s3:DeleteObjectVersion",
  "s3:DeleteBucket",
  "s3:BypassGovernanceRetention",
  "s3:PutBucketPolicy",
  "s3:DeleteBucketPolicy",
  "s3:PutLifecycleConfiguration",
  "s3:PutBucketObjectLockConfiguration",
  "s3:PutBucketVersioning",
  "s3:PutEncryptionConfiguration",
  "s3:PutBucketPublicAccessBlock",
  "s3:PutBucketAcl",
  "s3:PutReplicationConfiguration",
  "s3:PutBucketOwnershipControls",
  "kms:ScheduleKeyDeletion",
  "kms:DisableKey",
  "kms:DisableKeyRotation",
  "kms:PutKeyPolicy",
  "iam:PassRole",
  "iam:PutUserPolicy",
  "iam:AttachUserPolicy",
  "secretsmanager:DeleteSecret",
];

const BROAD_MANAGED = /:aws:policy\/(AdministratorAccess|PowerUserAccess|AmazonS3FullAccess|IAMFullAccess|AWSKeyManagementServicePowerUser)$/;

export const backupIdentityLeastPrivilege: ResourceValidationPolicy = {
  name: "backup-identity-least-privilege",
  description:
    "IAM policies of backup identities grant no '*' action or resource; an identity that can put backups cannot delete objects, change bucket policy, lifecycle, lock, versioning or encryption, bypass governance retention, or touch the KMS key's lifecycle, and puts only under the tier prefixes. Cloudflare tokens are scoped to named resources, never account-wide.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      tierPrefixes: { type: "array", items: { type: "string", pattern: "^[a-z0-9-]+/$" }, minItems: 1, uniqueItems: true, default: ["daily/", "weekly/", "monthly/"], description: "Prefixes a writer may put under (each ends with '/')." },
    },
  },
  validateResource: (args, report) => {
    const { tierPrefixes } = args.getConfig<{ tierPrefixes: string[] }>();
    if (is(args, T.iamAttachments)) {
      if (BROAD_MANAGED.test(String(args.props.policyArn))) report(`Attaches the broad managed policy ${args.props.policyArn}; backup identities get narrow inline policies.`);
      return;
    }
    if (is(args, T.tokens)) {
      for (const p of (args.props.policies ?? []) as Array<{ effect?: string; resources?: string | Record<string, string> }>) {
        if (p.effect === "deny") continue;
        const res = typeof p.resources === "string" ? (JSON.parse(p.resources) as Record<string, string>) : (p.resources ?? {});
        for (const key of Object.keys(res)) {
          if (key.includes("*") || /^com\.cloudflare\.api\.account\.[^.]+$/.test(key) || key === "com.cloudflare.api.account") {
            report(`Cloudflare token ${args.props.name} is scoped to ${key}: that is account-wide. Scope it to the bucket (com.cloudflare.edge.r2.bucket.<account>_<jurisdiction>_<bucket>).`);
          }
        }
      }
      return;
    }
    if (!is(args, T.iamPolicyDocs)) return;
    const stmts = statements(args.props.policy).filter((s) => s.Effect === "Allow");
    const actions = stmts.flatMap((s) => list(s.Action));
    for (const s of stmts) {
      if (s.NotAction || s.NotResource) report(`Statement uses NotAction/NotResource, which grants everything else; list the allowed actions and resources instead.`);
      for (const a of list(s.Action)) if (a === "*" || /^[a-z0-9-]+:\*$/i.test(a)) report(`Grants the wildcard action "${a}"; list the actions the identity needs.`);
      for (const r of list(s.Resource)) if (r === "*") report(`Grants ${list(s.Action).join(", ")} on every resource ("*"); name the bucket, prefix or key.`);
    }
    const writes = actions.some((a) => globMatch(a, "s3:PutObject"));
    if (!writes) return;
    for (const f of WRITER_FORBIDDEN) {
      const grant = actions.find((a) => globMatch(a, f));
      if (grant) report(`An identity that writes backups is also granted ${f} (via "${grant}"); remove it: a leaked writer key must not be able to delete or unlock backups.`);
    }
    for (const s of stmts.filter((x) => list(x.Action).some((a) => globMatch(a, "s3:PutObject")))) {
      for (const r of list(s.Resource)) {
        if (!tierPrefixes.some((p) => r.endsWith(`/${p}*`))) report(`The writer can put objects at ${r}; restrict it to the tier prefixes (${tierPrefixes.map((p) => `<bucket>/${p}*`).join(", ")}).`);
      }
    }
  },
};
