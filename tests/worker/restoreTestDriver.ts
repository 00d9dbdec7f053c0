/**
 * Drives a restore test as the Worker runs it: the cron invocation starts it, then every
 * queued step runs as its own invocation under the local Workers limits, through the same
 * handler functions the Worker's queue handler calls (alerts included).
 */
import type { AlertEvent } from "../../lib/alerts/alerts";
import type { InvocationLimits, InvocationStats } from "../../lib/local/limits/invocationBudget";
import { findAsset } from "../../worker/engine/runner";
import type { Env, StepMessage } from "../../worker/env";
import { restoreTestAlert } from "../../worker/restoreTest/handlers";
import { RestoreTestRunner, type TestKind } from "../../worker/restoreTest/runner";
import type { RestoreTestResult } from "../../lib/backup/restoreTestReport";
import type { PlanAsset } from "../../lib/backup/plan";
import { invocation } from "./helpers";

export interface DrivenTest {
  result: RestoreTestResult | null;
  alerts: AlertEvent[];
  steps: number;
  invocations: InvocationStats[];
}

export interface DriveOptions {
  readonly limits?: Partial<InvocationLimits>;
  /** Runs between steps (after step n): tests meddle with the scratch resource here. */
  readonly between?: (step: number, msg: StepMessage) => Promise<void>;
  readonly now?: () => Date;
}

export async function restoreTestNow(e: Env, assetId: string, o: DriveOptions = {}): Promise<DrivenTest> {
  const a = findAsset(e.BACKUP_PLAN, assetId) as PlanAsset & { kind: TestKind };
  const queue: StepMessage[] = [];
  const invocations: InvocationStats[] = [];
  const runnerIn = (limited: Env) => new RestoreTestRunner(limited, { enqueue: async (m) => void queue.push(m), ...(o.now ? { now: o.now } : {}) });
  let result = await invocation(e, "scheduled", (limited) => runnerIn(limited).start(a), invocations, o.limits);
  let steps = 0;
  while (queue.length) {
    const msg = queue.shift() as StepMessage;
    const r = await invocation(e, "queue", (limited) => runnerIn(limited).continue(a, msg), invocations, o.limits);
    result = r ?? result;
    steps++;
    await o.between?.(steps, msg);
  }
  return { result, alerts: result && !result.passed ? [restoreTestAlert(e, result)] : [], steps, invocations };
}
