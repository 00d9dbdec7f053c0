/**
 * Neon check, on the Neon asset's schedule: the project's restore window still meets the
 * target (drift raises an alert), and a snapshot of the production branch exists for the
 * current period, taking one if Neon's schedule did not. Talks to Neon's API v2 with fetch.
 */
import type { AlertEvent } from "../../lib/alerts/alerts";
import type { BackupPlan } from "../../lib/backup/plan";
import { STATE_PREFIX } from "../../lib/format/layout";
import type { BackupStorage } from "../../lib/storage/types";

export interface NeonCheckResult {
  readonly restoreWindowDays: number;
  readonly latestSnapshot: string | null;
  readonly tookSnapshot: boolean;
  readonly alerts: Array<Pick<AlertEvent, "kind" | "severity" | "error">>;
}

/** A snapshot newer than this counts as "today's"; Neon's schedule runs daily. */
const SNAPSHOT_MAX_AGE_HOURS = 26;

async function neon<T>(plan: BackupPlan, apiKey: string, path: string, init: RequestInit = {}): Promise<T> {
  const url = `${plan.neon?.apiUrl.replace(/\/$/, "")}${path}`;
  const res = await fetch(url, { ...init, headers: { authorization: `Bearer ${apiKey}`, accept: "application/json", "content-type": "application/json" } });
  const text = await res.text();
  if (!res.ok) throw new Error(`Neon API ${init.method ?? "GET"} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text) as T;
}

export async function checkNeon(plan: BackupPlan, apiKey: string | undefined, storage: BackupStorage, now: Date): Promise<NeonCheckResult> {
  const cfg = plan.neon;
  if (!cfg) return { restoreWindowDays: 0, latestSnapshot: null, tookSnapshot: false, alerts: [] };
  if (!apiKey) {
    return { restoreWindowDays: 0, latestSnapshot: null, tookSnapshot: false, alerts: [{ kind: "neon-window-drift", severity: "critical", error: "NEON_API_KEY is not bound; Neon cannot be checked" }] };
  }
  const alerts: NeonCheckResult["alerts"] = [];
  const { project } = await neon<{ project: { history_retention_seconds: number } }>(plan, apiKey, `/projects/${cfg.projectId}`);
  const days = project.history_retention_seconds / 86_400;
  if (days < cfg.restoreWindowDays) {
    alerts.push({
      kind: "neon-window-drift",
      severity: "critical",
      error: `Neon restore window is ${days} days, below the declared ${cfg.restoreWindowDays}; run pulumi up to re-apply it or find who changed it`,
    });
  }
  const { snapshots } = await neon<{ snapshots: Array<{ id: string; created_at: string; source_branch_id?: string }> }>(plan, apiKey, `/projects/${cfg.projectId}/snapshots`);
  const ours = snapshots.filter((s) => !s.source_branch_id || s.source_branch_id === cfg.branchId).sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  let latest = ours[0]?.created_at ?? null;
  let took = false;
  if (!latest || now.getTime() - Date.parse(latest) > SNAPSHOT_MAX_AGE_HOURS * 3_600_000) {
    try {
      const name = `drposture-${now.toISOString().slice(0, 10)}`;
      const r = await neon<{ snapshot: { created_at: string } }>(plan, apiKey, `/projects/${cfg.projectId}/branches/${cfg.branchId}/snapshot?name=${encodeURIComponent(name)}`, { method: "POST" });
      latest = r.snapshot.created_at;
      took = true;
    } catch (err) {
      alerts.push({ kind: "neon-snapshot-failed", severity: "critical", error: `no snapshot in ${SNAPSHOT_MAX_AGE_HOURS} h and taking one failed: ${(err as Error).message}` });
    }
  }
  const result = { restoreWindowDays: days, latestSnapshot: latest, tookSnapshot: took, alerts };
  await storage.put(`${STATE_PREFIX}neon/${cfg.projectId}.json`, JSON.stringify({ checkedAt: now.toISOString(), ...result }), { contentType: "application/json" });
  return result;
}
