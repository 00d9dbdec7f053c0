/** Every price carries its value, unit, source and date; unconfirmed ones say why. */
import { describe, expect, it } from "vitest";
import { nanoUsd } from "../../lib/cost/money";
import { PRICES } from "../../lib/cost/prices";
import { FOOTNOTES } from "../../lib/cost/assumptions";

describe("prices", () => {
  it.each(PRICES.map((p) => [p.id, p] as const))("%s has a decimal value, a unit, an https source and a date", (_id, p) => {
    expect(() => nanoUsd(p.usd)).not.toThrow();
    expect(p.per).toBeGreaterThan(0);
    expect(p.unit).not.toBe("");
    expect(p.source).toMatch(/^https:\/\/[a-z0-9.-]+\//);
    expect(p.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(typeof p.confirmed).toBe("boolean");
    if (!p.confirmed) expect(p.note).toMatch(/\S/);
  });

  it("ids are unique", () => {
    expect(new Set(PRICES.map((p) => p.id)).size).toBe(PRICES.length);
  });

  it("lib/cost imports nothing but itself and lib/storage/types (the policy pack loads it)", async () => {
    const { readdirSync, readFileSync } = await import("node:fs");
    const path = await import("node:path");
    const dir = path.join(__dirname, "..", "..", "lib", "cost");
    const packLoaded = ["estimate.ts", "input.ts", "money.ts", "prices.ts", "assetCost.ts", "checks.ts", "shared.ts", "usage.ts", "jobOps.ts", "cadence.ts", "assumptions.ts"];
    for (const f of readdirSync(dir).filter((f) => packLoaded.includes(f))) {
      const imports = [...readFileSync(path.join(dir, f), "utf8").matchAll(/from "([^"]+)"/g)].map((m) => m[1]);
      for (const i of imports) expect(i === "../storage/types" || i === "../backup/fanout" || i?.startsWith("./"), `${f} imports ${i}`).toBe(true);
    }
    expect(Object.keys(FOOTNOTES).length).toBeGreaterThan(10);
  });
});
