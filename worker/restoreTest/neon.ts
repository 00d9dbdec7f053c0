/**
 * The Neon restore test as the Worker runs it: a branch at a point in time inside the restore
 * window, the Postgres integrity checks over Neon's HTTP driver, the branch deleted
 * (lib/neon/restoreTest.ts), judged against the asset's RTO like the other kinds.
 */
import { neonConfig } from "@neondatabase/serverless";
import { failureOf, type RestoreTestResult } from "../../lib/backup/restoreTestReport";
import type { PlanAsset } from "../../lib/backup/plan";
import { runNeonRestoreTest } from "../../lib/neon/restoreTest";
import type { Env } from "../env";
import { declaredChecks } from "./runner";

export async function runNeonTest(env: Env, a: PlanAsset, now = new Date()): Promise<RestoreTestResult> {
  const neon = env.BACKUP_PLAN.neon;
  const asset = `${a.kind}/${a.name}`;
  const rtoTargetSeconds = a.rtoMinutes !== undefined ? a.rtoMinutes * 60 : null;
  const base = { asset, backupId: null, restoredCount: 0, manifestCount: null, countMatches: null, digestMatches: null, startedAt: now.toISOString(), steps: 1, ...(env.WORKER_VERSION ? { workerVersion: env.WORKER_VERSION } : {}) };
  if (!neon || !env.NEON_API_KEY) {
    const error = `the Worker has no ${!neon ? "Neon target in its plan" : "NEON_API_KEY binding"}; the Neon restore test cannot run`;
    return { ...base, passed: false, sourcePointInTime: null, seconds: 0, rtoTargetSeconds, integrity: [], error, finishedAt: new Date().toISOString() };
  }
  // Only the local world binds this: it points the HTTP driver at the Neon stand-in.
  if (typeof env.NEON_SQL_ENDPOINT === "string") neonConfig.fetchEndpoint = env.NEON_SQL_ENDPOINT;
  const r = await runNeonRestoreTest({ neon, apiKey: env.NEON_API_KEY, asset: a, checks: declaredChecks(env, a), now });
  const judged = { ...base, sourcePointInTime: r.pointInTime, pointInTime: r.pointInTime, branchId: r.branchId, seconds: r.seconds, rtoTargetSeconds, integrity: r.integrity, finishedAt: new Date().toISOString() };
  const why = failureOf(judged, r.error);
  return { ...judged, passed: why === null, ...(why ? { error: why } : {}) };
}
