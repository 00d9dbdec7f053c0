/**
 * posture-monthly-cost through the real policy pack process (drposture check: the program under
 * mocks, the pack over gRPC): our prod stack passes under the prod cap and is reported
 * (advisory: exit 0) over a lower one, with the figure `drposture cost` prints.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { drposture } from "../helpers/cli";
import { ROOT } from "../helpers/program";

interface CheckJson {
  violations: Array<{ policy: string; level: string; urn: string; message: string }>;
}

describe("posture-monthly-cost (real pack)", () => {
  it("reports, advisory, a stack over the cap with its monthly figure; the prod cap passes", { timeout: 240_000 }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "drposture-costcap-"));
    const cfg = JSON.parse(readFileSync(path.join(ROOT, "policies", "config", "prod.json"), "utf8")) as Record<string, unknown>;
    expect(cfg["posture-monthly-cost"]).toEqual({ maxMonthlyUsd: 2500 });
    const low = path.join(dir, "low-cap.json");
    writeFileSync(low, JSON.stringify({ ...cfg, "posture-monthly-cost": { maxMonthlyUsd: 100 } }));
    const [over, cost] = await Promise.all([
      drposture(["check", "--stack", "prod", "--policy-config", low, "--json"], { timeoutMs: 240_000 }),
      drposture(["cost", "--stack", "prod", "--json"]),
    ]);
    // Advisory only: reported, not blocking.
    expect(over.code, over.stderr).toBe(0);
    const v = (JSON.parse(over.stdout) as CheckJson).violations;
    expect(v.map((x) => x.policy)).toEqual(["posture-monthly-cost"]);
    expect(v[0]!.level).toBe("advisory");
    expect(v[0]!.urn).toMatch(/drposture:index:DisasterRecovery/);
    const gross = (JSON.parse(cost.stdout) as { grossMicroUsd: number }).grossMicroUsd;
    const dollars = `$${(Math.round(gross / 10_000) / 100).toLocaleString("en-US", { minimumFractionDigits: 2 })}`;
    expect(v[0]!.message).toContain(`Stack prod's DR posture costs about ${dollars} a month (before the account-wide allowances), over the organisation's cap of $100.00. Largest: kv/sessions`);
  });
});
