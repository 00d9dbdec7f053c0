/**
 * Where the CLI reads or writes backups, from one `--store` spec:
 *   s3://BUCKET?region=eu-central-1[&endpoint=URL][&addressing=path]   credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
 *                                                                       [/ AWS_SESSION_TOKEN for SSO or assumed roles]
 *   r2://ACCOUNT_ID/BUCKET[?jurisdiction=eu][&endpoint=URL]             credentials: R2_ACCESS_KEY_ID / R2_SECRET_ACCESS_KEY
 *   DIR (or file://DIR)                                                 a local directory (drill output, `--keep`)
 * `endpoint` points either at another S3-compatible endpoint (on-prem, or the local world); an
 * r2:// store keeps R2's rules (no tagging, no Object Lock headers) whatever the endpoint.
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

function endpointOf(spec: string, value: string | null): string | undefined {
  if (value === null) return undefined;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new StoreSpecError(`${spec}: endpoint ${JSON.stringify(value)} is not a URL (e.g. https://s3.example.internal:9000)`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new StoreSpecError(`${spec}: endpoint must be an http(s) URL`);
  return value;
}

function addressing(spec: string, value: string | null): "path" | "virtual" | undefined {
  if (value === null) return undefined;
  if (value !== "path" && value !== "virtual") throw new StoreSpecError(`${spec}: addressing must be path or virtual`);
  return value;
}

export function openStore(spec: string, environment: NodeJS.ProcessEnv = process.env): BackupStorage {
  if (spec.startsWith("s3://")) {
    const u = new URL(spec);
    const region = u.searchParams.get("region") ?? environment.AWS_REGION ?? environment.AWS_DEFAULT_REGION;
    if (!u.hostname) throw new StoreSpecError(`${spec}: no bucket name (s3://BUCKET?region=...)`);
    if (!region) throw new StoreSpecError(`${spec}: no region (add ?region=... or set AWS_REGION)`);
    const endpoint = endpointOf(spec, u.searchParams.get("endpoint")) ?? `https://s3.${region}.amazonaws.com`;
    const token = environment.AWS_SESSION_TOKEN;
    return new S3Storage({
      endpoint,
      bucket: u.hostname,
      region,
      accessKeyId: environment.AWS_ACCESS_KEY_ID ?? env("AWS_ACCESS_KEY_ID", spec),
      secretAccessKey: environment.AWS_SECRET_ACCESS_KEY ?? env("AWS_SECRET_ACCESS_KEY", spec),
      ...(token ? { sessionToken: token } : {}),
      addressing: addressing(spec, u.searchParams.get("addressing")) ?? (u.searchParams.get("endpoint") ? "path" : "virtual"),
    });
  }
  if (spec.startsWith("r2://")) {
    const u = new URL(spec);
    const bucket = u.pathname.replace(/^\//, "");
    if (!u.hostname || !bucket) throw new StoreSpecError(`${spec}: expected r2://ACCOUNT_ID/BUCKET`);
    const jurisdiction = u.searchParams.get("jurisdiction");
    if (jurisdiction !== null && !["eu", "fedramp"].includes(jurisdiction)) throw new StoreSpecError(`${spec}: jurisdiction must be eu or fedramp (omit it for the default jurisdiction)`);
    return new S3Storage({
      endpoint: endpointOf(spec, u.searchParams.get("endpoint")) ?? `https://${u.hostname}${jurisdiction ? `.${jurisdiction}` : ""}.r2.cloudflarestorage.com`,
      bucket,
      region: "auto",
      accessKeyId: environment.R2_ACCESS_KEY_ID ?? env("R2_ACCESS_KEY_ID", spec),
      secretAccessKey: environment.R2_SECRET_ACCESS_KEY ?? env("R2_SECRET_ACCESS_KEY", spec),
      addressing: "path",
      flavour: "r2",
    });
  }
  // Anything else is a directory; an empty spec or another scheme (gs://, https://) is a mistake,
  // not a directory of that name.
  if (!spec.trim()) throw new StoreSpecError(`--store "": expected s3://BUCKET?region=R, r2://ACCOUNT/BUCKET or a directory`);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(spec)?.[1];
  if (scheme && scheme.toLowerCase() !== "file") throw new StoreSpecError(`${spec}: ${scheme}:// is not a store (s3://BUCKET?region=R, r2://ACCOUNT/BUCKET or a directory)`);
  return new DirStorage(path.resolve(spec.replace(/^file:\/\//, "")));
}
