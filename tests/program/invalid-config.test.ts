/** Invalid stack config stops the program before any resource is declared. */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it, vi } from "vitest";
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

describe("invalid drposture:restoreTesting", () => {
  const withConfig = (edit: (config: Record<string, unknown>) => void) => (cfg: { config: Record<string, unknown> }) => {
    const config = { ...cfg.config };
    edit(config);
    return { ...cfg, config } as never;
  };
  const failure = async (edit: (config: Record<string, unknown>) => void) => {
    const mocks = new RealisticMocks();
    let error: unknown;
    // index.ts runs once per module registry.
    vi.resetModules();
    try {
      await runStack("prod", withConfig(edit), mocks);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(pulumi.RunError);
    // Refused before any resource was declared.
    expect(mocks.resources.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
    return (error as Error).message;
  };

  it.each([
    [0, "drposture:restoreTesting.everyDays: must be >= 1, got 0"],
    ["x", `drposture:restoreTesting.everyDays: must be a number, got string "x"`],
    [1.5, "drposture:restoreTesting.everyDays: must be an integer, got number 1.5"],
  ])("everyDays %j fails with the path and what is allowed", async (everyDays, line) => {
    expect(await failure((c) => (c["drposture:restoreTesting"] = JSON.stringify({ everyDays })))).toContain(line);
  });

  it("an everyDays too short to test every asset at one test per hour fails, naming the least that works", async () => {
    const message = await failure((c) => {
      const assets = JSON.parse(c["drposture:assets"] as string);
      const kv = Array.from({ length: 26 }, (_, i) => ({ name: `ns-${i}`, namespaceId: i.toString(16).padStart(32, "0") }));
      c["drposture:assets"] = JSON.stringify({ ...assets, kv });
      c["drposture:restoreTesting"] = JSON.stringify({ everyDays: 1 });
    });
    // 26 KV + app-db + user-uploads + neon/app = 29 assets: 2 days at one test per hour.
    expect(message).toContain("drposture:restoreTesting.everyDays: is too short for 29 assets at one restore test per hour: must be >= 2, got 1");
  });

  it("declared checks over Cloudflare's 5 KB per variable fail at preview, naming drposture:integrity", async () => {
    const message = await failure((c) => {
      const postgres = Array.from({ length: 40 }, (_, i) => ({ name: `check-${i}`, sql: `SELECT id FROM table_${i} WHERE ${"x".repeat(120)} IS NULL`, expectRows: 0 }));
      c["drposture:integrity"] = JSON.stringify({ postgres });
    });
    expect(message).toMatch(/drposture:integrity: the declared checks are \d+ bytes as JSON, .*RESTORE_TEST_CHECKS.*caps at 5120 bytes/);
  });

  it("the same checks pass when restore testing is off (nothing is bound)", async () => {
    const postgres = Array.from({ length: 40 }, (_, i) => ({ name: `check-${i}`, sql: `SELECT id FROM table_${i} WHERE ${"x".repeat(120)} IS NULL`, expectRows: 0 }));
    vi.resetModules();
    const run = await runStack("prod", withConfig((c) => {
      c["drposture:integrity"] = JSON.stringify({ postgres });
      c["drposture:restoreTesting"] = JSON.stringify({ enabled: false });
    }));
    expect(run.mocks.resources.length).toBeGreaterThan(40);
  });
});
