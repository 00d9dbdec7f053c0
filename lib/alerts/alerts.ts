/**
 * Alerts: one event shape, four wire formats (generic JSON, Slack-compatible, Discord, PagerDuty
 * Events API v2), delivery with retries. A delivery that still fails throws: the caller
 * must fail loudly, never drop an alert.
 */
export type AlertKind =
  | "backup-failed"
  | "backup-stale"
  | "backup-abandoned"
  | "verification-failed"
  | "replication-lag"
  | "replication-failed"
  | "neon-window-drift"
  | "neon-snapshot-failed"
  | "restore-test-failed"
  | "restore-test-stale"
  | "backup-slow"
  | "backup-shrank";

export interface AlertEvent {
  readonly kind: AlertKind;
  readonly severity: "critical" | "warning";
  readonly stack: string;
  /** "kind/name" of the asset concerned. */
  readonly asset: string;
  /** What went wrong, for a person. */
  readonly error: string;
  /** Source point in time of the newest good backup, or null if there is none. */
  readonly lastGoodBackup: string | null;
  readonly at: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export type WebhookFormat = "generic" | "slack" | "discord" | "pagerduty";

export function summaryLine(e: AlertEvent): string {
  return `[${e.stack}] ${e.kind} ${e.asset}: ${e.error} (last good backup: ${e.lastGoodBackup ?? "none"})`;
}

export function formatGeneric(e: AlertEvent): Record<string, unknown> {
  return { source: "drposture", ...e };
}

export function formatSlack(e: AlertEvent): Record<string, unknown> {
  const icon = e.severity === "critical" ? ":rotating_light:" : ":warning:";
  return {
    text: `${icon} ${summaryLine(e)}`,
    blocks: [
      { type: "header", text: { type: "plain_text", text: `${e.kind}: ${e.asset}` } },
      {
        type: "section",
        fields: [
          { type: "mrkdwn", text: `*Stack*\n${e.stack}` },
          { type: "mrkdwn", text: `*Severity*\n${e.severity}` },
          { type: "mrkdwn", text: `*Last good backup*\n${e.lastGoodBackup ?? "none"}` },
          { type: "mrkdwn", text: `*At*\n${e.at}` },
        ],
      },
      { type: "section", text: { type: "mrkdwn", text: `*Error*\n\`\`\`${e.error}\`\`\`` } },
    ],
  };
}

/** Discord's execute-webhook body: `content` up to 2,000 characters
 * (https://discord.com/developers/docs/resources/webhook#execute-webhook). */
export function formatDiscord(e: AlertEvent): Record<string, unknown> {
  const icon = e.severity === "critical" ? ":rotating_light:" : ":warning:";
  return { content: `${icon} ${summaryLine(e)}`.slice(0, 2000), allowed_mentions: { parse: [] } };
}

/** PagerDuty Events v2. The routing key travels in the webhook URL's `routing_key` query
 * parameter; the event is sent to the URL without it. */
export function formatPagerDuty(e: AlertEvent, routingKey: string): Record<string, unknown> {
  return {
    routing_key: routingKey,
    event_action: "trigger",
    // One open incident per stack, kind and asset: repeats update it instead of paging again.
    dedup_key: `drposture/${e.stack}/${e.kind}/${e.asset}`,
    payload: {
      summary: summaryLine(e).slice(0, 1024),
      source: `drposture/${e.stack}`,
      severity: e.severity === "critical" ? "critical" : "warning",
      timestamp: e.at,
      component: e.asset,
      group: e.stack,
      class: e.kind,
      custom_details: { error: e.error, last_good_backup: e.lastGoodBackup, ...(e.details ?? {}) },
    },
  };
}

export function webhookRequest(url: string, format: WebhookFormat, e: AlertEvent): { url: string; body: string } {
  if (format === "pagerduty") {
    const u = new URL(url);
    const key = u.searchParams.get("routing_key");
    if (!key) throw new Error("PagerDuty alert URL needs a routing_key query parameter");
    u.searchParams.delete("routing_key");
    return { url: u.toString(), body: JSON.stringify(formatPagerDuty(e, key)) };
  }
  const body = format === "slack" ? formatSlack(e) : format === "discord" ? formatDiscord(e) : formatGeneric(e);
  return { url, body: JSON.stringify(body) };
}

export class AlertDeliveryError extends Error {}

/** Posts an alert, retrying transient failures. Throws AlertDeliveryError when it cannot. */
export async function deliverWebhook(
  url: string,
  format: WebhookFormat,
  e: AlertEvent,
  fetcher: typeof fetch = fetch,
  attempts = 3,
): Promise<void> {
  const req = webhookRequest(url, format, e);
  let last = "";
  for (let i = 0; i < attempts; i++) {
    try {
      const res = await fetcher(req.url, { method: "POST", headers: { "content-type": "application/json" }, body: req.body });
      await res.body?.cancel();
      if (res.ok) return;
      last = `HTTP ${res.status}`;
      if (res.status >= 400 && res.status < 500 && res.status !== 429) break;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 200 * 2 ** i));
  }
  throw new AlertDeliveryError(`alert ${e.kind} for ${e.asset} could not be delivered to the webhook: ${last}`);
}
