/**
 * The drill's restore-test phase: after the backups, the Worker's restore-test cron is fired
 * once for every asset of its rotation, each firing at the scheduledTime whose slot is that
 * asset's turn (as Cloudflare would pass it), and the drill waits for the sealed result in
 * _reports/restore-tests/ and for the test to have emptied its scratch resource. D1, KV and R2
 * go through the queue in steps; Neon branches the Neon stand-in.
 */
import type { PlanAsset } from "../backup/plan";
import { readRestoreTestReports, reportOfTestSince, type RestoreTestResult } from "../backup/restoreTestReport";
import { restoreTestRotation } from "../backup/restoreTestRotation";
import { importMasterKey } from "../format/keys";
import { STATE_PREFIX } from "../format/layout";
import { throwIfInterrupted } from "../process/cleanup";
import type { DrillEnvironment } from "./environment";

/** What the drill report shows of each restore test. */
export type DrillRestoreTest = Pick<RestoreTestResult, "asset" | "passed" | "restoredCount" | "digestMatches" | "seconds" | "rtoTargetSeconds" | "integrity"> & { readonly error: string | null; readonly backupId: string | null };

const HOUR = 3_600_000;
/** The Worker's clock and the drill's are the same machine's; this absorbs their granularity. */
const CLOCK_SLACK_MS = 1000;

/** The scheduledTime of a firing in `slot` of the rotation, near now. */
export function slotTime(periodHours: number, rotationLength: number, index: number, now = Date.now()): Date {
  const period = periodHours * HOUR;
  const round = Math.floor(now / period / rotationLength);
  return new Date((round * rotationLength + index) * period);
}

/** The report of the test fired at `firedAt`: one that opens, sits at the key its content
 * names, and started at or after the firing (a planted copy of an older report, under whatever
 * key, is not taken); once the test's state is gone (the scratch resource emptied). */
async function resultOf(env: DrillEnvironment, a: PlanAsset, firedAt: number, timeoutMs = 300_000): Promise<RestoreTestResult> {
  const store = await env.worker.backupStorage();
  const master = await importMasterKey(env.keyHex);
  const id = `${a.kind}/${a.name}`;
  const end = Date.now() + timeoutMs;
  for (;;) {
    throwIfInterrupted();
    const running = await store.head(`${STATE_PREFIX}restore-tests/${id}.json`);
    if (!running) {
      const { reports } = await readRestoreTestReports(store, master, a);
      const found = reportOfTestSince(reports, firedAt - CLOCK_SLACK_MS);
      if (found) return found;
    }
    if (Date.now() > end) throw new Error(`the restore test of ${id} did not finish within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runRestoreTests(env: DrillEnvironment, phase: <T>(asset: string, fn: () => Promise<T>) => Promise<T>): Promise<DrillRestoreTest[]> {
  const plan = env.worker.plan;
  const rt = plan.restoreTesting;
  if (!rt) return [];
  const rotation = restoreTestRotation(plan);
  const out: DrillRestoreTest[] = [];
  for (const [index, a] of rotation.entries()) {
    const r = await phase(`${a.kind}/${a.name}`, async () => {
      const firedAt = Date.now();
      await env.worker.runCron(rt.cron, slotTime(rt.periodHours, rotation.length, index));
      return resultOf(env, a, firedAt);
    });
    out.push({ asset: r.asset, passed: r.passed, restoredCount: r.restoredCount, digestMatches: r.digestMatches, seconds: r.seconds, rtoTargetSeconds: r.rtoTargetSeconds, integrity: r.integrity, error: r.error ?? null, backupId: r.backupId });
  }
  return out;
}
