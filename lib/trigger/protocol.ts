/**
 * The backup Worker's trigger routes, as the Worker serves them and the CLI calls them.
 *   POST /v1/backups                  {"asset":"d1/app-db"}   starts a backup of the asset
 *   GET  /v1/backups/status?asset=d1/app-db&backupId=ID     where that backup is
 * Every request is signed (signature.ts); every answer is JSON.
 */
export const START_PATH = "/v1/backups";
export const STATUS_PATH = "/v1/backups/status";

export interface StartRequest {
  /** "kind/name" of a D1, KV or R2 asset of the plan. */
  readonly asset: string;
}

/** 202: the backup started and runs on the Worker's queue. */
export interface StartedResponse {
  readonly state: "running";
  readonly asset: string;
  readonly backupId: string;
}

/** 409 "running": the asset already has a job (it started before this request); wait, then ask again.
 * 409 "replayed": this request (its timestamp) was already honoured for the asset. */
export interface ConflictResponse {
  readonly error: string;
  readonly code: "running" | "replayed";
  readonly backupId?: string;
}

export type BackupState = "running" | "committed" | "failed";

export interface StatusResponse {
  readonly state: BackupState;
  readonly asset: string;
  readonly backupId: string;
  /** committed: the tier and key of the manifest, which verified under the Worker's key. */
  readonly tier?: string;
  readonly manifestKey?: string;
  /** running: "backup" until the R2 commit, "replicate" while it is copied to S3. */
  readonly phase?: "backup" | "replicate";
  /** committed: still being copied to S3. */
  readonly replicating?: boolean;
  /** failed: why, as far as the Worker knows (the backup-failed alert has the rest). */
  readonly error?: string;
}

export interface ErrorResponse {
  readonly error: string;
  readonly code?: string;
}

/** Backup ids as lib/format/layout.ts newBackupId makes them. */
export const BACKUP_ID_PATTERN = /^\d{8}T\d{9}Z-[0-9a-f]{8}$/;
/** kind/name of an asset the Worker backs up (names as the stack schema allows them). */
export const ASSET_ID_PATTERN = /^(d1|kv|r2|neon)\/[a-z][a-z0-9-]{0,39}$/;
