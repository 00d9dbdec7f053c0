/**
 * Least privilege, proved by behaviour: every identity the prod stack declares, using its own
 * access key against the strict S3 endpoint (which evaluates the program's own IAM policies
 * and bucket policy), tries what a careless operator or an attacker holding that key would try,
 * with the AWS SDK exactly as `aws s3api` sends it. The expected answers are AWS's:
 *  - S3 permissions: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
 *  - Object Lock: "A permanent DELETE request from any requester, including the root user, will
 *    result in an Access Denied (403 Forbidden) error" and "you can still create a delete marker"
 *    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshoot-403-errors.html,
 *    https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html)
 *  - missing keys: 403 without s3:ListBucket (API_HeadObject.html)
 */
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { AwsClient } from "aws4fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalWorld } from "../../lib/local/localWorld";
import { outcome, sdkS3, worldForTest } from "../helpers/world";

let world: LocalWorld;
let B: string;
let writer: S3Client;
let verifier: S3Client;
let restorer: S3Client;
let root: S3Client;
const DAY = 86_400_000;

beforeAll(async () => {
  world = await worldForTest();
  B = world.s3BucketName;
  writer = sdkS3(world, world.s3Keys("writer"));
  verifier = sdkS3(world, world.s3Keys("verifier"));
  restorer = sdkS3(world, world.s3Keys("restorer"));
  root = sdkS3(world, world.rootKeys());
});
afterAll(async () => world?.close());

async function written(key: string): Promise<string> {
  const r = await writer.send(new PutObjectCommand({ Bucket: B, Key: key, Body: `body of ${key}` }));
  return r.VersionId as string;
}

describe("the writer (backup Worker, nightly pg_dump)", () => {
  it("puts backups under the tier prefixes, with tags, and nowhere else", async () => {
    expect(await outcome(writer.send(new PutObjectCommand({ Bucket: B, Key: "daily/kv/x/1/manifest.json", Body: "{}", Tagging: "drposture-object=manifest" })))).toBe("ok");
    for (const key of ["_state/latest/kv/x.json", "other/x", "dailyx/y", "Daily/x"]) {
      expect(await outcome(writer.send(new PutObjectCommand({ Bucket: B, Key: key, Body: "x" }))), key).toBe("403 AccessDenied");
    }
  });

  it("cannot read, list or delete anything, nor remove a version", async () => {
    const version = await written("daily/kv/x/2/a.drpenc");
    expect(await outcome(writer.send(new GetObjectCommand({ Bucket: B, Key: "daily/kv/x/2/a.drpenc" })))).toBe("403 AccessDenied");
    expect(await outcome(writer.send(new ListObjectsV2Command({ Bucket: B, Prefix: "daily/" })))).toBe("403 AccessDenied");
    expect(await outcome(writer.send(new DeleteObjectCommand({ Bucket: B, Key: "daily/kv/x/2/a.drpenc" })))).toBe("403 AccessDenied");
    expect(await outcome(writer.send(new DeleteObjectCommand({ Bucket: B, Key: "daily/kv/x/2/a.drpenc", VersionId: version })))).toBe("403 AccessDenied");
    const batch = await writer.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: "daily/kv/x/2/a.drpenc" }, { Key: "daily/kv/x/2/a.drpenc", VersionId: version }] } }));
    expect(batch.Deleted ?? []).toEqual([]);
    expect(batch.Errors?.map((e) => e.Code)).toEqual(["AccessDenied", "AccessDenied"]);
  });

  it("cannot change the bucket's policy, lifecycle, lock, encryption or versioning", async () => {
    const attempts = {
      policy: writer.send(new PutBucketPolicyCommand({ Bucket: B, Policy: JSON.stringify({ Version: "2012-10-17", Statement: [] }) })),
      lifecycle: writer.send(new PutBucketLifecycleConfigurationCommand({ Bucket: B, LifecycleConfiguration: { Rules: [{ ID: "wipe", Status: "Enabled", Filter: { Prefix: "" }, Expiration: { Days: 1 } }] } })),
      lock: writer.send(new PutObjectLockConfigurationCommand({ Bucket: B, ObjectLockConfiguration: { ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "GOVERNANCE", Days: 1 } } } })),
      encryption: writer.send(new PutBucketEncryptionCommand({ Bucket: B, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }] } })),
      versioning: writer.send(new PutBucketVersioningCommand({ Bucket: B, VersioningConfiguration: { Status: "Suspended" } })),
    };
    for (const [what, p] of Object.entries(attempts)) expect(await outcome(p), what).toBe("403 AccessDenied");
  });

  it("may lengthen a backup's lock but not shorten it, and cannot bypass governance", async () => {
    const key = "weekly/kv/x/3/manifest.json";
    await written(key);
    const longer = new Date(Date.now() + 400 * DAY);
    expect(await outcome(writer.send(new PutObjectRetentionCommand({ Bucket: B, Key: key, Retention: { Mode: "COMPLIANCE", RetainUntilDate: longer } })))).toBe("ok");
    expect(await outcome(writer.send(new PutObjectRetentionCommand({ Bucket: B, Key: key, Retention: { Mode: "COMPLIANCE", RetainUntilDate: new Date(Date.now() + 2 * DAY) } })))).toBe("403 AccessDenied");
    expect(await outcome(writer.send(new PutObjectRetentionCommand({ Bucket: B, Key: key, BypassGovernanceRetention: true, Retention: { Mode: "GOVERNANCE", RetainUntilDate: new Date(Date.now() + 2 * DAY) } })))).toBe("403 AccessDenied");
    const r = await root.send(new GetObjectRetentionCommand({ Bucket: B, Key: key }));
    expect(r.Retention?.RetainUntilDate?.getTime()).toBe(longer.getTime());
  });
});

describe("the verifier and the restorer", () => {
  it("read and list the tier prefixes, and nothing else", async () => {
    await written("daily/neon/app/4/dump.drpenc");
    for (const c of [verifier, restorer]) {
      expect(await outcome(c.send(new GetObjectCommand({ Bucket: B, Key: "daily/neon/app/4/dump.drpenc" })))).toBe("ok");
      expect(await outcome(c.send(new ListObjectsV2Command({ Bucket: B, Prefix: "daily/neon/" })))).toBe("ok");
      // A whole-bucket listing is outside their s3:prefix condition.
      expect(await outcome(c.send(new ListObjectsV2Command({ Bucket: B })))).toBe("403 AccessDenied");
      expect(await outcome(c.send(new ListObjectsV2Command({ Bucket: B, Prefix: "_state/" })))).toBe("403 AccessDenied");
    }
  });

  it("cannot write, overwrite, tag or delete", async () => {
    const version = await written("daily/neon/app/5/dump.drpenc");
    for (const c of [verifier, restorer]) {
      expect(await outcome(c.send(new PutObjectCommand({ Bucket: B, Key: "daily/neon/app/5/dump.drpenc", Body: "forged" })))).toBe("403 AccessDenied");
      expect(await outcome(c.send(new DeleteObjectCommand({ Bucket: B, Key: "daily/neon/app/5/dump.drpenc" })))).toBe("403 AccessDenied");
      expect(await outcome(c.send(new DeleteObjectCommand({ Bucket: B, Key: "daily/neon/app/5/dump.drpenc", VersionId: version })))).toBe("403 AccessDenied");
    }
  });

  it("get 403, not 404, for a key that does not exist (no unconditioned s3:ListBucket)", async () => {
    // A HEAD error has no body, so only its status tells.
    expect(await outcome(restorer.send(new HeadObjectCommand({ Bucket: B, Key: "daily/neon/app/none/manifest.json" })))).toMatch(/^403 /);
    expect(await outcome(restorer.send(new GetObjectCommand({ Bucket: B, Key: "daily/neon/app/none/manifest.json" })))).toBe("403 AccessDenied");
    // The bucket owner may list the bucket, so it is told the truth.
    expect(await outcome(root.send(new HeadObjectCommand({ Bucket: B, Key: "daily/neon/app/none/manifest.json" })))).toBe("404 NotFound");
  });
});

describe("nobody, not even the account root", () => {
  it("can remove a locked version; a delete marker only hides it", async () => {
    const key = "daily/d1/db/6/manifest.json";
    const version = await written(key);
    expect(await outcome(root.send(new DeleteObjectCommand({ Bucket: B, Key: key, VersionId: version })))).toBe("403 AccessDenied");
    expect(await outcome(root.send(new DeleteObjectCommand({ Bucket: B, Key: key, BypassGovernanceRetention: true, VersionId: version })))).toBe("403 AccessDenied");
    expect(await outcome(root.send(new DeleteObjectCommand({ Bucket: B, Key: key })))).toBe("ok");
    expect(await outcome(restorer.send(new GetObjectCommand({ Bucket: B, Key: key })))).toBe("403 AccessDenied");
    const versions = await root.send(new ListObjectVersionsCommand({ Bucket: B, Prefix: key }));
    expect(versions.Versions?.map((v) => v.VersionId)).toEqual([version]);
    expect(versions.DeleteMarkers).toHaveLength(1);
    // The locked version itself is intact and readable by its id.
    expect(await outcome(restorer.send(new GetObjectCommand({ Bucket: B, Key: key, VersionId: version })))).toBe("ok");
  });

  it("gets through over plain HTTP: the bucket policy denies aws:SecureTransport=false", async () => {
    expect(await outcome(sdkS3(world, world.rootKeys(), { plain: true }).send(new ListObjectsV2Command({ Bucket: B, Prefix: "daily/" })))).toBe("403 AccessDenied");
    expect(await outcome(sdkS3(world, world.s3Keys("restorer"), { plain: true }).send(new ListObjectsV2Command({ Bucket: B, Prefix: "daily/" })))).toBe("403 AccessDenied");
  });

  it("uploads to the Object Lock bucket without an integrity header (Content-MD5 or x-amz-checksum-*)", async () => {
    // aws4fetch sends exactly what it is given: no checksum header at all.
    const bare = new AwsClient({ ...world.s3Keys("writer"), service: "s3", region: world.s3Region, retries: 0 });
    const res = await bare.fetch(`${world.aws.url}/${B}/daily/kv/x/7/a.drpenc`, { method: "PUT", body: "no checksum" });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/<Code>InvalidRequest<\/Code>.*Content-MD5 OR x-amz-checksum-/s);
  });
});

describe("credentials", () => {
  it("temporary credentials (SSO, assumed role) work only with their session token", async () => {
    await written("daily/neon/app/8/dump.drpenc");
    const session = world.sessionKeys("restorer");
    expect(await outcome(sdkS3(world, session).send(new GetObjectCommand({ Bucket: B, Key: "daily/neon/app/8/dump.drpenc" })))).toBe("ok");
    const { sessionToken: _t, ...withoutToken } = session;
    expect(await outcome(sdkS3(world, withoutToken).send(new GetObjectCommand({ Bucket: B, Key: "daily/neon/app/8/dump.drpenc" })))).toBe("400 InvalidToken");
    expect(await outcome(sdkS3(world, { ...session, sessionToken: "forged" }).send(new GetObjectCommand({ Bucket: B, Key: "daily/neon/app/8/dump.drpenc" })))).toBe("400 InvalidToken");
  });

  it("a wrong secret, an unknown key or the wrong region is refused as AWS refuses it", async () => {
    const keys = world.s3Keys("restorer");
    expect(await outcome(sdkS3(world, { ...keys, secretAccessKey: "not-the-secret" }).send(new ListObjectsV2Command({ Bucket: B, Prefix: "daily/" })))).toBe("403 SignatureDoesNotMatch");
    expect(await outcome(sdkS3(world, { accessKeyId: "AKIAUNKNOWNKEY000000", secretAccessKey: "x" }).send(new ListObjectsV2Command({ Bucket: B, Prefix: "daily/" })))).toBe("403 InvalidAccessKeyId");
    expect(await outcome(sdkS3(world, keys, { region: "us-east-1" }).send(new ListObjectsV2Command({ Bucket: B, Prefix: "daily/" })))).toBe("400 AuthorizationHeaderMalformed");
  });
});
