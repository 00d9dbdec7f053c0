/**
 * The restore-test side of the Worker's handlers: the cron firing starts the test whose turn it
 * is (restoreTestRotation.ts) — D1, KV and R2 continue on the queue, one step per message; a
 * Neon PITR test runs whole in the firing — and a finished test that failed raises a
 * `restore-test-failed` alert on the backup-failure channels.
 */
import type { AlertEvent } from "../../lib/alerts/alerts";
import type { PlanAsset } from "../../lib/backup/plan";
import type { RestoreTestResult } from "../../lib/backup/restoreTestReport";
import { dueForRestoreTest } from "../../lib/backup/restoreTestRotation";
import type { Env, StepMessage } from "../env";
import { runNeonTest } from "./neon";
import { RestoreTestRunner, type TestKind } from "./runner";
import { staleRestoreTests } from "./staleness";

/** Attempts per step before the test is declared failed (the queue's max_retries + 1). */
export const MAX_ATTEMPTS = 3;

export function restoreTestAlert(env: Env, r: RestoreTestResult): AlertEvent {
  return {
    kind: "restore-test-failed",
    severity: "critical",
    stack: env.BACKUP_PLAN.stack,
    asset: r.asset,
    error: r.error ?? "restore test failed",
    lastGoodBackup: r.sourcePointInTime,
    at: r.finishedAt,
    details: { backupId: r.backupId, restoredCount: r.restoredCount, manifestCount: r.manifestCount, digestMatches: r.digestMatches, seconds: r.seconds, rtoTargetSeconds: r.rtoTargetSeconds },
  };
}

const alertsOf = (env: Env, r: RestoreTestResult | null): AlertEvent[] => (r && !r.passed ? [restoreTestAlert(env, r)] : []);
const testable = (a: PlanAsset): a is PlanAsset & { kind: TestKind } => a.kind === "d1" || a.kind === "kv" || a.kind === "r2";

/** Starts the restore test due at `scheduledTime`, if any. */
export async function runDueRestoreTest(env: Env, scheduledTime: number, now = new Date()): Promise<AlertEvent[]> {
  const stale = await staleRestoreTests(env, now);
  const a = dueForRestoreTest(env.BACKUP_PLAN, scheduledTime);
  if (!a) return stale;
  const runner = new RestoreTestRunner(env);
  if (a.kind === "neon") return [...stale, ...alertsOf(env, await runner.record(a, await runNeonTest(env, a)))];
  if (!testable(a)) return stale;
  return [...stale, ...alertsOf(env, await runner.start(a))];
}

export async function runRestoreTestStep(env: Env, asset: PlanAsset, msg: Message<StepMessage>): Promise<AlertEvent[]> {
  const runner = new RestoreTestRunner(env);
  if (!testable(asset)) {
    msg.ack();
    return [];
  }
  try {
    const r = await runner.continue(asset, msg.body);
    msg.ack();
    return alertsOf(env, r);
  } catch (err) {
    if (msg.attempts < MAX_ATTEMPTS) {
      console.error(`drposture: restore-test step ${msg.body.step} of ${msg.body.asset} failed (attempt ${msg.attempts}), retrying: ${(err as Error).message}`);
      msg.retry({ delaySeconds: 10 * msg.attempts });
      return [];
    }
    msg.ack();
    return alertsOf(env, await runner.fail(asset, null, `step ${msg.body.step} failed ${msg.attempts} times: ${(err as Error).message}`));
  }
}
