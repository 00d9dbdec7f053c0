/**
 * What one backup of each kind does, counted from the Worker's code. One small function per
 * kind, so a change in a job's design changes one function here (and its test):
 *  KV  worker/jobs/kv.ts, kvPage.ts: every backup, full or differential, lists the whole
 *      namespace (one list per page of kvPageKeys(opsPerStep) keys, 25 pages a listing step),
 *      and each page is a task that reads every value (one get per key; a task stopped by the
 *      byte budget continues in a further part); adoption steps take adoptPerStep tasks each,
 *      plus one that removes the last tasks' state. A full backup writes every entry, a
 *      differential one only the keys changed since the day's full; both write an index line
 *      per key.
 *  D1  worker/jobs/d1.ts: a database up to d1SnapshotBytes in one batch (one step), a larger one
 *      in pages of d1PageRows rows, at most opsPerStep page queries or bytesPerStep a step.
 *  R2  worker/jobs/r2.ts: lists the source (1,000 a page) and copies objects new or changed since
 *      the previous backup, plus those whose earlier copy expires before this backup does
 *      (r2Records.ts reusable()); every backup writes an inventory line per object.
 * Sizes of records are estimates of the NDJSON lines (assumptions.ts says which).
 */
import { changedSinceAnchor } from "./cadence";
import type { D1Sizes, KvSizes, R2Sizes, StepBudget } from "./input";
import type { JobShape } from "./jobOps";
import { adoptPerStep, kvPageKeys, kvPagesPerStep } from "../backup/fanout";

export interface BackupUsage {
  readonly shape: JobShape;
  /** Operations on the protected source, by price id (KV reads/lists, D1 rows read, R2 class A/B). */
  readonly source: Readonly<Record<string, number>>;
  /** Bytes this backup stores in each destination. */
  readonly storedBytes: number;
  /** Items handled (keys, rows, objects) and MiB through the cipher, for the CPU estimate. */
  readonly items: number;
  readonly mib: number;
}

/** {"k":"…","v":"…"}\n around a base64 value. */
export const KV_ENTRY_OVERHEAD_BYTES = 16;
/** ["key","<sha-256 hex>"]\n */
export const KV_INDEX_LINE_BYTES = 72;
/** One R2 inventory line without the key: size, etag, uploaded, one segment. */
export const R2_INVENTORY_LINE_BYTES = 250;
/** Average R2 object key length assumed for inventory lines. */
export const R2_KEY_BYTES = 40;

const MIB = 1024 * 1024;
const base64 = (n: number) => Math.ceil(n / 3) * 4;

/** Keys one KV task part handles: the list page (kvPageKeys), cut short by the byte budget. */
export function kvKeysPerStep(s: Pick<KvSizes, "averageValueBytes">, limits: StepBudget): number {
  const byOps = kvPageKeys(limits.opsPerStep);
  const byBytes = s.averageValueBytes > 0 ? Math.ceil(limits.bytesPerStep / s.averageValueBytes) : byOps;
  return Math.max(1, Math.min(byOps, byBytes));
}

/** Job steps of a KV backup of `pages` pages: listing steps, then adoption steps (the last
 * one only removes the final tasks' state). */
export function kvJobSteps(pages: number, opsPerStep: number): number {
  const listing = Math.ceil(pages / kvPagesPerStep(opsPerStep));
  return listing + Math.ceil(pages / adoptPerStep(opsPerStep)) + 1;
}

export function kvBackupUsage(s: KvSizes, limits: StepBudget, mode: "full" | "differential"): BackupUsage {
  const pages = Math.max(1, Math.ceil(s.keys / kvPageKeys(limits.opsPerStep)));
  // Task parts: a page whose values pass the byte budget takes more than one.
  const steps = Math.max(pages, Math.ceil(s.keys / kvKeysPerStep(s, limits)));
  const entry = s.averageKeyBytes + base64(s.averageValueBytes) + KV_ENTRY_OVERHEAD_BYTES;
  const indexBytes = s.keys * (s.averageKeyBytes + KV_INDEX_LINE_BYTES);
  // A differential backup at the i-th run of the day holds the keys changed since the day's
  // full: on average half a day's changes (capped at the namespace).
  const written = mode === "full" ? s.keys : Math.min(s.keys, s.dailyChangedKeys / 2);
  const entryArtifacts = written > 0 ? Math.min(steps, Math.ceil(written)) : 0;
  return {
    shape: {
      steps: kvJobSteps(pages, limits.opsPerStep),
      tasks: steps,
      artifacts: [
        ...(entryArtifacts ? [{ count: entryArtifacts, bytes: (written * entry) / entryArtifacts }] : []),
        { count: steps, bytes: indexBytes / steps },
      ],
      // Differential: the base manifest, and the base index over each page's key range.
      kindReads: mode === "full" ? 0 : 1 + steps,
      dependencies: mode === "full" ? 0 : 1,
    },
    source: { "cf.kv.reads": s.keys, "cf.kv.lists": pages },
    storedBytes: written * entry + indexBytes,
    items: s.keys,
    mib: (s.keys * (s.averageKeyBytes + s.averageValueBytes)) / MIB,
  };
}

export function d1BackupUsage(s: D1Sizes, limits: StepBudget): BackupUsage {
  const snapshot = s.bytes <= limits.d1SnapshotBytes;
  const pages = Math.ceil(s.rows / limits.d1PageRows);
  const steps = snapshot ? 1 : Math.max(1, Math.ceil(pages / limits.opsPerStep), Math.ceil(s.bytes / limits.bytesPerStep));
  return {
    shape: { steps, artifacts: [{ count: steps, bytes: s.bytes / steps }], kindReads: 0, dependencies: 0 },
    source: { "cf.d1.rowsRead": s.rows },
    storedBytes: s.bytes,
    items: s.rows,
    mib: s.bytes / MIB,
  };
}

/** Objects and bytes an R2 backup of a tier copies. A monthly backup outlives every earlier copy
 * and copies everything; a weekly one, what changed since the month's monthly; a daily one, what
 * changed since the week's weekly or monthly (copies made by dailies expire too early to reuse). */
export function r2Copied(s: R2Sizes, tier: "daily" | "weekly" | "monthly"): { objects: number; bytes: number } {
  if (tier === "monthly") return { objects: s.objects, bytes: s.bytes };
  const period = tier === "weekly" ? 365.25 / 12 : 7;
  return { objects: changedSinceAnchor(s.dailyChangedObjects, s.objects, period), bytes: changedSinceAnchor(s.dailyChangedBytes, s.bytes, period) };
}

export function r2BackupUsage(s: R2Sizes, limits: StepBudget, copied: { objects: number; bytes: number }): BackupUsage {
  const pages = Math.max(1, Math.ceil(s.objects / 1000));
  const steps = Math.max(1, Math.ceil((pages + copied.objects) / limits.opsPerStep), Math.ceil(copied.bytes / limits.bytesPerStep));
  const inventory = s.objects * (R2_KEY_BYTES + R2_INVENTORY_LINE_BYTES);
  return {
    shape: {
      steps: kvJobSteps(pages, limits.opsPerStep),
      tasks: steps,
      artifacts: [
        { count: steps, bytes: copied.bytes / steps },
        { count: steps, bytes: inventory / steps },
      ],
      // The previous manifest, and its inventory over each step's key range.
      kindReads: 1 + steps,
      dependencies: 1,
    },
    source: { "cf.r2.classA": pages, "cf.r2.classB": copied.objects },
    storedBytes: copied.bytes + inventory,
    items: s.objects,
    mib: copied.bytes / MIB,
  };
}
