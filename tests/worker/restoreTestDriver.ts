/**
 * Drives a restore test as the Worker runs it: the cron invocation starts it, then every
 * queued step runs as its own invocation under the local Workers limits, through the same
 * handler functions the Worker's queue handler calls (alerts included). A step that throws is
 * retried as the queue handler retries it, and failed for good when its attempts run out.
 * Also the hooks adversarial tests use: act when the test reaches a phase, bindings that die.
 */
import type { AlertEvent } from "../../lib/alerts/alerts";
import type { InvocationLimits, InvocationStats } from "../../lib/local/limits/invocationBudget";
import { findAsset } from "../../worker/engine/runner";
import type { Env, StepMessage } from "../../worker/env";
import { MAX_ATTEMPTS, restoreTestAlert } from "../../worker/restoreTest/handlers";
import { RestoreTestRunner, type TestKind } from "../../worker/restoreTest/runner";
import type { RestoreTestResult } from "../../lib/backup/restoreTestReport";
import type { PlanAsset } from "../../lib/backup/plan";
import { readTestState, type RestoreTestPhase } from "../../worker/restoreTest/state";
import { invocation, master, r2 } from "./helpers";

export interface DrivenTest {
  result: RestoreTestResult | null;
  alerts: AlertEvent[];
  steps: number;
  invocations: InvocationStats[];
  /** Every result a step returned, in order (a test may record more than one). */
  results: RestoreTestResult[];
  /** Errors of attempts that threw and were retried. */
  retried: string[];
}

export interface DriveOptions {
  readonly limits?: Partial<InvocationLimits>;
  /** Runs between steps (after step n): tests meddle with the scratch resource here. */
  readonly between?: (step: number, msg: StepMessage) => Promise<void>;
  readonly now?: () => Date;
  /** The Env attempt `attempt` (from 1) of step `step` runs with: tests inject faults here. */
  readonly envFor?: (step: number, attempt: number, e: Env) => Env;
}

export async function restoreTestNow(e: Env, assetId: string, o: DriveOptions = {}): Promise<DrivenTest> {
  const a = findAsset(e.BACKUP_PLAN, assetId) as PlanAsset & { kind: TestKind };
  const queue: StepMessage[] = [];
  const invocations: InvocationStats[] = [];
  const runnerIn = (limited: Env) => new RestoreTestRunner(limited, { enqueue: async (m) => void queue.push(m), ...(o.now ? { now: o.now } : {}) });
  let result = await invocation(e, "scheduled", (limited) => runnerIn(limited).start(a), invocations, o.limits);
  const results = result ? [result] : [];
  const retried: string[] = [];
  let steps = 0;
  while (queue.length) {
    const msg = queue.shift() as StepMessage;
    // A test that never ends would loop here forever; no test in these files needs this many.
    if (++steps > 300) throw new Error(`the restore test of ${assetId} did not end within 300 steps (it loops)`);
    let r: RestoreTestResult | null = null;
    for (let attempt = 1; ; attempt++) {
      try {
        r = await invocation(o.envFor?.(steps, attempt, e) ?? e, "queue", (limited) => runnerIn(limited).continue(a, msg), invocations, o.limits);
        break;
      } catch (err) {
        retried.push((err as Error).message);
        if (attempt < MAX_ATTEMPTS) continue;
        r = await invocation(e, "queue", (limited) => runnerIn(limited).fail(a, null, `step ${msg.step} failed ${attempt} times: ${(err as Error).message}`), invocations, o.limits);
        break;
      }
    }
    if (r) results.push(r);
    result = r ?? result;
    await o.between?.(steps, msg);
  }
  return { result, alerts: result && !result.passed ? [restoreTestAlert(e, result)] : [], steps, invocations, results, retried };
}

export const stateKey = (a: { kind: string; name: string }) => `_state/restore-tests/${a.kind}/${a.name}.json`;

/** Runs `fn` once, between steps, when the test's state has reached `phase`. */
export function atPhase(a: { kind: string; name: string }, phase: RestoreTestPhase, fn: () => Promise<void>) {
  let done = false;
  return async () => {
    if (done) return;
    const s = await readTestState(r2(), await master(), { kind: a.kind as TestKind, name: a.name }).catch(() => null);
    if (s?.phase !== phase) return;
    done = true;
    await fn();
  };
}

/** A binding every call of which fails: a resource that is down. */
export function dead<T extends object>(binding: T): T {
  return new Proxy(binding, {
    get(target, prop) {
      const orig = (target as Record<string, unknown>)[prop as string];
      if (typeof orig !== "function") return orig;
      return () => Promise.reject(new Error(`injected: ${String(prop)} is down`));
    },
  });
}

/** A binding whose `method` throws at the first call `dies` picks: an invocation dying half-way. */
export function dyingWhen<T extends object>(binding: T, method: string, dies: (args: unknown[], call: number) => boolean): T {
  let calls = 0;
  let died = false;
  return new Proxy(binding, {
    get(target, prop) {
      const orig = (target as Record<string, unknown>)[prop as string];
      if (typeof orig !== "function") return orig;
      if (prop !== method) return (orig as (...a: unknown[]) => unknown).bind(target);
      return (...args: unknown[]) => {
        if (!died && dies(args, ++calls)) {
          died = true;
          return Promise.reject(new Error(`injected: the invocation died at ${method} #${calls}`));
        }
        return (orig as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
export const dyingAt = <T extends object>(binding: T, method: string, nth: number) => dyingWhen(binding, method, (_args, call) => call === nth);
