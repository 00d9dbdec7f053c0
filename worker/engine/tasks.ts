/**
 * A backup's fan-out. A job step may queue tasks (e.g. one per KV list page) that any queue
 * consumer runs in parallel with its siblings, each inside one invocation's limits (a task that
 * stops at its budget continues in a further part). A task keeps its results, sealed, under
 * _state/tasks/; once the job's own steps are done, adoption steps take the finished tasks'
 * artifacts and counts into the job in task order (waiting, with a delay, for stragglers) and
 * remove their _state/ objects; the manifest is written after the last one is adopted.
 */
import { adoptPerStep } from "../../lib/backup/fanout";
import { openState, sealState, StateSealError } from "../../lib/format/sealedState";
import { STATE_PREFIX, type AssetRef } from "../../lib/format/layout";
import type { ArtifactEntry } from "../../lib/format/manifest";
import type { MasterKey } from "../../lib/format/keys";
import { getText, type BackupStorage } from "../../lib/storage/types";
import type { TaskRef } from "../env";
import { addCounts, type Counts, type JobState, type TaskProgress, type TaskSpan } from "./job";

/** What a task leaves behind: after a part (`resume` set) or when done (`resume` null). */
export interface TaskRecord {
  /** The part that runs next (after a part) or that finished the task. */
  readonly part: number;
  readonly resume: unknown;
  readonly artifacts: readonly ArtifactEntry[];
  readonly counts: Counts;
  readonly span?: TaskSpan;
}

/** Seconds between adoption steps while a task is still running: short next to an RPO, long
 * enough not to spin the queue (a task part takes seconds). */
export const ADOPT_RETRY_SECONDS = 2;

/** How long adoption waits for one task before the backup is declared failed. */
export const TASK_WAIT_LIMIT_MINUTES = 30;

export class TaskFailedError extends Error {
  override readonly name = "TaskFailedError";
}

export function taskPrefix(a: AssetRef, backupId: string): string {
  return `${STATE_PREFIX}tasks/${a.kind}/${a.name}/${backupId}/`;
}

export const taskInputKey = (a: AssetRef, backupId: string, n: number) => `${taskPrefix(a, backupId)}input-${n}.drpenc`;
const partKey = (a: AssetRef, backupId: string, n: number) => `${taskPrefix(a, backupId)}part-${n}.json`;
const doneKey = (a: AssetRef, backupId: string, n: number) => `${taskPrefix(a, backupId)}done-${n}.json`;
const purpose = (a: AssetRef, backupId: string, n: number, what: "part" | "done") => `task:${a.kind}/${a.name}:${backupId}:${n}:${what}`;

async function readRecord(storage: BackupStorage, master: MasterKey, a: AssetRef, backupId: string, n: number, what: "part" | "done"): Promise<TaskRecord | null> {
  const key = what === "part" ? partKey(a, backupId, n) : doneKey(a, backupId, n);
  const text = await getText(storage, key);
  if (text === null) return null;
  try {
    return await openState<TaskRecord>(master, purpose(a, backupId, n, what), text, `${storage.label}/${key}`);
  } catch (err) {
    // Forged or swapped through the R2 token: never adopted. The backup fails and alerts.
    if (err instanceof StateSealError) throw new TaskFailedError(`task ${n} of backup ${backupId}: ${err.message}`);
    throw err;
  }
}

/** Whether task `n` already finished (a duplicate queue delivery has nothing to do). */
export async function taskDone(storage: BackupStorage, master: MasterKey, a: AssetRef, backupId: string, n: number): Promise<boolean> {
  return (await storage.head(doneKey(a, backupId, n))) !== null;
}

/** The record the task's last part saved (null for part 0, or none yet): where part
 * `task.part` starts when its `part` matches; one ahead when this part already ran. */
export async function taskStart(storage: BackupStorage, master: MasterKey, a: AssetRef, backupId: string, task: TaskRef): Promise<TaskRecord | null> {
  if (task.part === 0) return null;
  return readRecord(storage, master, a, backupId, task.n, "part");
}

export async function saveTask(storage: BackupStorage, master: MasterKey, a: AssetRef, backupId: string, n: number, rec: TaskRecord): Promise<void> {
  const what = rec.resume === null ? "done" : "part";
  const key = what === "done" ? doneKey(a, backupId, n) : partKey(a, backupId, n);
  await storage.put(key, await sealState(master, purpose(a, backupId, n, what), rec), { contentType: "application/json" });
}

export interface Adoption {
  readonly progress: TaskProgress;
  readonly artifacts: readonly ArtifactEntry[];
  readonly counts: Counts;
  /** Seconds until the next adoption step (a task is still running), or 0. */
  readonly delaySeconds: number;
}

/**
 * One adoption step: removes the _state/ objects of tasks adopted by earlier steps, then adopts
 * finished tasks in order until one is not finished yet (the step is retried after a delay) or
 * the step's budget is spent. Removal trails adoption by a step, so a step that dies after
 * removing never loses a result the saved job state has not taken in.
 */
export async function adoptTasks(storage: BackupStorage, master: MasterKey, a: AssetRef, state: JobState, opsPerStep: number, now: Date): Promise<Adoption> {
  const p = state.tasks as TaskProgress;
  for (let n = p.cleaned; n < p.adopted; n++) {
    for (const key of [taskInputKey(a, state.backupId, n), partKey(a, state.backupId, n), doneKey(a, state.backupId, n)]) await storage.delete(key);
  }
  const artifacts: ArtifactEntry[] = [];
  let counts: Counts = {};
  let adopted = p.adopted;
  let last = adopted === 0 ? null : p.last;
  const end = Math.min(p.total, adopted + adoptPerStep(opsPerStep));
  while (adopted < end) {
    const rec = await readRecord(storage, master, a, state.backupId, adopted, "done");
    if (!rec) break;
    if (rec.span && last !== undefined && rec.span.after !== last) {
      throw new TaskFailedError(`task ${adopted} of backup ${state.backupId} does not start where task ${adopted - 1} ended: a listing step ran twice (a duplicate delivery or a replayed job state)`);
    }
    last = rec.span?.last;
    artifacts.push(...rec.artifacts);
    counts = addCounts(counts, rec.counts);
    adopted++;
  }
  const waiting = adopted < end;
  const since = waiting ? (adopted === p.adopted && p.waitingSince ? p.waitingSince : now.toISOString()) : undefined;
  if (since && now.getTime() - new Date(since).getTime() > TASK_WAIT_LIMIT_MINUTES * 60_000) {
    throw new TaskFailedError(`task ${adopted} of backup ${state.backupId} did not finish within ${TASK_WAIT_LIMIT_MINUTES} min`);
  }
  const progress: TaskProgress = { total: p.total, adopted, cleaned: p.adopted, ...(since ? { waitingSince: since } : {}), ...(last !== undefined ? { last } : {}) };
  // A straggler: look again soon, but not in a busy loop of queue steps.
  return { progress, artifacts, counts, delaySeconds: waiting && adopted === p.adopted ? ADOPT_RETRY_SECONDS : 0 };
}

/** Whether the job still has tasks to adopt or _state/ objects to remove before its commit. */
export const tasksPending = (p: TaskProgress | undefined): boolean => !!p && (p.adopted < p.total || p.cleaned < p.total);
