/**
 * A scratch resource a restore test restores into: one per kind (D1 database, KV namespace,
 * R2 bucket), declared by Pulumi and bound to the Worker under RESTORE_TEST_BINDINGS, used for
 * nothing else. Each kind knows how to empty itself, restore one part of a backup with the
 * CLI's restore code, and read one part back into a digest — each within a step's budget.
 */
import type { MasterKey } from "../../lib/format/keys";
import type { IntegrityResult } from "../../lib/integrity/result";
import type { DeclaredCheck } from "../../lib/integrity/declaredChecks";
import type { RestoreReport, RestoreWindow } from "../../lib/restore/modes";
import type { MultisetDigest } from "../../lib/restore/multisetDigest";
import type { Resolved } from "../../lib/restore/resolve";
import type { BackupStorage } from "../../lib/storage/types";
import type { StepBudget } from "./budget";

export interface RestorePart {
  /** The backup store, reads charged to the budget. */
  readonly store: BackupStorage;
  readonly master: MasterKey;
  readonly resolved: Resolved;
  /** First item of this part (0: the target is checked empty and prepared). */
  readonly skip: number;
  readonly budget: StepBudget;
  /** Items written are added here, rendered as `verify` renders what it reads back. */
  readonly expected: MultisetDigest;
  /** KV: keys expiring before this (epoch seconds) may be gone by the time they are read
   * back; they are restored but left out of both digests. */
  readonly cutoff: number;
  /** Where the previous part left the backup's artifacts (null: read from the start). */
  readonly resume: Resume | null;
}

/** The artifact holding item `first` of the stream, so the next part starts there instead of
 * re-reading every artifact before it; D1 also needs the lines that give its rows a context. */
export interface Resume {
  readonly artifact: number;
  readonly first: number;
  /** D1: the plaintext byte offset of item `first` inside the artifact (a line boundary). */
  readonly offset?: number;
  readonly context?: readonly unknown[];
}

export interface PartDone {
  readonly report: RestoreReport;
  readonly resume: Resume | null;
}

export interface ScratchTarget {
  readonly label: string;
  /** Deletes one part of what the target holds; true once it is empty. */
  empty(budget: StepBudget): Promise<boolean>;
  restore(part: RestorePart): Promise<PartDone>;
  /** Reads one part back into `actual`; the cursor of the next part, or null when done. */
  verify(cursor: string | null, budget: StepBudget, actual: MultisetDigest, cutoff: number): Promise<string | null>;
  /** Post-restore checks (D1 only). */
  integrity?(checks: readonly DeclaredCheck[]): Promise<IntegrityResult[]>;
}

/** The manifest count a restore test compares its restored items with (rows, keys, objects). */
export const MANIFEST_COUNT: Record<"d1" | "kv" | "r2", string> = { d1: "rows", kv: "keys", r2: "objects" };

/** A part's window over a stream that resumes at artifact boundaries (KV, R2): it starts at the
 * artifact the previous part ended in, and `resume()` says where this one ended. */
export function artifactWindow(p: RestorePart): { window: RestoreWindow; resume: () => Resume | null } {
  let last: Resume | null = null;
  const window: RestoreWindow = {
    skip: p.skip,
    stop: p.budget.stop,
    ...(p.resume ? { from: { artifact: p.resume.artifact, first: p.resume.first } } : {}),
    onArtifact: (artifact, first) => void (last = { artifact, first }),
  };
  return { window, resume: () => last };
}
