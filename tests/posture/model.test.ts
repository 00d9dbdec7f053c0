/** Numbers derived from the posture: schedules, tier days, defaults. */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import YAML from "yaml";
import { parsePosture } from "../../lib/posture/model";
import { backupIntervalMinutes, cronForInterval, groupByCron } from "../../lib/posture/schedule";
import { ROOT } from "../helpers/program";

function stackRaw(stack: string): Record<string, unknown> {
  const doc = YAML.parse(readFileSync(`${ROOT}/Pulumi.${stack}.yaml`, "utf8")) as { config: Record<string, unknown> };
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc.config)) {
    if (!k.startsWith("drposture:")) continue;
    raw[k.slice("drposture:".length)] = typeof v === "object" && v && "secure" in v ? "https://secret.invalid/x" : v;
  }
  return raw;
}

describe("backup schedule from RPO", () => {
  it.each([
    [5, 5, "*/5 * * * *"],
    [7, 5, "*/5 * * * *"],
    [15, 15, "*/15 * * * *"],
    [45, 30, "*/30 * * * *"],
    [60, 60, "0 * * * *"],
    [90, 60, "0 * * * *"],
    [300, 240, "0 */4 * * *"],
    [1439, 720, "0 */12 * * *"],
    [1440, 1440, "17 2 * * *"],
  ])("RPO %i min -> every %i min (%s)", (rpo, interval, cron) => {
    expect(backupIntervalMinutes(rpo)).toBe(interval);
    expect(cronForInterval(backupIntervalMinutes(rpo))).toBe(cron);
  });

  it("groups assets sharing a schedule into one cron trigger", () => {
    const groups = groupByCron([
      { id: "kv/a", backupCron: "*/15 * * * *" },
      { id: "d1/b", backupCron: "0 * * * *" },
      { id: "kv/c", backupCron: "*/15 * * * *" },
    ]);
    expect(groups).toEqual([
      { cron: "*/15 * * * *", assets: ["kv/a", "kv/c"] },
      { cron: "0 * * * *", assets: ["d1/b"] },
    ]);
  });
});

describe("prod posture", () => {
  const p = parsePosture(stackRaw("prod"), "prod");

  it("applies per-asset overrides over the environment defaults", () => {
    const byId = Object.fromEntries(p.assets.map((a) => [a.id, a]));
    expect(byId["kv/sessions"]).toMatchObject({ rpoMinutes: 15, rtoMinutes: 30, backupCron: "*/15 * * * *" });
    expect(byId["d1/app-db"]).toMatchObject({ rpoMinutes: 60, rtoMinutes: 60, backupCron: "0 * * * *" });
    expect(byId["r2/user-uploads"]).toMatchObject({ rpoMinutes: 60, rtoMinutes: 240 });
    expect(byId["neon/app"]).toMatchObject({ rpoMinutes: 1440, rtoMinutes: 60, sourceId: "spring-example-302709" });
  });

  it("orders assets for restore: databases, then KV, then R2", () => {
    expect(p.assets.map((a) => a.kind)).toEqual(["d1", "neon", "kv", "kv", "r2"]);
  });

  it("derives tier days from retention counts", () => {
    expect(p.tiers).toEqual([
      { tier: "daily", prefix: "daily/", retentionDays: 35 },
      { tier: "weekly", prefix: "weekly/", retentionDays: 84 },
      { tier: "monthly", prefix: "monthly/", retentionDays: 372 },
    ]);
  });

  it("derives Neon's window and snapshot schedule from the snapshot counts, not the tier days", () => {
    expect(p.neon?.historyRetentionSeconds).toBe(14 * 86_400);
    expect(p.neon?.snapshotSchedule).toEqual([
      { frequency: "daily", hour: 3, retention_seconds: 7 * 86_400 },
      { frequency: "weekly", day: 1, hour: 3, retention_seconds: 21 * 86_400 },
    ]);
  });

  // https://neon.com/docs/guides/backup-restore: "Snapshot limits: 1 on the Free plan and 10 on paid plans."
  it.each(["prod", "staging"])("%s: Neon's schedule keeps at most 10 snapshots alive at once", (stack) => {
    const neon = parsePosture(stackRaw(stack), stack).neon!;
    const gap = { daily: 86_400, weekly: 7 * 86_400, monthly: 28 * 86_400 };
    const kept = neon.snapshotSchedule.reduce((n, s) => n + Math.ceil(s.retention_seconds / gap[s.frequency]), 0);
    expect(kept).toBeLessThanOrEqual(10);
    expect(kept).toBeGreaterThan(0);
  });

  it("a monthly snapshot count keeps N months of the shortest month (never N + 1 alive)", () => {
    const raw = stackRaw("prod") as any;
    raw.neon.snapshots = { daily: 5, weekly: 3, monthly: 2 };
    expect(parsePosture(raw, "prod").neon?.snapshotSchedule.at(-1)).toEqual({ frequency: "monthly", day: 1, hour: 3, retention_seconds: 2 * 28 * 86_400 });
  });

  it("uses the minimal cron set", () => {
    expect(p.cronSchedule.map((g) => g.cron)).toEqual(["*/15 * * * *", "0 * * * *", "17 2 * * *"]);
  });

  it("defaults Object Lock to COMPLIANCE in prod and GOVERNANCE elsewhere", () => {
    expect(p.vault.objectLockMode).toBe("COMPLIANCE");
    expect(parsePosture(stackRaw("staging"), "staging").vault.objectLockMode).toBe("GOVERNANCE");
  });
});
