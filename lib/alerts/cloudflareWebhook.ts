/**
 * The Cloudflare notification webhook destination for an alert URL. Cloudflare keeps the
 * secret of a Slack or Discord URL apart from the URL: given the whole URL it strips the last
 * segment into `secret`, so the URL Pulumi reads back never matches the one it sent (a diff on
 * every preview). Through the API the secret must be passed explicitly (cloudflare-docs PR
 * #10832, "Configure webhooks": `url = https://hooks.slack.com/services/T00000000/B00000000`,
 * `secret = <secret>`). A PagerDuty Events URL is not a webhook Cloudflare can use: Cloudflare
 * sends a test POST on create and update that must be answered 2xx, and that POST is not an
 * Events API v2 event (PagerDuty answers 400); Cloudflare's own PagerDuty destination
 * (connected in the dashboard) is the way there.
 */
import type { WebhookFormat } from "./alerts";

export interface CloudflareWebhookDestination {
  readonly url: string;
  readonly secret?: string;
}

const SPLIT_HOSTS: Partial<Record<WebhookFormat, { hosts: RegExp; path: RegExp; example: string }>> = {
  // https://hooks.slack.com/services/T…/B…/<secret>
  slack: { hosts: /^hooks\.slack\.com$/, path: /^\/services\/[^/]+\/[^/]+\/[^/]+$/, example: "https://hooks.slack.com/services/T…/B…/SECRET" },
  // https://discord.com/api/webhooks/<id>/<token>
  discord: { hosts: /^(?:discord\.com|discordapp\.com|ptb\.discord\.com|canary\.discord\.com)$/, path: /^\/api\/webhooks\/\d+\/[^/]+$/, example: "https://discord.com/api/webhooks/ID/TOKEN" },
};

export class WebhookUrlError extends Error {
  override readonly name = "WebhookUrlError";
}

export function cloudflareWebhookDestination(url: string, format: WebhookFormat): CloudflareWebhookDestination {
  if (format === "pagerduty") {
    throw new WebhookUrlError("a PagerDuty Events URL cannot be a Cloudflare notification webhook (Cloudflare's test POST is refused); set drposture:alerts.cloudflarePagerDutyId to a PagerDuty destination connected in the Cloudflare dashboard instead");
  }
  const rule = SPLIT_HOSTS[format];
  if (!rule) return { url };
  const u = new URL(url);
  if (!rule.hosts.test(u.hostname) || !rule.path.test(u.pathname) || u.search) {
    throw new WebhookUrlError(`alertWebhookUrl is not a ${format} incoming-webhook URL (expected ${rule.example}); set drposture:alerts.webhookFormat to match the URL`);
  }
  const cut = u.pathname.lastIndexOf("/");
  return { url: `${u.origin}${u.pathname.slice(0, cut)}`, secret: decodeURIComponent(u.pathname.slice(cut + 1)) };
}
