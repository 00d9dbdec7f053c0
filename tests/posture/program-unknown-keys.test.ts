/** At preview (the Pulumi program under mocks): an unknown top-level `drposture:` key stops the
 * program before any resource is declared, like any other config error. */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { RealisticMocks } from "../../lib/pulumi/realisticMocks";
import { runStack } from "../helpers/program";

describe("unknown drposture: keys at preview", () => {
  it("fails naming the key and the likely one, declaring nothing", async () => {
    const mocks = new RealisticMocks();
    const error = await runStack(
      "prod",
      (cfg) => {
        const { ["drposture:retention"]: retention, ...rest } = cfg.config;
        return { ...cfg, config: { ...rest, "drposture:retension": retention as string, "drposture:neonApiKye": "x" } };
      },
      mocks,
    ).then(() => undefined, (err: unknown) => err);
    expect(error).toBeInstanceOf(pulumi.RunError);
    const message = (error as Error).message;
    expect(message).toContain("drposture:retension: unknown key (did you mean drposture:retention?); known keys: environment, primaryRegion,");
    expect(message).toContain("drposture:neonApiKye: unknown key (did you mean drposture:neonApiKey?)");
    expect(message).toContain("drposture:retention: is required");
    expect(message).not.toMatch(/\n\s+at /);
    expect(mocks.resources.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
  });
});
