/**
 * What the backup Worker's handlers do (worker/index.ts only wires them up: a Worker's main
 * module may export nothing but handlers).
 *   scheduled: starts the backups whose cron fired (each continues on the queue, one step per
 *              invocation), runs the Neon check when due, starts the restore test whose turn
 *              it is (restore-test cron), then the watchdog; sends alerts.
 *   queue:     runs one step of a backup or of a restore test; retries a failed step, alerts
 *              when retries run out.
 * Alert delivery failures make the invocation fail, so they show in Cloudflare's logs too.
 */
import { readLatest } from "../lib/backup/catalog";
import type { PlanAsset } from "../lib/backup/plan";
import type { AlertEvent } from "../lib/alerts/alerts";
import { importMasterKey } from "../lib/format/keys";
import { destinations } from "./engine/destinations";
import { BackupRunner, findAsset, ReplicationError } from "./engine/runner";
import type { Env, StepMessage } from "./env";
import { checkNeon } from "./jobs/neon";
import { runWatchdog, type Finding } from "./watchdog";
import { runDueRestoreTest, runRestoreTestStep } from "./restoreTest/handlers";

/** Attempts per step before the backup is declared failed (matches the queue's max_retries). */
export const MAX_STEP_ATTEMPTS = 3;

function event(env: Env, f: Finding): AlertEvent {
  return { ...f, stack: env.BACKUP_PLAN.stack, at: new Date().toISOString() };
}

async function lastGood(env: Env, a: PlanAsset): Promise<string | null> {
  const p = await readLatest(destinations(env).r2, await importMasterKey(env.ENCRYPTION_KEY), a).catch(() => null);
  return p?.latest.sourcePointInTime ?? null;
}

/** The alert of a backup that could not start or run (cron, queue and trigger paths alike). */
export async function failure(env: Env, a: PlanAsset, err: unknown): Promise<AlertEvent> {
  const replication = err instanceof ReplicationError;
  return event(env, {
    kind: replication ? "replication-failed" : "backup-failed",
    severity: "critical",
    asset: `${a.kind}/${a.name}`,
    error: err instanceof Error ? err.message : String(err),
    lastGoodBackup: await lastGood(env, a),
  });
}

/** `scheduledTime` (ms since the epoch, as Cloudflare passes it) picks whose restore test is due;
 * `afterDelivery` collects what to do once the returned alerts are delivered. */
export async function runScheduled(env: Env, cron: string, now = new Date(), scheduledTime = now.getTime(), afterDelivery?: Array<() => Promise<void>>): Promise<AlertEvent[]> {
  const plan = env.BACKUP_PLAN;
  const runner = new BackupRunner(env);
  const alerts: AlertEvent[] = [];
  if (plan.restoreTesting?.cron === cron) alerts.push(...(await runDueRestoreTest(env, scheduledTime)));
  for (const asset of plan.assets.filter((a) => a.cron === cron)) {
    if (asset.kind === "neon") {
      try {
        const r = await checkNeon(plan, env.NEON_API_KEY, destinations(env).r2, now);
        for (const a of r.alerts) alerts.push(event(env, { ...a, asset: `neon/${asset.name}`, lastGoodBackup: r.latestSnapshot }));
      } catch (err) {
        alerts.push(await failure(env, asset, err));
      }
      continue;
    }
    try {
      await runner.start(asset);
    } catch (err) {
      // The job never reached the queue: drop its state so the next cron run starts clean.
      await runner.discard(asset);
      alerts.push(await failure(env, asset, err));
    }
  }
  const master = await importMasterKey(env.ENCRYPTION_KEY);
  const findings = await runWatchdog(plan, destinations(env), master, { now, replicate: (m, key) => runner.scheduleReplication(m, key), ...(afterDelivery ? { afterDelivery } : {}) });
  alerts.push(...findings.map((f) => event(env, f)));
  return alerts;
}

export async function runQueue(env: Env, batch: MessageBatch<StepMessage>): Promise<AlertEvent[]> {
  const runner = new BackupRunner(env);
  const alerts: AlertEvent[] = [];
  for (const msg of batch.messages) {
    const asset = findAsset(env.BACKUP_PLAN, msg.body.asset);
    if (msg.body.purpose === "restore-test") {
      alerts.push(...(await runRestoreTestStep(env, asset, msg)));
      continue;
    }
    try {
      await runner.continue(msg.body);
      msg.ack();
    } catch (err) {
      if (msg.attempts < MAX_STEP_ATTEMPTS) {
        console.error(`drposture: step ${msg.body.step} of ${msg.body.asset} failed (attempt ${msg.attempts}), retrying: ${(err as Error).message}`);
        msg.retry({ delaySeconds: 10 * msg.attempts });
      } else {
        // A failed copy to S3 leaves the committed R2 backup standing: a replication failure.
        const replicating = err instanceof ReplicationError || (await runner.replicating(asset));
        msg.ack();
        if (!(await runner.discard(asset, msg.body.backupId))) {
          // Its backup was dropped (and alerted) already, or another one runs now.
          console.error(`drposture: a late message of backup ${msg.body.backupId} of ${msg.body.asset} failed after that backup ended: ${(err as Error).message}`);
          continue;
        }
        alerts.push(await failure(env, asset, replicating && !(err instanceof ReplicationError) ? new ReplicationError((err as Error).message) : err));
      }
    }
  }
  return alerts;
}
