/** The S3 backup buckets: versioned, encrypted with a rotating customer key, never public. */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { configsOf, list, ofType, statements, T } from "./resources";

const s3Buckets = (rs: readonly PolicyResource[]) => ofType(rs, T.s3Bucket);

export const s3Versioning: StackValidationPolicy = {
  name: "s3-versioning",
  description: "Every S3 backup bucket has versioning enabled: an overwrite keeps the previous version (and Object Lock requires it).",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const buckets = s3Buckets(args.resources);
    for (const b of buckets) {
      const v = configsOf(b, args.resources, T.s3Versioning, buckets)[0];
      const status = v?.props.versioningConfiguration?.status ?? (b.props.versioning?.enabled ? "Enabled" : undefined);
      if (status !== "Enabled") report(`S3 bucket ${b.name} does not have versioning enabled (${status ?? "no BucketVersioning"}); add a BucketVersioning with status Enabled.`, v?.urn ?? b.urn);
    }
  },
};

export const s3KmsEncryption: StackValidationPolicy = {
  name: "s3-kms-encryption",
  description:
    "Every S3 backup bucket encrypts by default with SSE-KMS under a customer-managed KMS key in this stack that has automatic rotation on; not SSE-S3, not an AWS-managed key.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const buckets = s3Buckets(args.resources);
    const keys = ofType(args.resources, T.kmsKey);
    for (const b of buckets) {
      const sse = configsOf(b, args.resources, T.s3Encryption, buckets)[0];
      const rule = (sse?.props.rules ?? [])[0]?.applyServerSideEncryptionByDefault as { sseAlgorithm?: string; kmsMasterKeyId?: string } | undefined;
      if (!rule || !String(rule.sseAlgorithm).startsWith("aws:kms")) {
        report(`S3 bucket ${b.name} is not encrypted with SSE-KMS by default (${rule?.sseAlgorithm ?? "no encryption configuration"}); use sseAlgorithm aws:kms with a customer-managed key.`, sse?.urn ?? b.urn);
        continue;
      }
      const dep = (sse?.propertyDependencies?.rules ?? []).find((d) => keys.includes(d));
      const key = dep ?? keys.find((k) => [k.props.arn, k.props.keyId, k.props.id].includes(rule.kmsMasterKeyId));
      if (!key) {
        report(`S3 bucket ${b.name} uses KMS key ${JSON.stringify(rule.kmsMasterKeyId ?? "(AWS managed)")}, not a customer-managed key declared in this stack.`, sse?.urn ?? b.urn);
      } else if (key.props.enableKeyRotation !== true) {
        report(`KMS key ${key.name} encrypting S3 bucket ${b.name} does not rotate; set enableKeyRotation: true.`, key.urn);
      }
    }
  },
};

const PUBLIC_ACLS = ["public-read", "public-read-write", "authenticated-read"];

function allowsEveryone(principal: unknown): boolean {
  if (principal === "*") return true;
  const aws = (principal as { AWS?: unknown } | undefined)?.AWS;
  return aws === "*" || (Array.isArray(aws) && aws.includes("*"));
}

export const s3NoPublicAccess: StackValidationPolicy = {
  name: "s3-no-public-access",
  description:
    "Every S3 backup bucket has all four public-access-block flags on, no public ACL, no policy statement allowing everyone, and a policy that denies any request not made over TLS.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const buckets = s3Buckets(args.resources);
    for (const b of buckets) {
      const pab = configsOf(b, args.resources, T.s3PublicAccessBlock, buckets)[0]?.props ?? {};
      const off = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"].filter((f) => pab[f] !== true);
      if (off.length) report(`S3 bucket ${b.name}: public access block flags not set: ${off.join(", ")}. Add a BucketPublicAccessBlock with all four true.`, configsOf(b, args.resources, T.s3PublicAccessBlock, buckets)[0]?.urn ?? b.urn);
      const acls = [b.props.acl, ...configsOf(b, args.resources, T.s3Acl, buckets).map((a) => a.props.acl)].filter(Boolean);
      for (const acl of acls) if (PUBLIC_ACLS.includes(String(acl))) report(`S3 bucket ${b.name} has the public ACL "${acl}".`, b.urn);
      const policies = configsOf(b, args.resources, T.s3Policy, buckets);
      const stmts = policies.flatMap((p) => statements(p.props.policy).map((s) => ({ s, urn: p.urn })));
      for (const { s, urn } of stmts) {
        if (s.Effect === "Allow" && allowsEveryone(s.Principal) && !s.Condition) report(`S3 bucket ${b.name}: policy allows everyone (${list(s.Action).join(", ")}).`, urn);
      }
      const tlsOnly = stmts.some(({ s }) => s.Effect === "Deny" && allowsEveryone(s.Principal) && String(s.Condition?.Bool?.["aws:SecureTransport"]) === "false");
      if (!tlsOnly) report(`S3 bucket ${b.name} does not deny requests without TLS; add a Deny statement for all principals with Condition Bool aws:SecureTransport = false.`, policies[0]?.urn ?? b.urn);
    }
  },
};
