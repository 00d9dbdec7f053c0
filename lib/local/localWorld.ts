/**
 * LOCAL WORLD. The strict stand-in for the two backup destinations of a stack, built from what
 * the Pulumi program declares for it (declaredWorld.ts):
 *   - an AWS S3 endpoint holding the vault bucket (versioning, Object Lock, SSE-KMS, bucket
 *     policy), where each declared IAM user's access key authenticates and its policies decide;
 *   - an R2 S3 endpoint over the R2 backup bucket (its lock rules), where each declared
 *     account token's derived S3 credentials authenticate and its permission groups decide.
 * Both speak HTTPS with a throwaway CA (tls.ts). Nothing here is AWS or Cloudflare: it is as
 * strict as they are where dr-posture depends on them, and stricter where unsure.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import type { Miniflare } from "miniflare";
import { onCleanup, throwIfInterrupted } from "../process/cleanup";
import { S3Storage } from "../storage/s3Storage";
import { backupR2Bucket, iamUser, r2Token, type DeclaredWorld } from "./declaredWorld";
import { loadDeclaredWorld } from "./declaredWorldRun";
import type { AccessKeys } from "./localWorker";
import { AwsS3Bucket } from "./objectStore/awsS3";
import type { AwsPrincipal } from "./objectStore/iamAuthorizer";
import { rootPrincipal } from "./objectStore/iamAuthorizer";
import { grantFor } from "./objectStore/r2Capabilities";
import { R2S3Bucket, type R2BucketLike } from "./objectStore/r2S3";
import { startObjectStore, type ObjectStore } from "./objectStore/server";
import type { StoreCredential } from "./objectStore/sigv4";
import { ownedMiniflare } from "./ownedMiniflare";
import { SecretsManagerStandin } from "./secretsManagerStandin";
import { createLocalTls, type LocalTls } from "./tls";

export interface LocalWorldOptions {
  /** Stack whose declared world to stand up (its Pulumi.<stack>.yaml). */
  readonly stack: string;
  /** Where bucket data and the CA live. */
  readonly dir: string;
  readonly projectDir?: string;
  /** The R2 bucket behind the R2 endpoint, by declared name: the backup Worker's own BACKUP_R2
   * bucket in a drill. Default: a Miniflare R2 bucket of the world's own. */
  readonly r2Bucket?: (name: string) => Promise<R2BucketLike>;
  readonly now?: () => Date;
}

export type S3Role = "writer" | "verifier" | "restorer";
export type R2Role = "writer" | "reader";

export interface LocalWorld {
  readonly declared: DeclaredWorld;
  readonly tls: LocalTls;
  readonly aws: ObjectStore;
  readonly r2: ObjectStore;
  /** The key escrow (a Secrets Manager stand-in) with the secrets the program declares. */
  readonly secrets: SecretsManagerStandin;
  /** The declared S3 vault bucket (its data and rules, for inspection). */
  readonly vault: AwsS3Bucket;
  readonly s3BucketName: string;
  readonly s3Region: string;
  readonly r2BucketName: string;
  readonly cloudflareAccountId: string;
  s3Keys(role: S3Role): AccessKeys;
  r2Keys(role: R2Role): AccessKeys;
  /** Temporary credentials for a declared IAM user, as `aws sts get-session-token` issues them. */
  sessionKeys(role: S3Role): AccessKeys & { sessionToken: string };
  /** Root credentials of the AWS account (bucket owner): not limited by IAM policies. */
  rootKeys(): AccessKeys;
  /** --store specs the CLI takes for the two endpoints. */
  s3Spec(): string;
  r2Spec(): string;
  s3Storage(keys: AccessKeys & { sessionToken?: string }): S3Storage;
  r2Storage(keys: AccessKeys): S3Storage;
  /** Environment for a `drposture` child process acting as these identities. */
  cliEnv(o: { s3?: AccessKeys & { sessionToken?: string }; r2?: AccessKeys }): Record<string, string>;
  close(): Promise<void>;
}

export async function startLocalWorld(o: LocalWorldOptions): Promise<LocalWorld> {
  throwIfInterrupted();
  const declared = await loadDeclaredWorld(o.stack, o.projectDir);
  const [vaultCfg] = declared.s3Buckets;
  const r2Cfg = backupR2Bucket(declared);
  if (!vaultCfg || !r2Cfg) throw new Error(`stack ${o.stack} declares no S3 or no R2 backup bucket`);
  mkdirSync(o.dir, { recursive: true });
  const tls = await createLocalTls(o.dir);

  // --- AWS ---
  const principals = new Map<string, AwsPrincipal>();
  const awsCredentials: StoreCredential[] = [];
  for (const u of declared.iamUsers) {
    principals.set(u.arn, { arn: u.arn, accountId: declared.awsAccountId, identityPolicies: u.policies });
    for (const k of u.accessKeys) awsCredentials.push({ accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey, principal: u.arn });
  }
  const root = rootPrincipal(declared.awsAccountId);
  principals.set(root.arn, root);
  const rootKeys = { accessKeyId: `AKIAROOT${randomBytes(6).toString("hex").toUpperCase()}`, secretAccessKey: randomBytes(20).toString("base64") };
  awsCredentials.push({ ...rootKeys, principal: root.arn });
  const vault = new AwsS3Bucket(vaultCfg, path.join(o.dir, "s3"), principals);
  const aws = await startObjectStore({ flavour: "aws", tls, credentials: awsCredentials, buckets: new Map([[vaultCfg.name, vault]]), regions: [vaultCfg.region], ...(o.now ? { now: o.now } : {}) });
  const credentialMap = new Map(awsCredentials.map((c) => [c.accessKeyId, c]));
  const secrets = new SecretsManagerStandin(vaultCfg.region, declared.awsAccountId, credentialMap, principals);
  for (const s of declared.secrets.filter((x) => x.region === vaultCfg.region)) secrets.create(s);
  await secrets.start(tls);

  // --- R2 ---
  let ownR2: Miniflare | undefined;
  const r2Bucket =
    o.r2Bucket ??
    (async (name: string) => {
      ownR2 ??= ownedMiniflare(
        {
          modules: true,
          script: "export default { fetch() { return new Response(null, { status: 404 }); } };",
          compatibilityDate: "2026-04-01",
          r2Buckets: { BUCKET: name },
          r2Persist: path.join(o.dir, "r2"),
        },
        "local R2 bucket",
      );
      return (await ownR2.getR2Bucket("BUCKET")) as unknown as R2BucketLike;
    });
  const tokens = new Map(declared.r2Tokens.map((t) => [t.accessKeyId, t]));
  const r2Facade = new R2S3Bucket(r2Cfg, () => r2Bucket(r2Cfg.name), (principal) => grantFor(tokens.get(principal), r2Cfg));
  const r2 = await startObjectStore({
    flavour: "r2",
    tls,
    credentials: declared.r2Tokens.map((t) => ({ accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey, principal: t.accessKeyId })),
    buckets: new Map([[r2Cfg.name, r2Facade]]),
    // R2's region is "auto"; an empty region and us-east-1 alias to it.
    regions: ["auto", "us-east-1", ""],
    ...(o.now ? { now: o.now } : {}),
  });

  const s3Keys = (role: S3Role): AccessKeys => {
    const k = iamUser(declared, role).accessKeys[0];
    if (!k) throw new Error(`the ${role} identity has no access key in the program`);
    return k;
  };
  const sessions: StoreCredential[] = [];
  const close = async () => {
    await aws.close();
    await r2.close();
    await secrets.close();
    await ownR2?.dispose();
  };
  const unregister = onCleanup("stop the local S3 and R2 endpoints", close);
  return {
    declared,
    tls,
    aws,
    r2,
    secrets,
    vault,
    s3BucketName: vaultCfg.name,
    s3Region: vaultCfg.region,
    r2BucketName: r2Cfg.name,
    cloudflareAccountId: r2Cfg.accountId,
    s3Keys,
    r2Keys: (role) => r2Token(declared, role),
    sessionKeys(role) {
      const user = iamUser(declared, role);
      const cred = { accessKeyId: `ASIA${randomBytes(8).toString("hex").toUpperCase()}`, secretAccessKey: randomBytes(30).toString("base64"), sessionToken: randomBytes(48).toString("base64"), principal: user.arn };
      sessions.push(cred);
      aws.addCredential(cred);
      credentialMap.set(cred.accessKeyId, cred);
      return cred;
    },
    rootKeys: () => rootKeys,
    s3Spec: () => `s3://${vaultCfg.name}?region=${vaultCfg.region}&endpoint=${encodeURIComponent(aws.url)}`,
    r2Spec: () => `r2://${r2Cfg.accountId}/${r2Cfg.name}?endpoint=${encodeURIComponent(r2.url)}`,
    s3Storage: (keys) => new S3Storage({ endpoint: aws.url, bucket: vaultCfg.name, region: vaultCfg.region, addressing: "path", ...keys }),
    r2Storage: (keys) => new S3Storage({ endpoint: r2.url, bucket: r2Cfg.name, region: "auto", addressing: "path", flavour: "r2", ...keys }),
    cliEnv: ({ s3, r2: r2k }) => ({
      NODE_EXTRA_CA_CERTS: tls.caFile,
      // The AWS SDKs' variable for a service endpoint: the escrow stand-in.
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
      ...(s3 ? { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, ...(s3.sessionToken ? { AWS_SESSION_TOKEN: s3.sessionToken } : {}) } : {}),
      ...(r2k ? { R2_ACCESS_KEY_ID: r2k.accessKeyId, R2_SECRET_ACCESS_KEY: r2k.secretAccessKey } : {}),
    }),
    close: async () => {
      unregister();
      await close();
    },
  };
}
