/**
 * The drill's `backup now`: after the scheduled backups, one asset is backed up on demand the
 * way `drposture backup now` does it (the same client, lib/trigger/), signed with the trigger
 * key, against the local Worker's HTTP port. It must commit a new backup, copied to S3 like
 * any other, and the restore that follows then starts from it.
 */
import type { AssetRef } from "../format/layout";
import { throwIfInterrupted } from "../process/cleanup";
import { backupNow } from "../trigger/backupNow";
import { TriggerClient } from "../trigger/client";
import type { DrillEnvironment } from "./environment";

export interface DrillBackupNow {
  readonly asset: string;
  readonly backupId: string | null;
  readonly seconds: number;
  /** A new backup's manifest was committed (and verified by the Worker) and copied to S3. */
  readonly committed: boolean;
  readonly error: string | null;
}

/** D1 first (the example the runbook gives), else the first Worker-backed asset. */
export function backupNowAsset(env: DrillEnvironment): AssetRef | undefined {
  const worker = env.assets.filter((a) => a.kind !== "neon");
  return worker.find((a) => a.kind === "d1") ?? worker[0];
}

export async function drillBackupNow(env: DrillEnvironment, a: AssetRef): Promise<DrillBackupNow> {
  const asset = `${a.kind}/${a.name}`;
  const url = env.worker.url;
  if (!url) return { asset, backupId: null, seconds: 0, committed: false, error: "the local Worker serves no HTTP port" };
  const began = performance.now();
  const before = (await env.worker.waitForBackup(a, null)).latest.backupId;
  try {
    const r = await backupNow(new TriggerClient(url, env.triggerKeyHex), asset, { timeoutMs: 120_000, checkInterrupted: throwIfInterrupted });
    if (r.outcome !== "committed") {
      const why = r.outcome === "failed" ? r.error : r.outcome === "timeout" ? "not committed within 2 minutes" : r.outcome;
      return { asset, backupId: r.backupId ?? null, seconds: r.seconds, committed: false, error: why };
    }
    // Committed on R2; the job ends once it is copied to S3, where the restore reads.
    const latest = await env.worker.waitForBackup(a, before);
    const same = latest.latest.backupId === r.backupId;
    return { asset, backupId: r.backupId, seconds: (performance.now() - began) / 1000, committed: same, error: same ? null : `the newest backup is ${latest.latest.backupId}, not ${r.backupId}` };
  } catch (err) {
    throwIfInterrupted();
    return { asset, backupId: null, seconds: (performance.now() - began) / 1000, committed: false, error: (err as Error).message };
  }
}
