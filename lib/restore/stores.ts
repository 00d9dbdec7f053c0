/**
 * Where the CLI reads or writes backups, from one `--store` spec:
 *   s3://BUCKET?region=eu-central-1[&endpoint=URL][&addressing=path]   credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
 *   r2://ACCOUNT_ID/BUCKET[?jurisdiction=eu]                            credentials: R2_ACCESS_KEY_ID / R2_SECRET_ACCESS_KEY
 *   DIR (or file://DIR)                                                 a local directory (drill output, `--keep`)
 * Bucket names come from `pulumi stack output` when state exists, and from the bucket list of
 * the account when it does not: nothing here needs Pulumi state.
 */
import * as path from "node:path";
import { DirStorage } from "../storage/dirStorage";
import { S3Storage } from "../storage/s3Storage";
import type { BackupStorage } from "../storage/types";

export class StoreSpecError extends Error {
  override readonly name = "StoreSpecError";
}

function env(name: string, why: string): string {
  const v = process.env[name];
  if (!v) throw new StoreSpecError(`${name} is not set (needed for ${why})`);
  return v;
}

export function openStore(spec: string, environment: NodeJS.ProcessEnv = process.env): BackupStorage {
  if (spec.startsWith("s3://")) {
    const u = new URL(spec);
    const region = u.searchParams.get("region") ?? environment.AWS_REGION ?? environment.AWS_DEFAULT_REGION;
    if (!u.hostname) throw new StoreSpecError(`${spec}: no bucket name (s3://BUCKET?region=...)`);
    if (!region) throw new StoreSpecError(`${spec}: no region (add ?region=... or set AWS_REGION)`);
    const endpoint = u.searchParams.get("endpoint") ?? `https://s3.${region}.amazonaws.com`;
    return new S3Storage({
      endpoint,
      bucket: u.hostname,
      region,
      accessKeyId: environment.AWS_ACCESS_KEY_ID ?? env("AWS_ACCESS_KEY_ID", spec),
      secretAccessKey: environment.AWS_SECRET_ACCESS_KEY ?? env("AWS_SECRET_ACCESS_KEY", spec),
      addressing: (u.searchParams.get("addressing") as "path" | "virtual" | null) ?? (u.searchParams.get("endpoint") ? "path" : "virtual"),
    });
  }
  if (spec.startsWith("r2://")) {
    const u = new URL(spec);
    const bucket = u.pathname.replace(/^\//, "");
    if (!u.hostname || !bucket) throw new StoreSpecError(`${spec}: expected r2://ACCOUNT_ID/BUCKET`);
    const jurisdiction = u.searchParams.get("jurisdiction");
    return new S3Storage({
      endpoint: `https://${u.hostname}${jurisdiction ? `.${jurisdiction}` : ""}.r2.cloudflarestorage.com`,
      bucket,
      region: "auto",
      accessKeyId: environment.R2_ACCESS_KEY_ID ?? env("R2_ACCESS_KEY_ID", spec),
      secretAccessKey: environment.R2_SECRET_ACCESS_KEY ?? env("R2_SECRET_ACCESS_KEY", spec),
      addressing: "path",
    });
  }
  return new DirStorage(path.resolve(spec.replace(/^file:\/\//, "")));
}
