/**
 * The Neon restore test inside workerd (so the code is Worker-safe: no node: module, no TCP),
 * against the Neon stand-in (STAND-IN, NOT NEON) whose SQL endpoint is backed by a local
 * PostgreSQL (tests/worker/globalSetup.ts). The driver reaches the stand-in through its documented
 * `neonConfig.fetchEndpoint` option; everything else is the code the Worker runs.
 */
import { neonConfig } from "@neondatabase/serverless";
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { PlanAsset } from "../../lib/backup/plan";
import { runNeonRestoreTest } from "../../lib/neon/restoreTest";

const PROJECT = "standin-project-000002";
const neon = () => ({ projectId: PROJECT, branchId: "br-main-restore", apiUrl: inject("neonRestoreStandin"), restoreWindowDays: 7 });
const ASSET: PlanAsset = { kind: "neon", name: "prod-db", sourceId: PROJECT, rpoMinutes: 60, cron: "0 * * * *", priority: 1, rtoMinutes: 15 };

async function branches(): Promise<string[]> {
  const r = await fetch(`${inject("neonRestoreStandin")}/projects/${PROJECT}/branches`, { headers: { authorization: "Bearer neon-test-key" } });
  return ((await r.json()) as { branches: Array<{ id: string }> }).branches.map((b) => b.id);
}

describe("Neon restore test in workerd (against the stand-in)", () => {
  beforeAll(() => {
    neonConfig.fetchEndpoint = inject("neonRestoreSqlEndpoint");
  });

  it("passes on a good database, over the HTTP driver, and deletes its branch", async () => {
    const r = await runNeonRestoreTest({ neon: neon(), apiKey: "neon-test-key", asset: ASSET, checks: [{ name: "users-exist", sql: "SELECT id FROM users", minRows: 2 }], now: new Date() });
    expect(r.error).toBeUndefined();
    expect(r.passed).toBe(true);
    expect(r.integrity.map((c) => c.check)).toEqual(["postgres: foreign keys resolve", "postgres: sequences continue", "postgres: users-exist"]);
    expect(r.rtoTargetSeconds).toBe(900);
    expect(r.branchId).toMatch(/^br-/);
    expect(await branches()).toEqual(["br-main-restore"]);
  });

  it("fails on a declared check that fails, and on a write it attempts, naming both; the branch is deleted", async () => {
    const r = await runNeonRestoreTest({
      neon: neon(),
      apiKey: "neon-test-key",
      asset: ASSET,
      checks: [
        { name: "no-users", sql: "SELECT id, email FROM users", expectRows: 0 },
        { name: "sneaky", sql: "SELECT nextval('users_id_seq') AS n", expectRows: 1 },
      ],
      now: new Date(),
    });
    expect(r.passed).toBe(false);
    expect(r.integrity.find((c) => c.check === "postgres: no-users")).toMatchObject({ ok: false, rows: 2, sample: [{ id: 1, email: "a@example.com" }, { id: 2, email: "b@example.com" }] });
    expect(r.integrity.find((c) => c.check === "postgres: sneaky")?.detail).toBe("the query failed: cannot execute nextval() in a read-only transaction");
    expect(await branches()).toEqual(["br-main-restore"]);
  });
});
