/**
 * The strict S3 stand-in itself: it must refuse what AWS refuses and allow what AWS allows, or
 * every test built on it lies. Here it runs with policies written for the test (not the
 * program's), to show that its answers follow the policies: loosen one and the attack the
 * least-privilege tests expect to fail goes through; tighten one and a legitimate call fails.
 * Each expectation cites the AWS behaviour it reproduces.
 */
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { AwsClient } from "aws4fetch";
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { Agent } from "node:https";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AwsS3Bucket } from "../../lib/local/objectStore/awsS3";
import type { AwsPrincipal, PolicyDocument } from "../../lib/local/objectStore/iamAuthorizer";
import { startObjectStore, type ObjectStore } from "../../lib/local/objectStore/server";
import { createLocalTls, trustInThisProcess, type LocalTls } from "../../lib/local/tls";
import { S3Storage } from "../../lib/storage/s3Storage";
import { outcome } from "../helpers/world";

const ACCOUNT = "111122223333";
const BUCKET = "strict-test";
const REGION = "eu-west-1";
const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/00000000-0000-4000-8000-000000000000`;
const DAY = 86_400_000;

const writerPolicy = (extra: string[] = [], kms = true): PolicyDocument => ({
  Version: "2012-10-17",
  Statement: [
    { Effect: "Allow", Action: ["s3:PutObject", ...extra], Resource: `arn:aws:s3:::${BUCKET}/daily/*` },
    ...(kms ? [{ Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: KEY_ARN, Condition: { StringEquals: { "kms:ViaService": `s3.${REGION}.amazonaws.com` } } }] : []),
  ],
});
const adminPolicy: PolicyDocument = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["s3:*", "kms:*"], Resource: "*" }] };

interface Harness {
  store: ObjectStore;
  bucket: AwsS3Bucket;
  tls: LocalTls;
  clock: { now: Date };
  client(who: "writer" | "admin"): S3Client;
  raw(who: "writer" | "admin"): AwsClient;
}

let open: Harness | undefined;
afterEach(async () => {
  await open?.store.close();
  open = undefined;
});

async function harness(o: { writer: PolicyDocument; lockMode?: "COMPLIANCE" | "GOVERNANCE" }): Promise<Harness> {
  const dir = mkdtempSync(path.join(tmpdir(), "drposture-store-"));
  const tls = await createLocalTls(dir);
  await trustInThisProcess(tls.caPem);
  const principal = (name: string, policy: PolicyDocument): AwsPrincipal => ({ arn: `arn:aws:iam::${ACCOUNT}:user/${name}`, accountId: ACCOUNT, identityPolicies: [{ name, policy }] });
  const principals = new Map([principal("writer", o.writer), principal("admin", adminPolicy)].map((p) => [p.arn, p]));
  const clock = { now: new Date() };
  const bucket = new AwsS3Bucket(
    { name: BUCKET, region: REGION, accountId: ACCOUNT, versioning: true, objectLock: { defaultRetention: { mode: o.lockMode ?? "GOVERNANCE", days: 1 } }, kms: { keyArn: KEY_ARN } },
    dir,
    principals,
  );
  const keys = { writer: { accessKeyId: "AKIAWRITER0000000001", secretAccessKey: "writer-secret" }, admin: { accessKeyId: "AKIAADMIN00000000001", secretAccessKey: "admin-secret" } };
  const store = await startObjectStore({
    flavour: "aws",
    tls,
    credentials: [
      { ...keys.writer, principal: `arn:aws:iam::${ACCOUNT}:user/writer` },
      { ...keys.admin, principal: `arn:aws:iam::${ACCOUNT}:user/admin` },
    ],
    buckets: new Map([[BUCKET, bucket]]),
    regions: [REGION],
    now: () => clock.now,
  });
  open = {
    store,
    bucket,
    tls,
    clock,
    client: (who) => new S3Client({ region: REGION, endpoint: store.url, forcePathStyle: true, credentials: keys[who], maxAttempts: 1, requestHandler: { httpsAgent: new Agent({ ca: tls.caPem }) }, systemClockOffset: clock.now.getTime() - Date.now() }),
    raw: (who) => new AwsClient({ ...keys[who], service: "s3", region: REGION, retries: 0 }),
  };
  return open;
}

describe("the strict S3 stand-in follows the policies it is given", () => {
  it("a loosened policy lets the attack through: the least-privilege tests would fail", async () => {
    const h = await harness({ writer: writerPolicy(["s3:DeleteObject"]) });
    await h.client("writer").send(new PutObjectCommand({ Bucket: BUCKET, Key: "daily/a", Body: "x" }));
    expect(await outcome(h.client("writer").send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "daily/a" })))).toBe("ok");
  });

  it("a tightened policy breaks the legitimate path: no kms:GenerateDataKey, no upload under SSE-KMS", async () => {
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html: "To upload an
    // object encrypted with an AWS KMS key to Amazon S3, you need kms:GenerateDataKey permissions".
    const h = await harness({ writer: writerPolicy([], false) });
    expect(await outcome(h.client("writer").send(new PutObjectCommand({ Bucket: BUCKET, Key: "daily/a", Body: "x" })))).toBe("403 AccessDenied");
  });
});

describe("Object Lock over time", () => {
  it("GOVERNANCE yields to s3:BypassGovernanceRetention with the header, and every lock ends at its date", async () => {
    const h = await harness({ writer: writerPolicy() });
    const put = await h.client("writer").send(new PutObjectCommand({ Bucket: BUCKET, Key: "daily/a", Body: "x" }));
    const del = (bypass: boolean) => h.client("admin").send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "daily/a", VersionId: put.VersionId, ...(bypass ? { BypassGovernanceRetention: true } : {}) }));
    expect(await outcome(del(false))).toBe("403 AccessDenied");
    expect(await outcome(del(true))).toBe("ok");
    const again = await h.client("writer").send(new PutObjectCommand({ Bucket: BUCKET, Key: "daily/b", Body: "y" }));
    h.clock.now = new Date(h.clock.now.getTime() + 2 * DAY);
    expect(await outcome(h.client("admin").send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "daily/b", VersionId: again.VersionId })))).toBe("ok");
  });

  it("COMPLIANCE cannot be bypassed, even by an identity allowed s3:*", async () => {
    const h = await harness({ writer: writerPolicy(), lockMode: "COMPLIANCE" });
    const put = await h.client("writer").send(new PutObjectCommand({ Bucket: BUCKET, Key: "daily/a", Body: "x" }));
    expect(await outcome(h.client("admin").send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "daily/a", VersionId: put.VersionId, BypassGovernanceRetention: true })))).toBe("403 AccessDenied");
  });
});

describe("request integrity", () => {
  it("refuses a body that does not match its checksum or its signed payload hash", async () => {
    const h = await harness({ writer: writerPolicy() });
    const sum = createHash("sha256").update("other body").digest("base64");
    const bad = await h.raw("writer").fetch(`${h.store.url}/${BUCKET}/daily/a`, { method: "PUT", body: "the body", headers: { "x-amz-checksum-sha256": sum } });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("<Code>BadDigest</Code>");
    const hash = createHash("sha256").update("signed body").digest("hex");
    const swapped = await h.raw("writer").fetch(`${h.store.url}/${BUCKET}/daily/a`, { method: "PUT", body: "other body", headers: { "x-amz-content-sha256": hash, "content-md5": createHash("md5").update("other body").digest("base64") } });
    expect(swapped.status).toBe(400);
    expect(await swapped.text()).toContain("<Code>XAmzContentSHA256Mismatch</Code>");
  });

  it("refuses a request signed more than 15 minutes away from its clock (RequestTimeTooSkewed)", async () => {
    const h = await harness({ writer: writerPolicy() });
    h.clock.now = new Date(Date.now() + 20 * 60_000);
    const res = await h.raw("admin").fetch(`${h.store.url}/${BUCKET}?list-type=2`);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("<Code>RequestTimeTooSkewed</Code>");
  });
});

describe("multipart uploads", () => {
  const part = (n: number, fill: number) => new Uint8Array(n).fill(fill);

  it("assemble parts into one object with S3's composite ETag; small parts other than the last are refused", async () => {
    const h = await harness({ writer: writerPolicy() });
    const w = new S3Storage({ endpoint: h.store.url, bucket: BUCKET, region: REGION, accessKeyId: "AKIAWRITER0000000001", secretAccessKey: "writer-secret", partBytes: 5 * 1024 * 1024 });
    const body = new Uint8Array([...part(5 * 1024 * 1024, 1), ...part(1000, 2)]);
    await w.put("daily/big", new Blob([body]).stream() as ReadableStream<Uint8Array>);
    const stored = h.bucket.data.current("daily/big");
    expect(stored?.size).toBe(body.byteLength);
    expect(stored?.etag).toMatch(/^"[0-9a-f]{32}-2"$/);
    const tooSmall = new S3Storage({ endpoint: h.store.url, bucket: BUCKET, region: REGION, accessKeyId: "AKIAWRITER0000000001", secretAccessKey: "writer-secret", partBytes: 1024 });
    await expect(tooSmall.put("daily/small-parts", new Blob([part(3000, 3)]).stream() as ReadableStream<Uint8Array>)).rejects.toThrow(/EntityTooSmall/);
    expect(h.bucket.data.current("daily/small-parts")).toBeUndefined();
  });
});

describe("listings", () => {
  it("page by 1000 at most with continuation tokens, in UTF-8 order, with common prefixes", async () => {
    const h = await harness({ writer: writerPolicy() });
    const keys = ["daily/b/1", "daily/a/2", "daily/a/1", "daily/\u00e9", "daily/z", "daily/\u{1F600}"];
    for (const k of keys) await h.client("writer").send(new PutObjectCommand({ Bucket: BUCKET, Key: k, Body: k }));
    const admin = h.client("admin");
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await admin.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "daily/", MaxKeys: 2, ...(token ? { ContinuationToken: token } : {}) }));
      seen.push(...(page.Contents ?? []).map((c) => c.Key as string));
      token = page.NextContinuationToken;
    } while (token);
    expect(seen).toEqual([...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    const grouped = await admin.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "daily/", Delimiter: "/" }));
    expect(grouped.CommonPrefixes?.map((p) => p.Prefix)).toEqual(["daily/a/", "daily/b/"]);
    expect(await outcome(admin.send(new GetObjectCommand({ Bucket: BUCKET, Key: "daily/\u{1F600}" })))).toBe("ok");
  });
});
