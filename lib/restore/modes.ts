/**
 * What a restore does about data already in the target. The default refuses: a restore never
 * overwrites silently.
 *   fail       refuse if the target holds anything the restore would write (default)
 *   skip       write only what is not there yet
 *   overwrite  write everything, replacing what is there
 *   clear      delete everything in the target first, then write
 */
export const RESTORE_MODES = ["fail", "skip", "overwrite", "clear"] as const;
export type RestoreMode = (typeof RESTORE_MODES)[number];

export class RestoreRefusedError extends Error {
  override readonly name = "RestoreRefusedError";
}

export interface RestoreOptions {
  readonly mode: RestoreMode;
  /** Check everything, write nothing. */
  readonly validateOnly: boolean;
  /** D1: one table; KV and R2: a key prefix; Postgres: one table. */
  readonly only?: string;
  readonly onProgress?: (done: number, total?: number) => void;
}

export interface RestoreReport {
  /** Items restored (rows, keys, objects); for --validate-only, what would be. */
  readonly restored: number;
  readonly skipped: number;
  /** Per-table rows (D1), or other kind-specific counts. */
  readonly details: Record<string, number>;
  readonly validateOnly: boolean;
}
