/**
 * `drposture check --policy-config FILE` validates the file the way `pulumi preview
 * --policy-pack-config` does, before any resource is analysed: each policy's properties
 * (schema defaults overridden by the file) against its `configSchema`, plus (stricter, so a typo
 * never weakens a policy) unknown policies and undeclared properties. Bad config is exit 2 with
 * the policy, the property path and what is allowed; so are a missing pack, a missing file and a
 * bad stack name, each in one line.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { drposture } from "../helpers/cli";
import { ROOT } from "../helpers/program";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "drposture-policycfg-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configFile(name: string, content: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content, null, 2));
  return file;
}

/** `check --json` on the prod stack with FILE; the error document is all stdout holds. */
async function check(args: string[]) {
  const r = await drposture(["check", "--json", "--stack", "prod", ...args]);
  const doc = r.stdout ? (JSON.parse(r.stdout) as { error?: { code: string; message: string }; violations?: unknown }) : null;
  return { ...r, doc };
}

describe("check --policy-config", () => {
  it("rejects wrong types, out-of-range values, unknown properties and unknown policies, listing each, before analysing", async () => {
    const file = configFile("bad.json", {
      "neon-restore-window": { minDays: "fourteen" },
      "s3-object-lock": { allowedModes: ["STRICT"], minDays: -5 },
      "retention-minimums": { minDays: { daily: 30 } },
      "r2-bucket-lock": { minDyas: { daily: 30, weekly: 84, monthly: 365 } },
      "backup-frequency-meets-rpo": { maxRpoMinutes: { d1: 60, kv: 60, r2: 60, neon: 1440, d2: 5 }, assetMaxRpoMinutes: { "kv/../x": 5 } },
      "copies-in-two-providers": { forbiddenRegions: ["us-east-1", 7] },
      "neon-restore-windw": { minDays: 14 },
      all: { enforcementLevel: "mandatory", minDays: 30 },
    });
    const r = await check(["--policy-config", file]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.doc?.error?.code).toBe("PolicyConfigError");
    expect(r.doc?.violations).toBeUndefined();
    for (const line of [
      `invalid policy pack config ${file} (`,
      `neon-restore-window: minDays: must be a number, got string "fourteen"`,
      `s3-object-lock: allowedModes[0]: must be one of "COMPLIANCE", "GOVERNANCE", got "STRICT"`,
      "s3-object-lock: minDays: must be >= 1, got -5",
      "retention-minimums: minDays.weekly: is required",
      "r2-bucket-lock: minDyas: unknown property (did you mean minDays?); known: minDays",
      "backup-frequency-meets-rpo: maxRpoMinutes.d2: unknown property (did you mean d1?); known: d1, kv, neon, r2",
      "backup-frequency-meets-rpo: assetMaxRpoMinutes.kv/../x: property name not allowed: must match ^(d1|kv|r2|neon)/[a-z][a-z0-9-]{0,39}$",
      "copies-in-two-providers: forbiddenRegions[1]: must be a string, got number 7",
      "neon-restore-windw: no such policy in pack drposture (did you mean neon-restore-window?); policies: ",
      "all: takes only an enforcement level, got properties minDays",
    ]) {
      expect(r.stderr).toContain(line);
    }
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("a fractional minimum is not a whole number of days", async () => {
    const r = await check(["--policy-config", configFile("frac.json", { "neon-restore-window": { minDays: 7.5 } })]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("neon-restore-window: minDays: must be an integer, got number 7.5");
  });

  it.each([
    ["an unknown enforcement level", { "s3-versioning": "blocking" }, `s3-versioning: enforcement level must be one of "advisory", "mandatory", "disabled", "remediate", got "blocking"`],
    ["an enforcementLevel that is not a level", { "assets-covered": { enforcementLevel: 1 } }, `assets-covered.enforcementLevel: must be one of "advisory"`],
    ["an entry that is neither a level nor an object", { "s3-versioning": 3 }, "s3-versioning: must be an enforcement level"],
    ["a list instead of an object", [1, 2], "must be a JSON object of policy name -> config, got [1,2]"],
    ["not JSON", "{ minDays: 14 ", "not valid JSON"],
  ])("%s: exit 2 before the program runs", async (_what, content, expected) => {
    const file = configFile("shape.json", content);
    const r = await check(["--policy-config", file]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`invalid policy pack config ${file} (1 problem):`);
    expect(r.stderr).toContain(expected);
  });

  it("a missing file is one line, exit 2", async () => {
    const file = path.join(dir, "nope.json");
    const r = await check(["--policy-config", file]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([`drposture: invalid policy pack config ${file} (1 problem):`, "  - no such file"]);
  });
});

describe("check: missing pack, bad stack name", () => {
  it.each([
    [path.join(tmpdir(), "drposture-no-such-pack"), "no such directory"],
    [ROOT, "not a policy pack (no PulumiPolicy.yaml)"],
  ])("--policy-pack %s: one line, exit 2", async (pack, expected) => {
    const r = await drposture(["check", "--stack", "prod", "--policy-pack", pack]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`drposture: --policy-pack ${pack}: ${expected}\n`);
  });

  it("--stack ../prod is refused before a file is read", async () => {
    const r = await drposture(["check", "--stack", "../prod"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--stack "../prod": must be 1-100 characters`);
  });
});
