/**
 * Where Cloudflare's own incident notifications go, as AlertRules declares them under mocks.
 * Cloudflare facts (issue #8): webhook destinations need a Pro-or-higher zone (the API marks
 * them free: false), so the webhook is opt-in; a Slack or Discord URL's secret is passed apart
 * (cloudflare-docs PR #10832: `url = https://hooks.slack.com/services/T00000000/B00000000`,
 * `secret = <secret>`) or the read-back URL differs on every preview; a PagerDuty Events URL
 * fails Cloudflare's test POST, so PagerDuty goes through Cloudflare's PagerDuty destination.
 */
import { describe, expect, it } from "vitest";
import { AlertRules, type AlertRulesArgs } from "../../components/AlertRules";
import { cloudflareWebhookDestination, WebhookUrlError } from "../../lib/alerts/cloudflareWebhook";
import { runProgramWithMocks } from "../../lib/pulumi/runProgram";
import { ofType, unwrapSecret } from "../helpers/program";

const SLACK = "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/xoxsecretXYZ123";
const DISCORD = "https://discord.com/api/webhooks/123456789012345678/tok_en-SECRET";

async function declare(over: Partial<AlertRulesArgs>) {
  const args: AlertRulesArgs = {
    accountId: "4b3f2f0e9c1d4a7e8f6a5b4c3d2e1f09",
    namePrefix: "drp-test",
    region: "eu-central-1",
    emails: [],
    webhookFormat: "generic",
    cloudflareWebhook: false,
    s3BucketName: "drp-test-bucket",
    staleness: [{ assetId: "kv/sessions", rpoMinutes: 15 }],
    ...over,
  };
  const cfg = { project: "dr-posture", stack: "test", config: {}, secretKeys: [] };
  const run = await runProgramWithMocks(cfg, async () => void new AlertRules("alerts", args));
  const r = run.mocks.resources;
  return {
    hooks: ofType(r, "cloudflare:index/notificationPolicyWebhooks:NotificationPolicyWebhooks"),
    policies: ofType(r, "cloudflare:index/notificationPolicy:NotificationPolicy"),
  };
}

describe("Cloudflare incident notifications", () => {
  it("declare no Cloudflare webhook unless asked: the Worker's own alerts still use the URL", async () => {
    const { hooks, policies } = await declare({ webhookUrl: SLACK, webhookFormat: "slack", emails: ["oncall@example.com"] });
    expect(hooks).toEqual([]);
    // Emails are a Cloudflare mechanism on every plan: incidents still reach someone.
    expect(policies).toHaveLength(1);
    expect(policies[0]?.inputs.mechanisms).toEqual({ emails: [{ id: "oncall@example.com" }] });
  });

  it("split a Slack URL into url + secret, both secret, when the webhook is asked for", async () => {
    const { hooks, policies } = await declare({ webhookUrl: SLACK, webhookFormat: "slack", cloudflareWebhook: true });
    expect(hooks).toHaveLength(1);
    const hook = hooks[0]!;
    expect(unwrapSecret(hook.inputs.url)).toEqual({ secret: true, value: "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB" });
    expect(unwrapSecret(hook.inputs.secret)).toEqual({ secret: true, value: "xoxsecretXYZ123" });
    expect((policies[0]?.inputs.mechanisms as { webhooks: unknown }).webhooks).toEqual([{ id: hook.id }]);
  });

  it("send a generic URL whole, with no secret", async () => {
    const { hooks } = await declare({ webhookUrl: "https://alerts.example.com/cf?x=1", cloudflareWebhook: true });
    expect(unwrapSecret(hooks[0]?.inputs.url).value).toBe("https://alerts.example.com/cf?x=1");
    expect(hooks[0]?.inputs.secret).toBeUndefined();
  });

  it("route to Cloudflare's PagerDuty destination, never a PagerDuty URL as a webhook", async () => {
    const id = "0123456789abcdef0123456789abcdef";
    const { hooks, policies } = await declare({ webhookUrl: "https://events.pagerduty.com/v2/enqueue?routing_key=k", webhookFormat: "pagerduty", cloudflarePagerDutyId: id });
    expect(hooks).toEqual([]);
    expect(policies[0]?.inputs.mechanisms).toEqual({ pagerduties: [{ id }] });
  });

  it("declare no incident policy when there is nowhere to send it", async () => {
    expect((await declare({})).policies).toEqual([]);
  });
});

describe("cloudflareWebhookDestination", () => {
  it("splits Discord's token off its webhook URL", () => {
    expect(cloudflareWebhookDestination(DISCORD, "discord")).toEqual({ url: "https://discord.com/api/webhooks/123456789012345678", secret: "tok_en-SECRET" });
  });

  it("refuses a URL that does not match its format, and any PagerDuty URL, with what to do", () => {
    expect(() => cloudflareWebhookDestination("https://example.com/hook", "slack")).toThrow(/not a slack incoming-webhook URL \(expected https:\/\/hooks\.slack\.com\/services\//);
    expect(() => cloudflareWebhookDestination(`${SLACK}?x=1`, "slack")).toThrow(WebhookUrlError);
    expect(() => cloudflareWebhookDestination("https://discord.com/api/webhooks/abc/def", "discord")).toThrow(/not a discord/);
    expect(() => cloudflareWebhookDestination("https://events.pagerduty.com/v2/enqueue", "pagerduty")).toThrow(/cloudflarePagerDutyId/);
  });
});


