/**
 * The plan for a backup Worker run on this machine (drill, tests, benchmarks): the same
 * timings and step limits as a deployed Worker (components/BackupWorker.ts), generic webhook
 * alerts, and whatever assets, destinations and tiers the caller gives.
 */
import { DEFAULT_LIMITS, PLAN_VERSION, type BackupPlan } from "../backup/plan";
import { ABANDON_AFTER_MINUTES, REPLICATION_LAG_MINUTES, STALE_GRACE_MINUTES } from "../posture/model";

/** Tiers of a local run without a stack: 7 days, 4 weeks, 3 months. */
export const LOCAL_TIERS: BackupPlan["tiers"] = [
  { tier: "daily", prefix: "daily/", retentionDays: 7 },
  { tier: "weekly", prefix: "weekly/", retentionDays: 28 },
  { tier: "monthly", prefix: "monthly/", retentionDays: 93 },
];

export function localPlan(o: Pick<BackupPlan, "stack" | "assets" | "destinations"> & Partial<Pick<BackupPlan, "environment" | "tiers" | "limits">>): BackupPlan {
  return {
    version: PLAN_VERSION,
    environment: "dev",
    tiers: LOCAL_TIERS,
    limits: DEFAULT_LIMITS,
    ...o,
    alerts: { webhookFormat: "generic", staleGraceMinutes: STALE_GRACE_MINUTES, replicationLagMinutes: REPLICATION_LAG_MINUTES },
    abandonAfterMinutes: ABANDON_AFTER_MINUTES,
  };
}
