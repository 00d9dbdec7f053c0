/**
 * Sends alerts to every configured destination: the webhook (generic, Slack or PagerDuty
 * format) and the SNS topic (email subscribers). A delivery failure is rethrown after the
 * others were tried, so the invocation fails visibly; an alert is never dropped quietly.
 */
import { AwsClient } from "aws4fetch";
import { AlertDeliveryError, deliverWebhook, summaryLine, type AlertEvent } from "../lib/alerts/alerts";
import type { Env } from "./env";

async function publishSns(env: Env, e: AlertEvent): Promise<void> {
  const sns = env.BACKUP_PLAN.alerts.sns;
  if (!sns || !env.SNS_ACCESS_KEY_ID || !env.SNS_SECRET_ACCESS_KEY) return;
  const aws = new AwsClient({ accessKeyId: env.SNS_ACCESS_KEY_ID, secretAccessKey: env.SNS_SECRET_ACCESS_KEY, service: "sns", region: sns.region });
  const body = new URLSearchParams({
    Action: "Publish",
    Version: "2010-03-31",
    TopicArn: sns.topicArn,
    Subject: `drposture ${e.kind}: ${e.asset}`.slice(0, 99),
    Message: `${summaryLine(e)}\n\n${JSON.stringify(e, null, 2)}`,
  });
  const res = await aws.fetch(`https://sns.${sns.region}.amazonaws.com/`, { method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded" } });
  if (!res.ok) throw new AlertDeliveryError(`SNS publish failed: HTTP ${res.status}`);
}

export async function sendAlerts(env: Env, events: readonly AlertEvent[]): Promise<void> {
  const failures: string[] = [];
  for (const e of events) {
    // Always in the Worker's logs, whatever else happens.
    console.error(`drposture alert: ${summaryLine(e)}`);
    if (env.ALERT_WEBHOOK_URL) {
      await deliverWebhook(env.ALERT_WEBHOOK_URL, env.BACKUP_PLAN.alerts.webhookFormat, e).catch((err: Error) => failures.push(err.message));
    }
    await publishSns(env, e).catch((err: Error) => failures.push(err.message));
  }
  if (!env.ALERT_WEBHOOK_URL && !env.BACKUP_PLAN.alerts.sns && events.length) failures.push("no alert destination is configured");
  if (failures.length) throw new AlertDeliveryError(`alert delivery failed: ${failures.join("; ")}`);
}
