/**
 * The plan fits Cloudflare's limit of 5 KB per environment variable
 * (https://developers.cloudflare.com/workers/platform/limits/#environment-variables) at 60
 * assets with the longest names the config allows, and comes back whole in the Worker.
 */
import { describe, expect, it } from "vitest";
import type { BackupPlan, PlanAsset } from "../../lib/backup/plan";
import { assemblePlan, ENV_VAR_MAX_BYTES, planBindings, PlanTooLargeError } from "../../lib/backup/planBindings";
import { localPlan } from "../../lib/local/localPlan";

const bytes = (s: string) => new TextEncoder().encode(s).byteLength;

function sixtyAssets(): PlanAsset[] {
  const kinds = ["d1", "kv", "r2"] as const;
  return Array.from({ length: 60 }, (_, i) => {
    const kind = kinds[i % 3]!;
    const name = `asset-${String(i).padStart(2, "0")}-${"x".repeat(31)}`; // 40 characters, the config's maximum
    return { kind, name, sourceId: kind === "r2" ? `bucket-${"y".repeat(56)}` : "0f6b1e2d3c4a5b69788776655443322a", binding: `${kind.toUpperCase()}_${name.toUpperCase().replace(/-/g, "_")}`, rpoMinutes: 15, cron: "*/15 * * * *", priority: i };
  });
}

describe("plan bindings", () => {
  const base = localPlan({ stack: "test", assets: [], destinations: { r2: { bucketName: "drp-test-backups" } } });

  it("at 60 assets the whole plan is over 5 KB, every binding under it, and the Worker gets it back", () => {
    const plan: BackupPlan = { ...base, assets: sixtyAssets() };
    expect(bytes(JSON.stringify(plan))).toBeGreaterThan(ENV_VAR_MAX_BYTES); // one binding would be refused
    const bound = planBindings(plan);
    expect(Object.keys(bound).length).toBeGreaterThan(2);
    for (const [name, json] of Object.entries(bound)) expect(bytes(json), name).toBeLessThanOrEqual(ENV_VAR_MAX_BYTES);
    const env = Object.fromEntries(Object.entries(bound).map(([k, v]) => [k, JSON.parse(v)]));
    expect(assemblePlan(env)).toEqual(plan);
  });

  it("a missing part is an error, not a plan with fewer assets", () => {
    const bound = planBindings({ ...base, assets: sixtyAssets() });
    const env = Object.fromEntries(Object.entries(bound).map(([k, v]) => [k, JSON.parse(v)]));
    delete env.BACKUP_PLAN_ASSETS_2;
    expect(() => assemblePlan(env)).toThrow(/BACKUP_PLAN_ASSETS_2 is missing/);
  });

  it("refuses a header that cannot fit", () => {
    expect(() => planBindings({ ...base, stack: "s".repeat(6000) })).toThrow(PlanTooLargeError);
  });
});
