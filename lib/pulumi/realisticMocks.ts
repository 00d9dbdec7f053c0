/**
 * Pulumi runtime mocks that answer like the real providers would at `pulumi up`: bucket ids
 * are bucket names, ARNs have the right shape, tokens have secret values, random resources
 * return random-looking but deterministic values. Used by the tests and by `drposture check`,
 * which cannot reach AWS or Cloudflare. Every resource registered is recorded.
 */
import type * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";

export const MOCK_AWS_ACCOUNT = "123456789012";

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  readonly inputs: Record<string, unknown>;
  readonly id: string | undefined;
  readonly state: Record<string, unknown>;
}

function hex(seed: string, length: number): string {
  let out = "";
  for (let i = 0; out.length < length; i++) out += createHash("sha256").update(`${seed}#${i}`).digest("hex");
  return out.slice(0, length);
}

function uuid(seed: string): string {
  const h = hex(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

type State = Record<string, unknown>;

/** id and extra state per resource type; inputs are echoed back as state as providers do.
 * `generation` stands for a fresh deployment (a stack rebuilt after destroy or lost state):
 * random resources get new values, everything else the same names. */
function answer(type: string, name: string, inputs: State, generation: number): { id: string; state: State } {
  const seed = type.startsWith("random:") && generation > 0 ? `${type}::${name}#${generation}` : `${type}::${name}`;
  const region = (inputs.region as string | undefined) ?? "us-east-1";
  const arn = (service: string, resource: string, withRegion = true) =>
    `arn:aws:${service}:${withRegion ? region : ""}:${MOCK_AWS_ACCOUNT}:${resource}`;
  switch (type) {
    case "random:index/randomId:RandomId": {
      const bytes = Number(inputs.byteLength ?? 8);
      const h = hex(seed, bytes * 2);
      return { id: Buffer.from(h, "hex").toString("base64url"), state: { hex: h, b64Std: Buffer.from(h, "hex").toString("base64"), dec: BigInt(`0x${h}`).toString() } };
    }
    case "random:index/randomBytes:RandomBytes": {
      const h = hex(seed, Number(inputs.length ?? 32) * 2);
      return { id: "none", state: { hex: h, base64: Buffer.from(h, "hex").toString("base64") } };
    }
    case "random:index/randomPassword:RandomPassword":
    case "random:index/randomString:RandomString":
      return { id: "none", state: { result: hex(seed, Number(inputs.length ?? 32)) } };
    case "aws:s3/bucket:Bucket": {
      const bucket = (inputs.bucket as string | undefined) ?? `${name}-${hex(seed, 7)}`;
      return {
        id: bucket,
        state: { bucket, arn: `arn:aws:s3:::${bucket}`, region, bucketDomainName: `${bucket}.s3.amazonaws.com`, bucketRegionalDomainName: `${bucket}.s3.${region}.amazonaws.com`, hostedZoneId: "Z21DNDUVLTQW6Q" },
      };
    }
    case "aws:kms/key:Key": {
      const keyId = uuid(seed);
      return { id: keyId, state: { keyId, arn: arn("kms", `key/${keyId}`) } };
    }
    case "aws:kms/alias:Alias":
      return { id: String(inputs.name), state: { arn: arn("kms", String(inputs.name)), targetKeyArn: arn("kms", `key/${String(inputs.targetKeyId)}`) } };
    case "aws:iam/user:User": {
      const userName = String(inputs.name ?? name);
      return { id: userName, state: { arn: arn("iam", `user${String(inputs.path ?? "/")}${userName}`, false), uniqueId: `AIDA${hex(seed, 17).toUpperCase()}` } };
    }
    case "aws:iam/accessKey:AccessKey":
      return { id: `AKIA${hex(seed, 16).toUpperCase()}`, state: { secret: Buffer.from(hex(`${seed}secret`, 40), "hex").toString("base64").slice(0, 40), status: "Active" } };
    case "aws:iam/userPolicy:UserPolicy":
      return { id: `${String(inputs.user)}:${name}`, state: {} };
    case "aws:sns/topic:Topic":
      return { id: arn("sns", String(inputs.name ?? name)), state: { arn: arn("sns", String(inputs.name ?? name)) } };
    case "aws:sns/topicSubscription:TopicSubscription":
      return { id: `${String(inputs.topic)}:${uuid(seed)}`, state: { arn: `${String(inputs.topic)}:${uuid(seed)}` } };
    case "aws:cloudwatch/metricAlarm:MetricAlarm":
      return { id: String(inputs.name ?? name), state: { arn: arn("cloudwatch", `alarm:${String(inputs.name ?? name)}`) } };
    case "aws:secretsmanager/secret:Secret": {
      const secretArn = arn("secretsmanager", `secret:${String(inputs.name ?? name)}-${hex(seed, 6)}`);
      return { id: secretArn, state: { arn: secretArn } };
    }
    case "aws:secretsmanager/secretVersion:SecretVersion": {
      const versionId = uuid(seed);
      return { id: `${String(inputs.secretId)}|${versionId}`, state: { versionId, arn: String(inputs.secretId) } };
    }
    case "cloudflare:index/r2Bucket:R2Bucket":
      return { id: String(inputs.name), state: { creationDate: "2026-01-01T00:00:00Z", location: inputs.location ?? "ENAM" } };
    // D1 databases are identified by a UUID, KV namespaces by 32 hex characters (Cloudflare API).
    case "cloudflare:index/d1Database:D1Database": {
      const id = uuid(seed);
      return { id, state: { uuid: id, createdAt: "2026-01-01T00:00:00Z", numTables: 0, fileSize: 0, version: "production" } };
    }
    case "cloudflare:index/workersKvNamespace:WorkersKvNamespace":
      return { id: hex(seed, 32), state: { supportsUrlEncoding: true } };
    case "cloudflare:index/accountToken:AccountToken":
    case "cloudflare:index/apiToken:ApiToken":
      return { id: hex(seed, 32), state: { value: hex(`${seed}value`, 40), status: "active" } };
    case "cloudflare:index/workersScript:WorkersScript":
      return { id: String(inputs.scriptName), state: { etag: hex(seed, 64), createdOn: "2026-01-01T00:00:00Z" } };
    case "cloudflare:index/queue:Queue":
      return { id: hex(seed, 32), state: { queueId: hex(seed, 32), createdOn: "2026-01-01T00:00:00Z" } };
    case "cloudflare:index/queueConsumer:QueueConsumer":
      return { id: hex(seed, 32), state: { consumerId: hex(seed, 32) } };
    case "cloudflare:index/workersCronTrigger:WorkersCronTrigger":
      return { id: String(inputs.scriptName), state: {} };
    case "command:local:Command":
      // The account's workers.dev subdomain, as components/cloudflare/workersDevSubdomain.ts prints it.
      if (String(inputs.create ?? "").includes("workersDevSubdomain")) return { id: `${name}${hex(seed, 8)}`, state: { stdout: "drposture-mock", stderr: "" } };
      return { id: `${name}${hex(seed, 8)}`, state: { stdout: "", stderr: "" } };
    default:
      return { id: `${name}-${hex(seed, 8)}`, state: {} };
  }
}

/** Known Cloudflare permission group ids, as the account API lists them (the local world maps
 * a declared token's group ids back to names with this table). */
export const PERMISSION_GROUPS: Readonly<Record<string, string>> = {
  "Workers R2 Storage Bucket Item Write": "2efd5506f9c8494dacb1fa10a3e7d5b6",
  "Workers R2 Storage Bucket Item Read": "6a018a9f2fc74eb6b293b0c548f38b39",
};

export class RealisticMocks implements pulumi.runtime.Mocks {
  readonly resources: RecordedResource[] = [];

  constructor(private readonly generation = 0) {}

  newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: State } {
    if (!args.custom) {
      this.resources.push({ type: args.type, name: args.name, custom: false, inputs: args.inputs, id: undefined, state: {} });
      return { id: undefined, state: {} };
    }
    const { id, state } = answer(args.type, args.name, args.inputs, this.generation);
    const full = { ...args.inputs, ...state };
    this.resources.push({ type: args.type, name: args.name, custom: true, inputs: args.inputs, id, state: full });
    return { id, state: full };
  }

  call(args: pulumi.runtime.MockCallArgs): State {
    switch (args.token) {
      case "cloudflare:index/getAccountApiTokenPermissionGroupsList:getAccountApiTokenPermissionGroupsList": {
        const name = String(args.inputs.name ?? "");
        const id = PERMISSION_GROUPS[name];
        return { ...args.inputs, results: id ? [{ id, name, scopes: ["com.cloudflare.edge.r2.bucket"] }] : [] };
      }
      case "aws:index/getCallerIdentity:getCallerIdentity":
        return { accountId: MOCK_AWS_ACCOUNT, arn: `arn:aws:iam::${MOCK_AWS_ACCOUNT}:user/deployer`, userId: "AIDAEXAMPLE", id: MOCK_AWS_ACCOUNT };
      case "aws:index/getRegion:getRegion":
        return { name: "us-east-1", region: "us-east-1", id: "us-east-1" };
      default:
        return args.inputs;
    }
  }
}
