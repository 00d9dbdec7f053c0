/**
 * `healthAlerts` on an asset as an operator writes it: each wrong value is refused with its
 * config path and what is allowed (a number in range, or false), never zod's bare
 * "Invalid input"; the CLI refuses the stack with exit 2 and writes nothing.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { PostureConfigError } from "../../lib/posture/errors";
import { parsePosture } from "../../lib/posture/model";
import { drposture } from "../helpers/cli";
import { ROOT } from "../helpers/program";

function validRaw(): Record<string, any> {
  return {
    environment: "prod",
    primaryRegion: "us-east-1",
    cloudflare: { accountId: "4b3f2f0e9c1d4a7e8f6a5b4c3d2e1f09" },
    targets: { rpoMinutes: 60, rtoMinutes: 240 },
    assets: { kv: [{ name: "sessions", namespaceId: "0f6b1e2d3c4a5b69788776655443322a", rpoMinutes: 15 }] },
    neon: { projectId: "spring-example-302709", branchId: "br-wispy-meadow-a5k2x9qe", restoreWindowDays: 14 },
    retention: { daily: 35, weekly: 12, monthly: 12 },
    vault: { s3Region: "eu-central-1" },
    alerts: { emails: ["oncall@example.com"] },
  };
}

function problems(healthAlerts: unknown, where: "kv" | "neon" = "kv"): string {
  const raw = validRaw();
  if (where === "kv") raw.assets.kv[0].healthAlerts = healthAlerts;
  else raw.neon.healthAlerts = healthAlerts;
  try {
    parsePosture(raw, "test");
  } catch (err) {
    expect(err).toBeInstanceOf(PostureConfigError);
    return (err as PostureConfigError).problems.join("\n");
  }
  throw new Error("expected the config to be rejected");
}

const SHRINK = "must be a whole percentage from 1 to 99, or false to turn the check off";
const SLOW = "must be a number from 1.5 to 100, or false to turn the check off";

describe("healthAlerts validation", () => {
  it.each([
    ["shrinkPercent a string", { shrinkPercent: "50" }, `drposture:assets.kv[0].healthAlerts.shrinkPercent: ${SHRINK}, got "50"`],
    ["shrinkPercent a fraction", { shrinkPercent: 50.5 }, `drposture:assets.kv[0].healthAlerts.shrinkPercent: ${SHRINK}, got 50.5`],
    ["shrinkPercent true", { shrinkPercent: true }, `drposture:assets.kv[0].healthAlerts.shrinkPercent: ${SHRINK}, got true`],
    ["shrinkPercent null", { shrinkPercent: null }, `drposture:assets.kv[0].healthAlerts.shrinkPercent: ${SHRINK}, got null`],
    ["slowdownFactor a string", { slowdownFactor: "3x" }, `drposture:assets.kv[0].healthAlerts.slowdownFactor: ${SLOW}, got "3x"`],
    ["slowdownFactor true", { slowdownFactor: true }, `drposture:assets.kv[0].healthAlerts.slowdownFactor: ${SLOW}, got true`],
  ])("%s names the path and what is allowed", (_label, value, expected) => {
    expect(problems(value)).toContain(expected);
    expect(problems(value)).not.toContain("Invalid input");
  });

  it.each([
    [{ shrinkPercent: 100 }, "shrinkPercent: must be <= 99"],
    [{ shrinkPercent: 0 }, "shrinkPercent: must be >= 1"],
    [{ slowdownFactor: 1 }, "slowdownFactor: must be >= 1.5"],
    [{ slowdownFactor: 1000 }, "slowdownFactor: must be <= 100"],
    [{ slowdownFactor: Infinity }, `slowdownFactor: ${SLOW}`],
    [{ shrinkPercnt: 40 }, "shrinkPercnt: unknown key (did you mean drposture:neon.healthAlerts.shrinkPercent?)"],
  ])("out of range or misspelt on neon: %o", (value, expected) => {
    expect(problems(value, "neon")).toContain(`drposture:neon.healthAlerts.${expected}`);
  });

  it("false turns a check off and {} keeps the defaults", () => {
    const raw = validRaw();
    raw.assets.kv[0].healthAlerts = { shrinkPercent: false };
    raw.neon.healthAlerts = {};
    const assets = parsePosture(raw, "test").assets;
    expect(assets.find((a) => a.kind === "kv")?.health).toEqual({ slowdownFactor: 3, shrinkPercent: false });
    expect(assets.find((a) => a.kind === "neon")?.health).toEqual({ slowdownFactor: 3, shrinkPercent: 50 });
  });
});

describe("healthAlerts through the CLI", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "drposture-health-cfg-"));
    copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    const doc = YAML.parse(readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, any> };
    doc.config["drposture:assets"].kv[0].healthAlerts = { shrinkPercent: "half" };
    writeFileSync(path.join(dir, "Pulumi.bad.yaml"), YAML.stringify(doc));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("runbook refuses the stack with exit 2, one line naming the path, and writes nothing", async () => {
    const out = path.join(dir, "runbook.md");
    const r = await drposture(["runbook", "--cwd", dir, "--stack", "bad", "--out", out]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`drposture:assets.kv[0].healthAlerts.shrinkPercent: ${SHRINK}, got "half"`);
    expect(r.stdout).toBe("");
    expect(existsSync(out)).toBe(false);
  });
});
