/**
 * `drposture restore neon --new-branch NAME`: a branch of production at a point in time, with a
 * read-write endpoint, as a user runs it, against the STAND-IN for Neon's documented API
 * (lib/local/neonStandin.ts + neonStandinBranches.ts; not Neon). The parent is never written to;
 * refusals (time outside the window, a name in use) send nothing.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startNeonStandin, type NeonStandin } from "../../lib/local/neonStandin";
import { drposture, type CliRun } from "../helpers/cli";

let neon: NeonStandin;

/** `drposture restore neon` against the stand-in, polling it quickly. */
function restoreNeon(args: string[]): Promise<CliRun> {
  return drposture(["restore", "neon", "--project", neon.state.projectId, "--neon-api-url", neon.url, "--to", "br-prod-main", ...args], { env: { NEON_API_KEY: neon.state.apiKey, NEON_OPERATION_POLL_MS: "20" } });
}

const writes = () => neon.state.requests.filter((r) => r.method !== "GET");
const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000).toISOString();

afterEach(async () => neon?.close());

describe("restore neon --new-branch (Neon API stand-in)", () => {
  it("creates a branch of the parent at a time, with a read-write endpoint, and prints its connection string", async () => {
    neon = await startNeonStandin({ historyRetentionSeconds: 7 * 86_400, branchId: "br-prod-main" });
    const parentBefore = JSON.stringify(neon.state.branches[0]);
    const at = hoursAgo(3);
    const r = await restoreNeon(["--new-branch", "inspect-3h", "--from", at]);
    expect(r.code, r.stderr).toBe(0);
    const created = neon.state.branches.find((b) => b.name === "inspect-3h")!;
    expect(created).toMatchObject({ parent_id: "br-prod-main", parent_timestamp: at });
    const ep = neon.state.endpoints.find((e) => e.branch_id === created.id)!;
    expect(ep.type).toBe("read_write");
    // stdout is the connection string alone (for psql "$(...)"), password redacted by default.
    expect(r.stdout.trim()).toBe(`postgresql://neondb_owner:REDACTED@${ep.host}/neondb?sslmode=require`);
    expect(r.stderr).toContain(`created branch inspect-3h (${created.id}) from br-prod-main at ${at}; endpoint ${ep.host}`);
    // The one write is the documented create-branch call; the parent is untouched.
    expect(writes()).toEqual([
      { method: "POST", path: `/projects/${neon.state.projectId}/branches`, body: { branch: { parent_id: "br-prod-main", name: "inspect-3h", parent_timestamp: at }, endpoints: [{ type: "read_write" }] } },
    ]);
    expect(JSON.stringify(neon.state.branches[0])).toBe(parentBefore);
    expect(neon.state.requests.some((q) => q.path === `/projects/${neon.state.projectId}/connection_uri`)).toBe(true);
  });

  it("--json: {branchId, endpointId, host, connectionUri, operations} with the password redacted unless --show-password", async () => {
    neon = await startNeonStandin({ historyRetentionSeconds: 86_400, branchId: "br-prod-main" });
    const r = await restoreNeon(["--new-branch", "inspect-json", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const created = neon.state.branches.find((b) => b.name === "inspect-json")!;
    const ep = neon.state.endpoints.find((e) => e.branch_id === created.id)!;
    expect(out).toMatchObject({
      kind: "neon",
      branchId: created.id,
      endpointId: ep.id,
      host: ep.host,
      connectionUri: `postgresql://neondb_owner:REDACTED@${ep.host}/neondb?sslmode=require`,
      parentId: "br-prod-main",
      parentTimestamp: null,
      operations: neon.state.operations.map((o) => o.id),
    });
    expect(r.stdout).not.toContain(neon.state.passwords[created.id]);
    // --from omitted = now: no parent_timestamp is sent, Neon branches from the parent's head.
    expect((writes()[0]!.body as { branch: Record<string, unknown> }).branch).toEqual({ parent_id: "br-prod-main", name: "inspect-json" });

    const shown = await restoreNeon(["--new-branch", "inspect-pw", "--json", "--show-password"]);
    expect(shown.code, shown.stderr).toBe(0);
    const pw = neon.state.passwords[neon.state.branches.find((b) => b.name === "inspect-pw")!.id]!;
    expect(JSON.parse(shown.stdout).connectionUri).toContain(`:${pw}@`);
  });

  it("waits for Neon's create_branch and start_compute operations before printing", async () => {
    neon = await startNeonStandin({ historyRetentionSeconds: 86_400, branchId: "br-prod-main", operations: { runningPolls: 3, runningMs: 200 } });
    const started = Date.now();
    const r = await restoreNeon(["--new-branch", "inspect-wait", "--from", hoursAgo(1), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    const ops = neon.state.operations;
    expect(ops.map((o) => o.action)).toEqual(["create_branch", "start_compute"]);
    expect(JSON.parse(r.stdout).operations).toEqual(ops.map((o) => o.id));
    for (const op of ops) expect(op.polls).toBeGreaterThanOrEqual(3);
    // The connection string was asked for only after every operation had finished.
    const uriAt = neon.state.requests.findIndex((q) => q.path.endsWith("/connection_uri"));
    const lastPoll = neon.state.requests.map((q) => q.path.includes("/operations/")).lastIndexOf(true);
    expect(uriAt).toBeGreaterThan(lastPoll);
  });

  it("fails (exit 1) when the create operation never finishes", async () => {
    neon = await startNeonStandin({ historyRetentionSeconds: 86_400, branchId: "br-prod-main", operations: { runningPolls: Infinity } });
    const r = await restoreNeon(["--new-branch", "inspect-stuck", "--neon-wait", "0.3", "--json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error.message).toMatch(/create_branch \(new branch inspect-stuck \(br-[0-9a-f]+\) from br-prod-main\) is still running after 0\.3 s/);
  });

  it("refuses a time outside the restore window or before the parent existed (exit 1) and sends nothing", async () => {
    neon = await startNeonStandin({ historyRetentionSeconds: 86_400, branchId: "br-prod-main" });
    const old = await restoreNeon(["--new-branch", "too-old", "--from", hoursAgo(48)]);
    expect(old.code).toBe(1);
    expect(old.stderr).toMatch(/outside Neon's 1-day restore window/);
    const future = await restoreNeon(["--new-branch", "future", "--from", new Date(Date.now() + 3600_000).toISOString()]);
    expect(future.code).toBe(1);
    expect(future.stderr).toContain("is in the future");
    // A parent younger than the time asked for: no history of it there.
    neon.state.branches.push({ id: "br-young", name: "young", created_at: hoursAgo(1) });
    const young = await restoreNeon(["--new-branch", "before-parent", "--from", hoursAgo(2), "--to", "br-young"]);
    expect(young.code).toBe(1);
    expect(young.stderr).toContain("branch br-young was created at");
    const missing = await restoreNeon(["--new-branch", "no-parent", "--to", "br-nope"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("branch br-nope does not exist");
    expect(writes()).toEqual([]);
    expect(neon.state.branches.map((b) => b.name)).toEqual(["main", "young"]);
  });

  it("refuses a name that already exists (exit 1) before creating anything", async () => {
    neon = await startNeonStandin({ historyRetentionSeconds: 86_400, branchId: "br-prod-main" });
    const r = await restoreNeon(["--new-branch", "main", "--json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toEqual({ code: "RestoreRefusedError", message: expect.stringContaining('a branch named "main" already exists') });
    expect(writes()).toEqual([]);
    const blank = await restoreNeon(["--new-branch", ""]);
    expect(blank.code).toBe(2);
    expect(blank.stderr).toContain("--new-branch");
    expect(writes()).toEqual([]);
  });

  it("the stand-in is as strict as Neon: duplicate name 409, timestamp outside the window 400", async () => {
    neon = await startNeonStandin({ historyRetentionSeconds: 86_400, branchId: "br-prod-main" });
    const post = (body: unknown) =>
      fetch(`${neon.url}/projects/${neon.state.projectId}/branches`, { method: "POST", headers: { authorization: `Bearer ${neon.state.apiKey}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    expect((await post({ branch: { parent_id: "br-prod-main", name: "main" } })).status).toBe(409);
    expect((await post({ branch: { parent_id: "br-prod-main", name: "x", parent_timestamp: hoursAgo(48) } })).status).toBe(400);
    expect((await post({ branch: { parent_id: "br-nope", name: "x" } })).status).toBe(404);
    expect((await post({ branch: { name: "x" }, endpoints: [{ type: "read_write" }, { type: "read_write" }] })).status).toBe(400);
    expect(neon.state.branches).toHaveLength(1);
    const made = (await (await post({ branch: { parent_id: "br-prod-main", name: "y" }, endpoints: [{ type: "read_write" }] })).json()) as { branch: { id: string }; endpoints: Array<{ id: string }> };
    const get = (p: string) => fetch(`${neon.url}/projects/${neon.state.projectId}/${p}`, { headers: { authorization: `Bearer ${neon.state.apiKey}` } });
    const eps = (await (await get(`branches/${made.branch.id}/endpoints`)).json()) as { endpoints: Array<{ id: string }> };
    expect(eps.endpoints.map((e) => e.id)).toEqual([made.endpoints[0]!.id]);
    expect((await get(`connection_uri?branch_id=${made.branch.id}&database_name=neondb&role_name=nobody`)).status).toBe(404);
    expect((await get(`connection_uri?branch_id=${made.branch.id}&database_name=neondb`)).status).toBe(400);
  });

  it("--validate-only checks the parent, the time and the name, and creates nothing", async () => {
    neon = await startNeonStandin({ historyRetentionSeconds: 86_400, branchId: "br-prod-main" });
    const ok = await restoreNeon(["--new-branch", "inspect-dry", "--from", hoursAgo(2), "--validate-only", "--json"]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ validateOnly: true, branchId: null, connectionUri: null, operations: [] });
    const taken = await restoreNeon(["--new-branch", "main", "--validate-only"]);
    expect(taken.code).toBe(1);
    expect(writes()).toEqual([]);
  });
});
