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
  /**
   * A part of the backup's item stream (rows, keys, objects, counted from 0 over everything the
   * backup holds, before --only): items before `skip` are read and authenticated but not
   * written, and the restore stops once `stop()` says the caller's budget is spent, reporting
   * where the next part begins. Restore tests in the Worker go through a large backup this way,
   * one part per invocation. Set, the target is only prepared (mode checks, schema) by the part
   * that starts at 0.
   */
  readonly window?: RestoreWindow;
  /** D1: called for each row as it is sent to the target (restore tests digest them). */
  readonly onD1Row?: (table: string, row: readonly unknown[]) => void;
  /** Registers an undo that must run if the process is stopped mid-restore (CLI: onCleanup);
   * returns its unregister. D1 uses it for paused triggers. */
  readonly registerUndo?: (label: string, undo: () => unknown) => () => void;
}

export interface RestoreWindow {
  readonly skip: number;
  readonly stop?: () => boolean;
  /**
   * Resume without re-reading: start at this artifact of the stream (its index among the
   * artifacts the restore reads), whose first item is item `first` of the backup. Learned
   * from `onArtifact` in an earlier part. KV differentials (two merged streams) ignore it.
   */
  readonly from?: { readonly artifact: number; readonly first: number };
  /** Called as each artifact is opened, with the index of its first item. */
  readonly onArtifact?: (artifact: number, first: number) => void;
}

export interface RestoreReport {
  /** Items restored (rows, keys, objects); for --validate-only, what would be. */
  readonly restored: number;
  readonly skipped: number;
  /** Per-table rows (D1), or other kind-specific counts. */
  readonly details: Record<string, number>;
  readonly validateOnly: boolean;
  /** With a window: the index of the first item not yet restored (absent: the backup is done). */
  readonly next?: number;
}
