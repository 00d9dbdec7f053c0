/**
 * Every validation rule of the stack config: the error names the config path as
 * `pulumi config set --path` spells it, says what is allowed and shows what was given.
 */
import { describe, expect, it } from "vitest";
import { PostureConfigError } from "../../lib/posture/errors";
import { parsePosture } from "../../lib/posture/model";

function validRaw(): Record<string, any> {
  return {
    environment: "prod",
    primaryRegion: "us-east-1",
    cloudflare: { accountId: "4b3f2f0e9c1d4a7e8f6a5b4c3d2e1f09" },
    targets: { rpoMinutes: 60, rtoMinutes: 240 },
    assets: {
      d1: [{ name: "app-db", databaseId: "6f1c2b7e-2d4a-4c1e-9b3f-8a7d6c5e4f31" }],
      kv: [{ name: "sessions", namespaceId: "0f6b1e2d3c4a5b69788776655443322a", rpoMinutes: 15 }],
      r2: [{ name: "uploads", bucketName: "acme-uploads" }],
    },
    neon: { projectId: "spring-example-302709", branchId: "br-wispy-meadow-a5k2x9qe", restoreWindowDays: 14 },
    retention: { daily: 35, weekly: 12, monthly: 12 },
    vault: { s3Region: "eu-central-1" },
    alerts: { emails: ["oncall@example.com"] },
  };
}

function problems(mutate: (raw: Record<string, any>) => void): string[] {
  const raw = validRaw();
  mutate(raw);
  try {
    parsePosture(raw, "test");
  } catch (err) {
    expect(err).toBeInstanceOf(PostureConfigError);
    return (err as PostureConfigError).problems;
  }
  throw new Error("expected the config to be rejected");
}

describe("stack config validation", () => {
  it("accepts the valid baseline", () => {
    expect(parsePosture(validRaw(), "test").assets).toHaveLength(4);
  });

  it.each([
    ["retention.daily below 1", (r: any) => (r.retention.daily = 0), "drposture:retention.daily: must be >= 1, got 0"],
    ["retention.weekly not an integer", (r: any) => (r.retention.weekly = 2.5), "drposture:retention.weekly: must be an integer, got number 2.5"],
    ["retention.monthly a string", (r: any) => (r.retention.monthly = "twelve"), 'drposture:retention.monthly: must be a number, got string "twelve"'],
    ["missing required key", (r: any) => delete r.targets, "drposture:targets: is required"],
    ["unknown environment", (r: any) => (r.environment = "production"), 'drposture:environment: must be one of "prod", "staging", "dev", got "production"'],
    ["unknown key (typo)", (r: any) => (r.retention.dialy = 30), "drposture:retention.dialy: unknown key"],
    ["unknown top-level key", (r: any) => (r.retension = {}), "drposture:retension: unknown key"],
    ["bad account id", (r: any) => (r.cloudflare.accountId = "acct"), 'drposture:cloudflare.accountId: must be the 32-hex Cloudflare account id, got "acct"'],
    ["bad D1 id", (r: any) => (r.assets.d1[0].databaseId = "app-db"), 'drposture:assets.d1[0].databaseId: must be the D1 database UUID (wrangler d1 list), got "app-db"'],
    ["bad KV id", (r: any) => (r.assets.kv[0].namespaceId = "XYZ"), "drposture:assets.kv[0].namespaceId: must be the 32-hex KV namespace id"],
    ["bad asset name", (r: any) => (r.assets.r2[0].name = "Uploads!"), "drposture:assets.r2[0].name: must be 1-40 characters of a-z, 0-9 and '-'"],
    ["bad R2 bucket name", (r: any) => (r.assets.r2[0].bucketName = "A"), "drposture:assets.r2[0].bucketName: must be a valid R2 bucket name"],
    ["bad region", (r: any) => (r.vault.s3Region = "frankfurt"), 'drposture:vault.s3Region: must be an AWS region name such as us-east-1 or eu-central-1, got "frankfurt"'],
    ["bad lock mode", (r: any) => (r.vault.objectLockMode = "STRICT"), 'drposture:vault.objectLockMode: must be one of "COMPLIANCE", "GOVERNANCE", got "STRICT"'],
    ["bad email", (r: any) => (r.alerts.emails = ["oncall"]), 'drposture:alerts.emails[0]: must be an email address, got "oncall"'],
    ["http webhook", (r: any) => (r.alertWebhookUrl = "http://hooks.example.com/x"), "drposture:alertWebhookUrl: must be an https:// URL"],
    // Cloudflare's test POST to a PagerDuty Events URL fails (issue #8); its PagerDuty destination is the way.
    ["Cloudflare webhook for a PagerDuty URL", (r: any) => Object.assign(r, { alertWebhookUrl: "https://events.pagerduty.com/v2/enqueue?routing_key=k", alerts: { ...r.alerts, webhookFormat: "pagerduty", cloudflareWebhook: true } }), "drposture:alerts.cloudflareWebhook: cannot be true with webhookFormat pagerduty"],
    ["Cloudflare webhook without a URL", (r: any) => (r.alerts.cloudflareWebhook = true), "drposture:alerts.cloudflareWebhook: needs the secret alertWebhookUrl"],
    ["bad PagerDuty destination id", (r: any) => (r.alerts.cloudflarePagerDutyId = "pd-1"), "drposture:alerts.cloudflarePagerDutyId: must be the 32-hex-character id of a PagerDuty destination"],
    ["RTO over a week", (r: any) => (r.targets.rtoMinutes = 20000), "drposture:targets.rtoMinutes: must be <= 10080, got 20000"],
    ["RPO over a day", (r: any) => (r.assets.d1[0].rpoMinutes = 2880), "drposture:assets.d1[0].rpoMinutes: must be <= 1440, got 2880"],
  ])("%s", (_label, mutate, expected) => {
    expect(problems(mutate).join("\n")).toContain(expected);
  });

  describe("cross-field rules", () => {
    it("an RPO shorter than 5 minutes (cron granularity)", () => {
      expect(problems((r) => (r.assets.kv[0].rpoMinutes = 2))).toContain(
        "drposture:assets.kv[0].rpoMinutes: must be >= 5 (cron granularity: a backup must finish before the next one starts), got 2",
      );
      expect(problems((r) => (r.targets.rpoMinutes = 1))[0]).toMatch(/^drposture:targets\.rpoMinutes: must be >= 5/);
    });

    it("a Neon restore window above the 30-day maximum", () => {
      expect(problems((r) => (r.neon.restoreWindowDays = 45))).toEqual([
        "drposture:neon.restoreWindowDays: must be <= 30 (Neon's maximum restore window), got 45",
      ]);
    });

    // https://neon.com/docs/guides/backup-restore: "Snapshot limits: 1 on the Free plan and 10 on paid plans.
    // Automated backup schedules are available on paid plans except for the Agent plan."
    it("Neon snapshots over the plan's cap of 10", () => {
      expect(problems((r) => (r.neon.snapshots = { daily: 30, weekly: 12, monthly: 12 }))).toEqual([
        "drposture:neon.snapshots: must total at most 10 (daily 30 + weekly 12 + monthly 12 = 54): Neon's launch plan keeps at most 10 snapshots " +
          '(https://neon.com/docs/guides/backup-restore); keep longer history in the pg_dump tiers (retention.*), got {"daily":30,"weekly":12,"monthly":12}',
      ]);
      expect(problems((r) => (r.neon = { ...r.neon, plan: "scale", snapshots: { daily: 8, weekly: 3 } }))[0]).toMatch(
        /^drposture:neon\.snapshots: must total at most 10 \(daily 8 \+ weekly 3 \+ monthly 0 = 11\): Neon's scale plan/,
      );
    });

    it("any Neon snapshot schedule on a plan without one (free)", () => {
      expect(problems((r) => (r.neon.plan = "free"))[0]).toMatch(
        /^drposture:neon\.snapshots: must total at most 0 \(daily 7 \+ weekly 3 \+ monthly 0 = 10\): Neon's free plan has no automated backup schedule/,
      );
      const free = parsePosture({ ...validRaw(), neon: { ...validRaw().neon, plan: "free", snapshots: { daily: 0, weekly: 0 } } }, "test");
      expect(free.neon?.snapshotSchedule).toEqual([]);
    });

    it("an unknown Neon plan and a negative snapshot count", () => {
      expect(problems((r) => (r.neon.plan = "pro"))[0]).toMatch(/^drposture:neon\.plan: must be one of "free", "launch", "scale", "business", "enterprise", "agent", got "pro"/);
      expect(problems((r) => (r.neon.snapshots = { daily: -1 }))).toEqual(["drposture:neon.snapshots.daily: must be >= 0, got -1"]);
    });

    it("a secondary S3 region equal to the primary", () => {
      expect(problems((r) => (r.vault.s3Region = "us-east-1"))).toEqual([
        'drposture:vault.s3Region: must differ from primaryRegion (us-east-1): a regional outage must not take the copy with it, got "us-east-1"',
      ]);
    });

    it("a weekly tier that keeps less history than the daily tier", () => {
      expect(problems((r) => (r.retention.weekly = 4))).toEqual([
        "drposture:retention.weekly: must keep at least as much history as the daily tier: 4 weeks < 35 days (use >= 5), got 4",
      ]);
    });

    it("a monthly tier that keeps less history than the weekly tier", () => {
      expect(problems((r) => (r.retention.monthly = 2))).toEqual([
        "drposture:retention.monthly: must keep at least as much history as the weekly tier: 2 months < 12 weeks (use >= 3), got 2",
      ]);
    });

    it("duplicate asset names within a kind", () => {
      expect(problems((r) => r.assets.kv.push({ ...r.assets.kv[0] }))).toEqual([
        'drposture:assets.kv[1].name: duplicates assets.kv[0]: asset names must be unique per kind, got "sessions"',
      ]);
    });

    it("nothing to protect", () => {
      expect(
        problems((r) => {
          r.assets = {};
          delete r.neon;
        })[0],
      ).toMatch(/^drposture:assets: must list at least one/);
    });
  });

  it("reports every problem at once, not just the first", () => {
    const all = problems((r) => {
      r.retention.daily = 0;
      r.vault.s3Region = "us-east-1";
      r.environment = "qa";
    });
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect(all.some((p) => p.startsWith("drposture:retention.daily:"))).toBe(true);
    expect(all.some((p) => p.startsWith("drposture:environment:"))).toBe(true);
  });
});
