/**
 * LOCAL WORLD. Who may do what to an S3 bucket of the AWS flavour: every call is authorized by
 * the IAM evaluator over the caller's identity policies and the bucket policy, with the request
 * context S3 supplies (aws:SecureTransport, s3:prefix for listings, s3:object-lock-* for locked
 * uploads), and, for SSE-KMS, the KMS call S3 makes on the caller's behalf over the key policy.
 * Sources: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html
 */
import { accessDenied } from "./s3Errors";
import { authorize, type AwsPrincipal, type PolicyDocument } from "./iamAuthorizer";
import type { S3Call } from "./s3Wire";

export interface AwsBucketConfig {
  readonly name: string;
  readonly region: string;
  readonly accountId: string;
  readonly versioning: boolean;
  /** Present when Object Lock is enabled on the bucket. */
  readonly objectLock?: { readonly defaultRetention?: { readonly mode: "COMPLIANCE" | "GOVERNANCE"; readonly days: number } };
  readonly bucketPolicy?: PolicyDocument;
  /** Default encryption with a KMS key, and that key's policy (absent: the default key policy). */
  readonly kms?: { readonly keyArn: string; readonly keyPolicy?: PolicyDocument };
}

/** The key policy KMS gives a key created without one: the account decides through IAM. */
export function defaultKeyPolicy(accountId: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [{ Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${accountId}:root` }, Action: "kms:*", Resource: "*" }],
  };
}

export class AwsAccess {
  constructor(
    readonly cfg: AwsBucketConfig,
    private readonly principals: ReadonlyMap<string, AwsPrincipal>,
  ) {}

  get bucketArn(): string {
    return `arn:aws:s3:::${this.cfg.name}`;
  }

  objectArn(key: string): string {
    return `${this.bucketArn}/${key}`;
  }

  private principal(call: S3Call): AwsPrincipal {
    const p = this.principals.get(call.principal);
    if (!p) throw accessDenied(`unknown principal ${call.principal}`);
    return p;
  }

  async allowed(call: S3Call, action: string, resource: string, context: Record<string, string | string[]> = {}): Promise<boolean> {
    const decision = await authorize({
      principal: this.principal(call),
      action,
      resource,
      resourceAccount: this.cfg.accountId,
      context: { "aws:SecureTransport": String(call.secure), "aws:CurrentTime": call.now.toISOString(), ...context },
      ...(this.cfg.bucketPolicy ? { resourcePolicy: this.cfg.bucketPolicy } : {}),
    });
    return decision === "Allowed";
  }

  /** Throws S3's AccessDenied, naming the action the way AWS's messages do. */
  async require(call: S3Call, action: string, resource: string, context: Record<string, string | string[]> = {}): Promise<void> {
    if (!(await this.allowed(call, action, resource, context))) {
      throw accessDenied(`User: ${call.principal} is not authorized to perform: ${action} on resource: "${resource}"`);
    }
  }

  /** The KMS call S3 makes for the caller under SSE-KMS (kms:ViaService is S3 in the bucket's region). */
  async requireKms(call: S3Call, actions: readonly string[]): Promise<void> {
    const kms = this.cfg.kms;
    if (!kms) return;
    for (const action of actions) {
      const decision = await authorize({
        principal: this.principal(call),
        action,
        resource: kms.keyArn,
        resourceAccount: this.cfg.accountId,
        context: { "kms:ViaService": `s3.${this.cfg.region}.amazonaws.com`, "kms:CallerAccount": this.principal(call).accountId },
        resourcePolicy: kms.keyPolicy ?? defaultKeyPolicy(this.cfg.accountId),
      });
      if (decision !== "Allowed") throw accessDenied(`User: ${call.principal} is not authorized to perform: ${action} on the bucket's KMS key ${kms.keyArn}`);
    }
  }
}
