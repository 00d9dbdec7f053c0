/**
 * The Worker's destinations: the R2 backup bucket (binding; written first, read by the
 * watchdog) and the S3 copy, reached with two identities: the writer (put only) and the
 * verifier (read only), so that the Worker never holds a credential that could do both.
 */
import { R2Storage } from "../../lib/storage/r2Storage";
import { S3Storage } from "../../lib/storage/s3Storage";
import type { BackupStorage } from "../../lib/storage/types";
import type { Env } from "../env";

export interface Destinations {
  readonly r2: BackupStorage;
  readonly s3?: {
    readonly write: BackupStorage;
    /** Absent when no verifier identity is bound: replication then cannot skip existing objects. */
    readonly read?: BackupStorage;
    readonly lockMode: "COMPLIANCE" | "GOVERNANCE";
  };
}

export function destinations(env: Env): Destinations {
  const plan = env.BACKUP_PLAN;
  const r2 = new R2Storage(env.BACKUP_R2, plan.destinations.r2.bucketName);
  const s3 = plan.destinations.s3;
  if (!s3 || !env.S3_WRITER_ACCESS_KEY_ID || !env.S3_WRITER_SECRET_ACCESS_KEY) return { r2 };
  const base = { endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, ...(s3.addressing ? { addressing: s3.addressing } : {}) };
  return {
    r2,
    s3: {
      write: new S3Storage({ ...base, accessKeyId: env.S3_WRITER_ACCESS_KEY_ID, secretAccessKey: env.S3_WRITER_SECRET_ACCESS_KEY }),
      ...(env.S3_VERIFIER_ACCESS_KEY_ID && env.S3_VERIFIER_SECRET_ACCESS_KEY
        ? { read: new S3Storage({ ...base, accessKeyId: env.S3_VERIFIER_ACCESS_KEY_ID, secretAccessKey: env.S3_VERIFIER_SECRET_ACCESS_KEY }) }
        : {}),
      lockMode: s3.lockMode,
    },
  };
}
