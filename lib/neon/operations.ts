/**
 * Waits for the operations a Neon API call started. Neon answers a mutating call at once and
 * does the work in background operations; the next conflicting call gets `423 Locked` until
 * they end, and a restore is not done until its operations are.
 *   https://neon.com/docs/reference/api/operations.md: "Neon limits overlapping operations per
 *   project. Requests that conflict with a running operation return `423 Locked`"; statuses
 *   `scheduling`, `running`, `finished`, `failed`, `cancelling`, `cancelled`, `skipped`.
 *   https://neon.com/docs/manage/operations: "you can poll the status of operations to ensure
 *   that an API request is completed before issuing the next API request."
 *   GET /projects/{project_id}/operations/{operation_id}
 *   (https://neon.com/docs/reference/api/operations/get-project-operation.md).
 */
import type { Api, Operation } from "@neondatabase/api-client";

/** The work was done (`skipped`: Neon found nothing to do). */
const DONE = new Set(["finished", "skipped"]);
/** The work was not done. Neon may retry a `failed` operation itself, but the caller must not
 * report success on it; `error` is the api-client's name for the same outcome. */
const NOT_DONE = new Set(["failed", "error", "cancelled"]);

export const DEFAULT_OPERATION_POLL_MS = 2_000;
export const DEFAULT_OPERATION_TIMEOUT_MS = 10 * 60_000;

export interface WaitOptions {
  /** Give up (and throw) after this long. */
  readonly timeoutMs?: number;
  readonly pollIntervalMs?: number;
  /** What the caller was doing, for the error message (e.g. "restore of br-x"). */
  readonly what?: string;
}

export class NeonOperationError extends Error {
  constructor(
    readonly operationId: string,
    readonly status: string,
    message: string,
  ) {
    super(message);
    this.name = "NeonOperationError";
  }
}

type OperationsApi = Pick<Api<unknown>, "getProjectOperation">;

/** Resolves when every operation is done; throws NeonOperationError naming the operation and its
 * status when one fails or is still unfinished at the timeout. Returns the final operations. */
export async function waitForOperations(
  api: OperationsApi,
  projectId: string,
  operations: readonly Operation[] | undefined,
  o: WaitOptions = {},
): Promise<Operation[]> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
  const interval = o.pollIntervalMs ?? DEFAULT_OPERATION_POLL_MS;
  const deadline = Date.now() + timeoutMs;
  const what = o.what ? ` (${o.what})` : "";
  const done: Operation[] = [];
  for (const started of operations ?? []) {
    let op = started;
    for (;;) {
      if (DONE.has(op.status)) break;
      if (NOT_DONE.has(op.status)) {
        const detail = op.error ? `: ${op.error}` : "";
        throw new NeonOperationError(op.id, op.status, `Neon operation ${op.id} ${op.action}${what} ended ${op.status}${detail}; check it with GET /projects/${projectId}/operations/${op.id}`);
      }
      if (Date.now() >= deadline) {
        throw new NeonOperationError(op.id, op.status, `Neon operation ${op.id} ${op.action}${what} is still ${op.status} after ${timeoutMs / 1000} s; it may yet finish: check GET /projects/${projectId}/operations/${op.id} before retrying`);
      }
      await new Promise((r) => setTimeout(r, Math.min(interval, Math.max(0, deadline - Date.now()))));
      op = (await api.getProjectOperation(projectId, op.id)).data.operation;
    }
    done.push(op);
  }
  return done;
}

/** Poll interval and timeout from the environment (NEON_OPERATION_POLL_MS, NEON_OPERATION_TIMEOUT_MS),
 * so a process started by Pulumi or a test can shorten them. */
export function waitOptionsFromEnv(env: NodeJS.ProcessEnv, what?: string): WaitOptions {
  const num = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === "") return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${raw}: expected milliseconds (a non-negative number)`);
    return n;
  };
  const pollIntervalMs = num("NEON_OPERATION_POLL_MS");
  const timeoutMs = num("NEON_OPERATION_TIMEOUT_MS");
  return { ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(what ? { what } : {}) };
}
