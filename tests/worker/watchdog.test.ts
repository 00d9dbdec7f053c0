/**
 * Watchdog and alerts in workerd: staleness against each asset's RPO, a sampled backup that no
 * longer decrypts, a backup missing from S3 (replication lag, then re-copied), and the three
 * webhook formats as a receiver gets them; an undeliverable alert fails loudly.
 */
import { env, reset } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { AlertDeliveryError, type AlertEvent } from "../../lib/alerts/alerts";
import { objectExists } from "../../lib/backup/catalog";
import { readAll } from "../../lib/storage/types";
import { sendAlerts } from "../../worker/alerting";
import { BackupRunner } from "../../worker/engine/runner";
import { destinations } from "../../worker/engine/destinations";
import { runWatchdog } from "../../worker/watchdog";
import type { Env, StepMessage } from "../../worker/env";
import { backupNow, drain, invocation, latest, master, r2, s3, testEnv } from "./helpers";
import { seedSessions } from "./seeds";

const T0 = new Date("2026-11-20T10:00:00Z");
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

/** The watchdog's findings for one asset; a copy it queues is run to the end. */
async function findingsFor(asset: string, now: Date, sample?: string) {
  const e = testEnv();
  const queue: StepMessage[] = [];
  const runnerIn = (env: Env) => new BackupRunner(env, { enqueue: async (m) => void queue.push(m) });
  const all = await invocation(e, "scheduled", async (limited) => runWatchdog(limited.BACKUP_PLAN, destinations(limited), await master(), { now, ...(sample ? { sample } : {}), replicate: (m, k) => runnerIn(limited).scheduleReplication(m, k) }));
  await drain(e, queue, runnerIn);
  return all.filter((f) => f.asset === asset);
}

describe("watchdog", () => {
  beforeEach(async () => {
    await reset();
    await seedSessions(env.KV_SESSIONS, 20);
    await backupNow(testEnv(), "kv/sessions", { now: () => T0 });
  });

  it("is quiet while the newest backup is within RPO + grace, and fires once it is older", async () => {
    expect(await findingsFor("kv/sessions", minutes(19))).toEqual([]);
    const stale = await findingsFor("kv/sessions", minutes(21)); // RPO 15 + grace 5
    expect(stale).toEqual([
      { kind: "backup-stale", severity: "critical", asset: "kv/sessions", error: "newest backup is 21 min old; RPO is 15 min", lastGoodBackup: T0.toISOString() },
    ]);
  });

  it("fires when the sampled backup no longer decrypts", async () => {
    const { manifest } = await latest(testEnv(), "kv/sessions");
    const victim = manifest.artifacts[0]?.key as string;
    const bytes = await readAll((await env.BACKUP_R2.get(victim))!.body as ReadableStream<Uint8Array>);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] as number) ^ 0xff;
    await env.BACKUP_R2.put(victim, bytes);
    const f = await findingsFor("kv/sessions", minutes(1), "kv/sessions");
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ kind: "verification-failed", asset: "kv/sessions" });
    expect(f[0]?.error).toMatch(/failed authentication|SHA-256 differs/);
  });

  it("reports a backup missing from S3 after the allowed lag and copies it again", async () => {
    const { key } = await latest(testEnv(), "kv/sessions");
    // Only the account root can hide it (a delete marker; the locked versions stay): the copy
    // now looks as if it never arrived.
    await s3("s3Root").delete(key);
    expect(await objectExists(s3(), key)).toBeNull();
    expect(await findingsFor("kv/sessions", minutes(10))).toEqual([]); // within the 120 min lag
    const f = await findingsFor("kv/sessions", minutes(125));
    expect(f.map((x) => x.kind)).toEqual(["backup-stale", "replication-lag"]);
    expect(await objectExists(s3(), key)).not.toBeNull();
  });
});

describe("alert delivery", () => {
  const event: AlertEvent = {
    kind: "backup-failed",
    severity: "critical",
    stack: "test",
    asset: "d1/app-db",
    error: "D1_ERROR: database is locked",
    lastGoodBackup: "2026-11-20T09:00:00.000Z",
    at: "2026-11-20T10:00:00.000Z",
  };
  const receiver = () => inject("alertReceiver");
  const received = async () => (await (await fetch(`${receiver()}/received`)).json()) as Array<{ path: string; body: any }>;
  beforeEach(async () => void (await fetch(`${receiver()}/received`, { method: "DELETE" })));
  afterEach(async () => void (await fetch(`${receiver()}/received`, { method: "DELETE" })));

  it("sends the generic JSON format", async () => {
    await sendAlerts(testEnv({ env: { ALERT_WEBHOOK_URL: `${receiver()}/generic` } }), [event]);
    const [r] = await received();
    expect(r?.path).toBe("/generic");
    expect(r?.body).toEqual({ source: "drposture", ...event });
  });

  it("sends a Slack-compatible message", async () => {
    const e = testEnv({ env: { ALERT_WEBHOOK_URL: `${receiver()}/slack` }, plan: { alerts: { ...env.BACKUP_PLAN.alerts, webhookFormat: "slack" } } });
    await sendAlerts(e, [event]);
    const [r] = await received();
    expect(r?.body.text).toContain("backup-failed d1/app-db: D1_ERROR: database is locked (last good backup: 2026-11-20T09:00:00.000Z)");
    expect(r?.body.blocks[0]).toEqual({ type: "header", text: { type: "plain_text", text: "backup-failed: d1/app-db" } });
  });

  it("sends a Discord message: content only, mentions off", async () => {
    const e = testEnv({ env: { ALERT_WEBHOOK_URL: `${receiver()}/discord` }, plan: { alerts: { ...env.BACKUP_PLAN.alerts, webhookFormat: "discord" } } });
    await sendAlerts(e, [event]);
    const [r] = await received();
    expect(r?.body).toEqual({ content: expect.stringContaining("backup-failed d1/app-db: D1_ERROR: database is locked"), allowed_mentions: { parse: [] } });
  });

  it("sends a PagerDuty Events v2 trigger with the routing key from the URL", async () => {
    const e = testEnv({ env: { ALERT_WEBHOOK_URL: `${receiver()}/v2/enqueue?routing_key=R0UT1NG` }, plan: { alerts: { ...env.BACKUP_PLAN.alerts, webhookFormat: "pagerduty" } } });
    await sendAlerts(e, [event]);
    const [r] = await received();
    expect(r?.path).toBe("/v2/enqueue");
    expect(r?.body).toMatchObject({
      routing_key: "R0UT1NG",
      event_action: "trigger",
      dedup_key: "drposture/test/backup-failed/d1/app-db",
      payload: { severity: "critical", source: "drposture/test", timestamp: event.at, custom_details: { last_good_backup: event.lastGoodBackup } },
    });
  });

  it("retries a failing receiver, and fails loudly when it keeps failing", async () => {
    await fetch(`${receiver()}/fail-next?n=1`, { method: "POST" });
    await sendAlerts(testEnv(), [event]);
    expect(await received()).toHaveLength(1);
    await fetch(`${receiver()}/fail-next?n=10`, { method: "POST" });
    await expect(sendAlerts(testEnv(), [event])).rejects.toBeInstanceOf(AlertDeliveryError);
    await fetch(`${receiver()}/fail-next?n=0`, { method: "POST" });
  });
});
