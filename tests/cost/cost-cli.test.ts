/**
 * `drposture cost` as an operator runs it: our prod and staging stacks, --json, a --sizes file
 * that overrides one asset, a bad sizes file (exit 2, the field's path, nothing on stdout) and a
 * stack without sizes (exit 2 naming every asset and the shape to declare).
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { drposture } from "../helpers/cli";
import { ROOT } from "../helpers/program";

interface CostJson {
  stack: string;
  assets: Array<{ asset: string; microUsd: number; lines: Array<{ priceId: string; quantity: number; microUsd: number }> }>;
  shared: Array<{ priceId: string; microUsd: number }>;
  grossMicroUsd: number;
  netMicroUsd: number;
  allowances: { accountWide: boolean; lines: unknown[] };
  prices: Array<{ id: string; source: string; asOf: string }>;
}

const tmp = () => mkdtempSync(path.join(tmpdir(), "drposture-cost-"));

describe("drposture cost", () => {
  it("prints a table per asset, the shared items, totals, assumptions and the sources of its prices", async () => {
    const r = await drposture(["cost", "--stack", "prod"]);
    expect(r.code, r.stderr).toBe(0);
    for (const a of ["d1/app-db", "kv/sessions", "kv/feature-flags", "r2/user-uploads", "neon/app", "shared:"]) expect(r.stdout).toContain(a);
    expect(r.stdout).toMatch(/KV reads \[\d+\]/);
    expect(r.stdout).toContain("account-wide");
    expect(r.stdout).toMatch(/Prices \(lib\/cost\/prices.ts\):\n {2}.+, as of \d{4}-\d{2}-\d{2}, https:\/\//);
    expect(r.stdout).toMatch(/total before allowances: \$[\d,]+\.\d\d/);
  });

  it("--json gives the same figures as a document whose totals add up", async () => {
    const r = await drposture(["cost", "--stack", "staging", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as CostJson;
    expect(d.stack).toBe("staging");
    expect(d.assets.map((a) => a.asset).sort()).toEqual(["d1/app-db", "kv/sessions", "neon/app", "r2/user-uploads"]);
    const lines = [...d.assets.flatMap((a) => a.lines), ...d.shared];
    expect(lines.reduce((n, l) => n + l.microUsd, 0)).toBe(d.grossMicroUsd);
    expect(d.allowances.accountWide).toBe(true);
    expect(d.netMicroUsd).toBeLessThan(d.grossMicroUsd);
    expect(d.prices.every((p) => p.source.startsWith("https://") && /^\d{4}-/.test(p.asOf))).toBe(true);
  });

  it("--sizes overrides an asset's declared sizes", async () => {
    const dir = tmp();
    const file = path.join(dir, "sizes.yaml");
    writeFileSync(file, "kv:\n  sessions:\n    keys: 10\n    averageValueBytes: 100\n    dailyChangedKeys: 1\n");
    const [before, after] = await Promise.all([drposture(["cost", "--stack", "prod", "--json"]), drposture(["cost", "--stack", "prod", "--json", "--sizes", file])]);
    expect(after.code, after.stderr).toBe(0);
    const reads = (r: typeof after) => (JSON.parse(r.stdout) as CostJson).assets.find((a) => a.asset === "kv/sessions")!.lines.find((l) => l.priceId === "cf.kv.reads")!.quantity;
    // 10 keys x 96 backups x 30.4375 days = 29,220, plus 10 x 6.0875 restore tests = 60.875: 29,281.
    expect(reads(after)).toBe(29_281);
    expect(reads(before)).toBe(2_928_087_500);
    // Other assets keep the stack's sizes.
    const d1 = (r: typeof after) => (JSON.parse(r.stdout) as CostJson).assets.find((a) => a.asset === "d1/app-db")!.microUsd;
    expect(d1(after)).toBe(d1(before));
  });

  it("a bad sizes file: exit 2, the field's path and what is allowed, nothing on stdout", async () => {
    const dir = tmp();
    const file = path.join(dir, "sizes.json");
    writeFileSync(file, JSON.stringify({ kv: { sessions: { keys: -5, averageValueBytes: 100, dailyChangedKeys: 1 } } }));
    const r = await drposture(["cost", "--stack", "prod", "--sizes", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--sizes ${file}: kv.sessions.keys: must be >= 0, got -5`);
    expect(r.stdout).toBe("");
    writeFileSync(file, "kv: [");
    const bad = await drposture(["cost", "--stack", "prod", "--sizes", file, "--json"]);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout)).toMatchObject({ error: { code: "CliError" } });
    expect(bad.stderr).toMatch(/not YAML or JSON/);
  });

  it("an asset without a declared size: exit 2 naming each one and the shape to declare", async () => {
    const dir = tmp();
    copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    const prod = readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8");
    const start = prod.indexOf("  drposture:sizes:");
    const end = prod.indexOf("  drposture:alertWebhookUrl:");
    expect(start).toBeGreaterThan(0);
    writeFileSync(path.join(dir, "Pulumi.nosizes.yaml"), prod.slice(0, start) + prod.slice(end));
    const r = await drposture(["cost", "--stack", "nosizes", "--cwd", dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no declared size for d1/app-db, neon/app, kv/feature-flags, kv/sessions, r2/user-uploads");
    expect(r.stderr).toMatch(/declare drposture:sizes in Pulumi.nosizes.yaml or pass --sizes FILE shaped \{ kv: \{ NAME: \{ keys/);
    expect(r.stdout).toBe("");
  });

  it("a size for an asset the stack does not have is a stack config error naming it", async () => {
    const dir = tmp();
    copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    const prod = readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8").replace("      feature-flags:\n        keys: 300", "      flags:\n        keys: 300");
    writeFileSync(path.join(dir, "Pulumi.stray.yaml"), prod);
    const r = await drposture(["cost", "--stack", "stray", "--cwd", dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("drposture:sizes.kv.flags: is not a KV asset of this stack (assets.kv names: sessions, feature-flags)");
  });
});
