/**
 * The Worker's Neon check against the Neon API stand-in (a local server speaking the documented
 * endpoints; not Neon): restore-window drift raises an alert, and a snapshot is taken when the
 * branch has none for the day, and not again once one exists.
 */
import { reset } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { checkNeon } from "../../worker/jobs/neon";
import { r2, testEnv } from "./helpers";

const plan = () =>
  testEnv({ plan: { neon: { projectId: "standin-project-000001", branchId: "br-main-standin", apiUrl: inject("neonStandin"), restoreWindowDays: 7 } } }).BACKUP_PLAN;

describe("Neon check (against the stand-in)", () => {
  beforeEach(async () => {
    await reset();
  });

  it("alerts when the restore window drifted below the target, and takes the day's snapshot once", async () => {
    const now = new Date();
    const first = await checkNeon(plan(), "neon-test-key", r2(), now);
    expect(first.restoreWindowDays).toBe(1);
    expect(first.alerts).toEqual([
      { kind: "neon-window-drift", severity: "critical", error: "Neon restore window is 1 days, below the declared 7; run pulumi up to re-apply it or find who changed it" },
    ]);
    expect(first.tookSnapshot).toBe(true);
    const second = await checkNeon(plan(), "neon-test-key", r2(), new Date(now.getTime() + 60_000));
    expect(second.tookSnapshot).toBe(false);
    expect(second.latestSnapshot).toBe(first.latestSnapshot);
  });

  it("reports an API failure (wrong key) as an error, not silence", async () => {
    await expect(checkNeon(plan(), "wrong-key", r2(), new Date())).rejects.toThrow(/HTTP 401/);
  });
});
