/**
 * LOCAL WORLD. What the Pulumi program declares, read from its own registrations (the program
 * run under the realistic mocks, as `pulumi up` would run it): buckets with their versioning,
 * Object Lock, encryption and bucket policy; IAM users with their inline policies and access
 * keys; KMS keys with their policies; R2 buckets with their lock rules; Cloudflare account tokens
 * with their permission groups and the S3 credentials R2 derives from them. The strict store
 * enforces exactly this, so a policy that is too tight or too loose fails a test here.
 * Nothing is hand-copied: change the program and the local world changes with it.
 */
import { createHash } from "node:crypto";
import type { Registration } from "../pulumi/registrations";
import { MOCK_AWS_ACCOUNT, PERMISSION_GROUPS } from "../pulumi/realisticMocks";
import type { AwsBucketConfig } from "./objectStore/awsAccess";
import type { PolicyDocument } from "./objectStore/iamAuthorizer";

export interface DeclaredIamUser {
  readonly name: string;
  readonly arn: string;
  readonly policies: Array<{ name: string; policy: PolicyDocument }>;
  readonly accessKeys: Array<{ accessKeyId: string; secretAccessKey: string }>;
}

export interface R2LockRule {
  readonly id: string;
  readonly enabled: boolean;
  readonly prefix: string;
  readonly condition: { readonly type: "Age" | "Date" | "Indefinite"; readonly maxAgeSeconds?: number; readonly date?: string };
}

export interface DeclaredR2Bucket {
  readonly name: string;
  readonly accountId: string;
  readonly jurisdiction: string;
  readonly lockRules: R2LockRule[];
}

export interface DeclaredR2Token {
  readonly name: string;
  /** R2's S3 credentials: the token id, and the SHA-256 (hex) of the token value. */
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly policies: Array<{ effect: string; permissionGroups: string[]; resources: Record<string, string> }>;
}

export interface DeclaredWorld {
  readonly stack: string;
  readonly awsAccountId: string;
  readonly s3Buckets: AwsBucketConfig[];
  readonly iamUsers: DeclaredIamUser[];
  readonly kmsKeys: Array<{ arn: string; policy?: PolicyDocument }>;
  readonly snsTopics: Array<{ name: string; arn: string; kmsMasterKeyId?: string; policy?: PolicyDocument }>;
  readonly alarms: Array<{ name: string; alarmActions: string[] }>;
  readonly secrets: Array<{ name: string; arn: string; region: string; policy?: PolicyDocument; secretString?: string }>;
  readonly r2Buckets: DeclaredR2Bucket[];
  readonly r2Tokens: DeclaredR2Token[];
}

type State = Record<string, unknown>;

/** Pulumi's marker of a secret value in serialized properties (its wire format). */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const unsecret = (v: unknown): unknown => (v && typeof v === "object" && SECRET_SIG_KEY in (v as object) ? (v as { value: unknown }).value : v);
const json = <T>(v: unknown): T | undefined => {
  const u = unsecret(v);
  return typeof u === "string" ? (JSON.parse(u) as T) : (u as T | undefined);
};

export function extractDeclaredWorld(stack: string, registrations: readonly Registration[]): DeclaredWorld {
  const of = (type: string) => registrations.filter((r) => r.custom && r.type === type);
  const byBucket = (type: string, bucket: string) => of(type).find((r) => r.state.bucket === bucket)?.state;

  const kmsKeys = of("aws:kms/key:Key").map((r) => ({ arn: String(r.state.arn), ...(r.state.policy ? { policy: json<PolicyDocument>(r.state.policy) as PolicyDocument } : {}) }));
  const s3Buckets = of("aws:s3/bucket:Bucket").map((r): AwsBucketConfig => {
    const name = String(r.state.bucket);
    const versioning = (byBucket("aws:s3/bucketVersioning:BucketVersioning", name)?.versioningConfiguration as State | undefined)?.status === "Enabled";
    const lock = byBucket("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", name);
    const retention = (lock?.rule as State | undefined)?.defaultRetention as State | undefined;
    const policy = byBucket("aws:s3/bucketPolicy:BucketPolicy", name)?.policy;
    const sse = ((byBucket("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", name)?.rules as State[] | undefined)?.[0]?.applyServerSideEncryptionByDefault ?? undefined) as State | undefined;
    const keyArn = sse?.sseAlgorithm === "aws:kms" ? String(sse.kmsMasterKeyId) : undefined;
    const days = retention ? Number(retention.days ?? 0) + Number(retention.years ?? 0) * 365 : 0;
    return {
      name,
      region: String(r.state.region ?? "us-east-1"),
      accountId: MOCK_AWS_ACCOUNT,
      versioning,
      ...(r.state.objectLockEnabled || lock ? { objectLock: retention ? { defaultRetention: { mode: retention.mode as "COMPLIANCE" | "GOVERNANCE", days } } : {} } : {}),
      ...(policy ? { bucketPolicy: json<PolicyDocument>(policy) as PolicyDocument } : {}),
      ...(keyArn ? { kms: { keyArn, ...(kmsKeys.find((k) => k.arn === keyArn)?.policy ? { keyPolicy: kmsKeys.find((k) => k.arn === keyArn)?.policy as PolicyDocument } : {}) } } : {}),
    };
  });

  const iamUsers = of("aws:iam/user:User").map((r): DeclaredIamUser => {
    const name = String(r.state.name);
    return {
      name,
      arn: String(r.state.arn),
      policies: of("aws:iam/userPolicy:UserPolicy").filter((p) => p.state.user === name).map((p) => ({ name: p.name, policy: json<PolicyDocument>(p.state.policy) as PolicyDocument })),
      accessKeys: of("aws:iam/accessKey:AccessKey").filter((k) => k.state.user === name).map((k) => ({ accessKeyId: k.id, secretAccessKey: String(k.state.secret) })),
    };
  });

  const r2Buckets = of("cloudflare:index/r2Bucket:R2Bucket").map((r): DeclaredR2Bucket => {
    const name = String(r.state.name);
    const lock = of("cloudflare:index/r2BucketLock:R2BucketLock").find((l) => l.state.bucketName === name)?.state;
    return {
      name,
      accountId: String(r.state.accountId),
      jurisdiction: String(r.state.jurisdiction ?? "default"),
      lockRules: ((lock?.rules as State[] | undefined) ?? []).map((x) => ({
        id: String(x.id),
        enabled: x.enabled !== false,
        prefix: String(x.prefix ?? ""),
        condition: x.condition as R2LockRule["condition"],
      })),
    };
  });

  const r2Tokens = of("cloudflare:index/accountToken:AccountToken").map((r): DeclaredR2Token => ({
    name: String(r.state.name),
    accessKeyId: r.id,
    secretAccessKey: createHash("sha256").update(String(r.state.value)).digest("hex"),
    policies: ((r.state.policies as State[] | undefined) ?? []).map((p) => ({
      effect: String(p.effect),
      permissionGroups: ((p.permissionGroups as State[] | undefined) ?? []).map((g) => Object.entries(PERMISSION_GROUPS).find(([, id]) => id === g.id)?.[0] ?? `unknown group ${String(g.id)}`),
      resources: json<Record<string, string>>(p.resources) ?? {},
    })),
  }));

  return {
    stack,
    awsAccountId: MOCK_AWS_ACCOUNT,
    s3Buckets,
    iamUsers,
    kmsKeys,
    snsTopics: of("aws:sns/topic:Topic").map((r) => ({ name: String(r.state.name), arn: String(r.state.arn), ...(r.state.kmsMasterKeyId ? { kmsMasterKeyId: String(r.state.kmsMasterKeyId) } : {}), ...(r.state.policy ? { policy: json<PolicyDocument>(r.state.policy) as PolicyDocument } : {}) })),
    alarms: of("aws:cloudwatch/metricAlarm:MetricAlarm").map((r) => ({ name: String(r.state.name), alarmActions: (r.state.alarmActions as string[] | undefined) ?? [] })),
    secrets: of("aws:secretsmanager/secret:Secret").map((r) => {
      const policy = of("aws:secretsmanager/secretPolicy:SecretPolicy").find((p) => p.state.secretArn === r.state.arn)?.state.policy;
      const value = of("aws:secretsmanager/secretVersion:SecretVersion").find((v) => v.state.secretId === r.state.arn || v.state.secretId === r.id)?.state.secretString;
      return {
        name: String(r.state.name),
        arn: String(r.state.arn),
        region: String(r.state.region ?? "us-east-1"),
        ...(policy ? { policy: json<PolicyDocument>(policy) as PolicyDocument } : {}),
        ...(value !== undefined ? { secretString: String(unsecret(value)) } : {}),
      };
    }),
    r2Buckets,
    r2Tokens,
  };
}

/** The R2 bucket backups go to: the one with bucket-lock rules. A stack also declares an unlocked
 * scratch bucket for restore tests (RestoreTesting), and registration order does not say which is
 * which (the vault's name waits on a random suffix, the scratch name does not). */
export function backupR2Bucket(world: Pick<DeclaredWorld, "r2Buckets">): DeclaredR2Bucket | undefined {
  return world.r2Buckets.find((b) => b.lockRules.length > 0) ?? world.r2Buckets[0];
}

/** The IAM user whose name ends with `-<role>` (writer, verifier, restorer, alert-publisher). */
export function iamUser(world: DeclaredWorld, role: string): DeclaredIamUser {
  const u = world.iamUsers.find((x) => x.name.endsWith(`-${role}`));
  if (!u) throw new Error(`the program declares no IAM user for the ${role} role (users: ${world.iamUsers.map((x) => x.name).join(", ")})`);
  return u;
}

/** The account token whose name ends with `-r2-<role>` (writer, reader). */
export function r2Token(world: DeclaredWorld, role: string): DeclaredR2Token {
  const t = world.r2Tokens.find((x) => x.name.endsWith(`-r2-${role}`));
  if (!t) throw new Error(`the program declares no R2 token for the ${role} role (tokens: ${world.r2Tokens.map((x) => x.name).join(", ")})`);
  return t;
}
