/**
 * The local world for a test file, and the AWS SDK's own S3 client pointed at it: attacks and
 * operator commands are written the way `aws s3api` (or any SDK user) would send them.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { Agent } from "node:https";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { AccessKeys } from "../../lib/local/localWorker";
import { startLocalWorld, type LocalWorld, type LocalWorldOptions } from "../../lib/local/localWorld";
import { trustInThisProcess } from "../../lib/local/tls";

export async function worldForTest(o: Partial<LocalWorldOptions> = {}): Promise<LocalWorld> {
  const world = await startLocalWorld({ stack: "prod", dir: mkdtempSync(path.join(tmpdir(), "drposture-world-")), ...o });
  await trustInThisProcess(world.tls.caPem);
  return world;
}

/** An SDK client for the S3 endpoint (`plain`: over http://, where aws:SecureTransport is false). */
export function sdkS3(world: LocalWorld, keys: AccessKeys & { sessionToken?: string }, o: { plain?: boolean; region?: string } = {}): S3Client {
  return new S3Client({
    region: o.region ?? world.s3Region,
    endpoint: o.plain ? world.aws.plainUrl : world.aws.url,
    forcePathStyle: true,
    credentials: keys,
    maxAttempts: 1,
    requestHandler: { httpsAgent: new Agent({ ca: world.tls.caPem }) },
  });
}

/** An SDK client for R2's S3 API with a token's derived credentials. */
export function sdkR2(world: LocalWorld, keys: AccessKeys): S3Client {
  return new S3Client({ region: "auto", endpoint: world.r2.url, forcePathStyle: true, credentials: keys, maxAttempts: 1, requestHandler: { httpsAgent: new Agent({ ca: world.tls.caPem }) } });
}

/** The S3 error code of a rejected SDK call ("ok" when it succeeded). */
export async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (err) {
    const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
    return `${e.$metadata?.httpStatusCode ?? "?"} ${e.Code ?? e.name ?? "error"}`;
  }
}
