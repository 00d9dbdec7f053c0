/**
 * What the authenticated trigger routes do: start one backup of an asset now (the same
 * BackupRunner.start the cron path calls, so the backup is an ordinary one: same tier choice,
 * same steps on the queue, manifest last) and tell where a backup is.
 */
import { readManifest } from "../../lib/backup/catalog";
import type { PlanAsset } from "../../lib/backup/plan";
import { importMasterKey } from "../../lib/format/keys";
import { manifestKey } from "../../lib/format/layout";
import { ManifestError, verifyManifest } from "../../lib/format/manifest";
import type { StatusResponse } from "../../lib/trigger/protocol";
import { sendAlerts } from "../alerting";
import { destinations } from "../engine/destinations";
import { BackupRunner } from "../engine/runner";
import type { Env, StepMessage } from "../env";
import { failure } from "../handlers";
import { alreadyHonoured, markHonoured } from "./replay";
import { json, refuse } from "./responses";

const idOf = (a: PlanAsset) => `${a.kind}/${a.name}`;

/** The running job, unless it has been idle past the plan's abandon time (start() then fails it loudly). */
async function liveJob(env: Env, runner: BackupRunner, a: PlanAsset): Promise<{ backupId: string } | null> {
  const job = await runner.activeJob(a).catch(() => null);
  if (!job) return null;
  const idle = Date.now() - new Date(job.updatedAt).getTime();
  return idle < env.BACKUP_PLAN.abandonAfterMinutes * 60_000 ? job : null;
}

/** POST /v1/backups: 202 with the new backup's id; 409 when a job runs or the request was used. */
export async function startBackup(env: Env, a: PlanAsset, timestamp: number): Promise<Response> {
  const storage = destinations(env).r2;
  const master = await importMasterKey(env.ENCRYPTION_KEY);
  if (await alreadyHonoured(storage, master, a, timestamp)) return refuse(409, "not newer than the last start honoured for this asset: a replay, or the signer's clock is behind", { code: "replayed" });
  let started: StepMessage | undefined;
  const runner = new BackupRunner(env, {
    enqueue: async (msg) => {
      started = msg;
      await env.BACKUP_QUEUE.send(msg);
    },
  });
  const running = await liveJob(env, runner, a);
  if (running) return refuse(409, `a backup of ${idOf(a)} is already running`, { code: "running", backupId: running.backupId });
  await markHonoured(storage, master, a, timestamp);
  try {
    const outcome = await runner.start(a);
    if (outcome === "skipped" || !started) {
      // Another start (a cron run) got in between: that job is the one running.
      const job = await runner.activeJob(a).catch(() => null);
      return refuse(409, `a backup of ${idOf(a)} is already running`, { code: "running", ...(job ? { backupId: job.backupId } : {}) });
    }
  } catch (err) {
    // As on the cron path: the job never reached the queue, drop it and alert.
    await runner.discard(a);
    const message = err instanceof Error ? err.message : String(err);
    await sendAlerts(env, [await failure(env, a, err)]).catch((e: Error) => console.error(`drposture: alert delivery failed: ${e.message}`));
    return refuse(500, `the backup of ${idOf(a)} did not start: ${message}`, { code: "start-failed" });
  }
  return json(202, { state: "running", asset: idOf(a), backupId: started.backupId });
}

/** The verified manifest of `backupId` in any tier, or why the object at its key is not one. */
async function committed(env: Env, a: PlanAsset, backupId: string): Promise<{ tier: string; key: string } | { error: string } | null> {
  const storage = destinations(env).r2;
  const master = await importMasterKey(env.ENCRYPTION_KEY);
  for (const t of env.BACKUP_PLAN.tiers) {
    const key = manifestKey(t.tier, a, backupId);
    try {
      const m = await readManifest(storage, key);
      if (!m) continue;
      await verifyManifest(master, m, `${storage.label}/${key}`, key);
      if (m.backupId !== backupId) return { error: "the manifest at its key names another backup" };
      return { tier: t.tier, key };
    } catch (err) {
      if (err instanceof ManifestError) return { error: "the object at its manifest key does not verify" };
      throw err;
    }
  }
  return null;
}

/** GET /v1/backups/status: committed (manifest verifies), running (its job is on) or failed. */
export async function backupStatus(env: Env, a: PlanAsset, backupId: string): Promise<Response> {
  const base = { asset: idOf(a), backupId };
  const runner = new BackupRunner(env);
  const answer = (s: StatusResponse) => json(200, s);
  const first = await committed(env, a, backupId);
  const job = await runner.activeJob(a).catch(() => null);
  const mine = job?.backupId === backupId ? job : null;
  // Read again after the job: a commit between the two reads must not look like a failure.
  const manifest = first ?? (mine ? null : await committed(env, a, backupId));
  if (manifest && "error" in manifest) return answer({ state: "failed", ...base, error: manifest.error });
  if (manifest) return answer({ state: "committed", ...base, tier: manifest.tier, manifestKey: manifest.key, replicating: mine?.phase === "replicate" });
  if (mine) return answer({ state: "running", ...base, phase: mine.phase });
  return answer({ state: "failed", ...base, error: "no job is running and no manifest was committed under this id (see the backup-failed alert)" });
}
