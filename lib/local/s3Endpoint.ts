/**
 * A local S3 endpoint (s3rver) for tests and the drill. It checks SigV4 signatures with its
 * default account (S3RVER / S3RVER) and keeps objects on disk. It does not implement lifecycle
 * rules or Object Lock; those are proven by the policy pack, not here.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { AddressInfo } from "node:net";

// s3rver ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require("s3rver") as new (opts: Record<string, unknown>) => { run(): Promise<AddressInfo>; close(): Promise<void> };

export interface LocalS3 {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly directory: string;
  close(): Promise<void>;
}

export async function startLocalS3(buckets: readonly string[], directory?: string): Promise<LocalS3> {
  const dir = directory ?? (await mkdtemp(path.join(tmpdir(), "drposture-s3-")));
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: dir, configureBuckets: buckets.map((name) => ({ name })) });
  const addr = await server.run();
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    region: "us-east-1",
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    directory: dir,
    close: () => server.close(),
  };
}
