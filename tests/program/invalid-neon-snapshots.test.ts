/**
 * Neon snapshots over the plan's cap (https://neon.com/docs/guides/backup-restore: "Snapshot
 * limits: 1 on the Free plan and 10 on paid plans") stop the program at preview, not at `pulumi up`.
 * Its own file: the program runs once per test file.
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { RealisticMocks } from "../../lib/pulumi/realisticMocks";
import { runStack } from "../helpers/program";

describe("invalid Neon snapshot counts", () => {
  it("Neon snapshots over the plan's cap fail before anything is declared (not at `pulumi up`)", async () => {
    const mocks = new RealisticMocks();
    const run = runStack("prod", (cfg) => {
      const neon = JSON.parse(cfg.config["drposture:neon"] as string);
      return { ...cfg, config: { ...cfg.config, "drposture:neon": JSON.stringify({ ...neon, snapshots: { daily: 35, weekly: 12, monthly: 12 } }) } };
    }, mocks);
    await expect(run).rejects.toBeInstanceOf(pulumi.RunError);
    await expect(run).rejects.toThrow("drposture:neon.snapshots: must total at most 10 (daily 35 + weekly 12 + monthly 12 = 59): Neon's scale plan keeps at most 10 snapshots");
    expect(mocks.resources.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
  });
});
