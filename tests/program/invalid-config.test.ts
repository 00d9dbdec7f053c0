/** Invalid stack config stops the program before any resource is declared. */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { RealisticMocks } from "../../lib/pulumi/realisticMocks";
import { runStack } from "../helpers/program";

describe("invalid stack config", () => {
  it("fails with the config path and what is allowed, declaring nothing", async () => {
    let error: unknown;
    const mocks = new RealisticMocks();
    try {
      await runStack("prod", (cfg) => {
        const retention = JSON.parse(cfg.config["drposture:retention"] as string);
        const vault = JSON.parse(cfg.config["drposture:vault"] as string);
        return {
          ...cfg,
          config: {
            ...cfg.config,
            "drposture:retention": JSON.stringify({ ...retention, daily: 0 }),
            "drposture:vault": JSON.stringify({ ...vault, s3Region: "us-east-1" }),
          },
        };
      }, mocks);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(pulumi.RunError);
    const message = (error as Error).message;
    expect(message).toContain("drposture:retention.daily: must be >= 1, got 0");
    expect(message).toContain("drposture:vault.s3Region: must differ from primaryRegion (us-east-1)");
    expect(message).not.toMatch(/\n\s+at /); // no stack trace for a config error
    // Only the root Stack resource exists: validation ran before any resource was declared.
    expect(mocks.resources.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
  });
});
