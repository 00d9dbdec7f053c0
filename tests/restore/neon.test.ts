/**
 * `drposture restore neon`: a point-in-time branch restore through Neon's API v2, as a user runs
 * it, against the STAND-IN for Neon's documented endpoints (lib/local/neonStandin.ts; not
 * Neon). The current state is kept as a named branch; a time outside the window is refused
 * before anything is sent; --validate-only sends no write. A restore is reported only once the
 * operations Neon started for it have finished (https://neon.com/docs/reference/api/operations.md).
 */
import { afterEach, describe, expect, it } from "vitest";
import { startNeonStandin, type NeonStandin } from "../../lib/local/neonStandin";
import { drposture, type CliRun } from "../helpers/cli";

let neon: NeonStandin;

/** `drposture restore neon` against the stand-in, polling it quickly. */
function restoreNeon(args: string[]): Promise<CliRun> {
  return drposture(["restore", "neon", "--project", neon.state.projectId, "--neon-api-url", neon.url, "--json", ...args], { env: { NEON_API_KEY: neon.state.apiKey, NEON_OPERATION_POLL_MS: "20" } });
}

const writes = () => neon.state.requests.filter((r) => r.method !== "GET");

afterEach(async () => neon?.close());

describe("restore neon (Neon API stand-in)", () => {
  it("restores the branch to a timestamp and preserves its current state under a name", async () => {
    neon = await startNeonStandin({ historyRetentionSeconds: 7 * 86_400, branchId: "br-prod-main" });
    const at = new Date(Date.now() - 3 * 3600_000).toISOString();
    const r = await restoreNeon(["--from", at, "--to", "br-prod-main"]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ restoredTo: at, windowDays: 7, validateOnly: false });
    expect(writes()).toEqual([
      { method: "POST", path: `/projects/${neon.state.projectId}/branches/br-prod-main/restore`, body: { source_branch_id: "br-prod-main", source_timestamp: at, preserve_under_name: out.preservedAs } },
    ]);
    expect(neon.state.branches.map((b) => b.name)).toContain(out.preservedAs);
    expect(neon.state.branches.find((b) => b.id === "br-prod-main")?.restored_from).toEqual({ source_branch_id: "br-prod-main", source_timestamp: at });
  });

  it("reports the restore only after Neon's restore operations finished", async () => {
    neon = await startNeonStandin({ historyRetentionSeconds: 7 * 86_400, branchId: "br-prod-main", operations: { runningPolls: 3, runningMs: 200 } });
    const at = new Date(Date.now() - 3600_000).toISOString();
    const started = Date.now();
    const r = await restoreNeon(["--from", at, "--to", "br-prod-main"]);
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    const ops = neon.state.operations;
    expect(ops.map((o) => o.action)).toEqual(["create_branch", "create_timeline"]);
    expect(JSON.parse(r.stdout).operations).toEqual(ops.map((o) => o.id));
    // Each was polled through its `running` answers (at least three), and once more: `finished`.
    for (const op of ops) {
      const gets = neon.state.requests.filter((q) => q.path.endsWith(`/operations/${op.id}`)).length;
      expect(op.polls).toBeGreaterThanOrEqual(3);
      expect(gets).toBe(op.polls + 1);
    }
  });

  it("fails (exit 1) naming the operation when the restore operation ends failed", async () => {
    neon = await startNeonStandin({ historyRetentionSeconds: 7 * 86_400, branchId: "br-prod-main", operations: { runningPolls: 1, endStatus: "failed" } });
    const r = await restoreNeon(["--from", new Date(Date.now() - 3600_000).toISOString(), "--to", "br-prod-main"]);
    expect(r.code).toBe(1);
    const op = neon.state.operations[0]!;
    expect(r.stderr).toContain(`Neon operation ${op.id} ${op.action} (restore of br-prod-main to `);
    expect(r.stderr).toContain("ended failed: stand-in: operation failed as configured");
    // No success report; with --json the failure itself is the document.
    expect(JSON.parse(r.stdout)).toEqual({ error: { code: "NeonOperationError", message: expect.stringContaining(`Neon operation ${op.id}`) } });
  });

  it("fails (exit 1) with a timeout when the restore operation never finishes", async () => {
    neon = await startNeonStandin({ historyRetentionSeconds: 7 * 86_400, branchId: "br-prod-main", operations: { runningPolls: Infinity } });
    const r = await restoreNeon(["--from", new Date(Date.now() - 3600_000).toISOString(), "--to", "br-prod-main", "--neon-wait", "0.4"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Neon operation ${neon.state.operations[0]!.id} create_branch (restore of br-prod-main to `);
    expect(r.stderr).toMatch(/is still running after 0\.4 s; it may yet finish/);
    expect(JSON.parse(r.stdout).error.message).toMatch(/is still running after 0\.4 s/);
    const bad = await restoreNeon(["--from", new Date(Date.now() - 3600_000).toISOString(), "--to", "br-prod-main", "--neon-wait", "soon"]);
    expect(bad.code).toBe(2);
  });

  it("refuses a time outside the restore window (exit 1) and sends nothing", async () => {
    neon = await startNeonStandin({ historyRetentionSeconds: 86_400, branchId: "br-prod-main" });
    const r = await restoreNeon(["--from", new Date(Date.now() - 2 * 86_400_000).toISOString(), "--to", "br-prod-main"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/outside Neon's 1-day restore window.*pg_dump backup/);
    expect(writes()).toEqual([]);
  });

  it("--validate-only checks the window and the branch and writes nothing; a bad time is a usage error", async () => {
    neon = await startNeonStandin({ historyRetentionSeconds: 86_400, branchId: "br-prod-main" });
    const ok = await restoreNeon(["--from", new Date(Date.now() - 600_000).toISOString(), "--to", "br-prod-main", "--validate-only"]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ validateOnly: true, preservedAs: null });
    expect(writes()).toEqual([]);
    const bad = await restoreNeon(["--from", "yesterday-ish", "--to", "br-prod-main"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("needs a point in time (ISO 8601)");
    const missing = await restoreNeon(["--from", new Date(Date.now() - 600_000).toISOString(), "--to", "br-nope"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("branch br-nope does not exist");
    for (const wait of ["abc", "0", "-5"]) {
      const w = await restoreNeon(["--from", new Date(Date.now() - 600_000).toISOString(), "--to", "br-prod-main", "--neon-wait", wait]);
      expect(w.code, wait).toBe(2);
      expect(w.stderr).toContain(`--neon-wait ${wait}: expected seconds (a positive number)`);
    }
    expect(writes()).toEqual([]);
  });
});
