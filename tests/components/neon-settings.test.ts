/**
 * NeonPitr's script, run as the command provider runs it (a child process with the
 * environment the component declares), against the Neon API stand-in. The stand-in answers
 * `423 Locked` while an operation runs (https://neon.com/docs/reference/api/operations.md), so
 * the script must poll each change's operations before the next call.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { createApiClient } from "@neondatabase/api-client";
import { startNeonStandin, type NeonStandin } from "../../lib/local/neonStandin";
import { ROOT } from "../helpers/program";

const exec = promisify(execFile);
const SCRIPT = path.join(ROOT, "components", "neon", "neonSettings.ts");
// 7 daily + 3 weekly: the 10 snapshots a paid plan keeps (https://neon.com/docs/guides/backup-restore).
const schedule = [
  { frequency: "daily", hour: 3, retention_seconds: 7 * 86_400 },
  { frequency: "weekly", day: 1, hour: 3, retention_seconds: 21 * 86_400 },
];

let neon: NeonStandin | undefined;
afterEach(async () => neon?.close());

function run(verb: string, env: Record<string, string>) {
  return exec(process.execPath, ["-r", path.join(ROOT, "cli", "register.cjs"), SCRIPT, verb], { cwd: ROOT, env: { ...process.env, ...env } });
}

function envFor(n: NeonStandin, seconds: number): Record<string, string> {
  return {
    NEON_API_KEY: n.state.apiKey,
    NEON_API_URL: n.url,
    NEON_PROJECT_ID: n.state.projectId,
    NEON_BRANCH_ID: "br-main-standin",
    NEON_HISTORY_RETENTION_SECONDS: String(seconds),
    NEON_BACKUP_SCHEDULE: JSON.stringify(schedule),
    NEON_OPERATION_POLL_MS: "20",
  };
}

describe("Neon settings script (against the stand-in)", () => {
  it("apply sets the window and the schedule, and reports what Neon read back", async () => {
    neon = await startNeonStandin({ historyRetentionSeconds: 86_400 });
    const { stdout } = await run("apply", envFor(neon, 14 * 86_400));
    const applied = JSON.parse(stdout);
    expect(applied).toMatchObject({ historyRetentionSeconds: 14 * 86_400, previousHistoryRetentionSeconds: 86_400, backupSchedule: schedule });
    expect(neon.state.historyRetentionSeconds).toBe(14 * 86_400);
    expect(neon.state.requests.map((r) => `${r.method} ${r.path.replace(neon!.state.projectId, "P")}`)).toEqual([
      "GET /projects/P",
      "PATCH /projects/P",
      `GET /projects/P/operations/${neon.state.operations[0]?.id}`,
      "PUT /projects/P/branches/br-main-standin/backup_schedule",
      "GET /projects/P",
      "GET /projects/P/branches/br-main-standin/backup_schedule",
    ]);
  });

  it("waits for a slow restore-window operation before setting the schedule (no 423)", async () => {
    neon = await startNeonStandin({ historyRetentionSeconds: 86_400, operations: { runningPolls: 3, runningMs: 150 } });
    const { stdout } = await run("apply", envFor(neon, 14 * 86_400));
    expect(JSON.parse(stdout).backupSchedule).toEqual(schedule);
    const paths = neon.state.requests.map((r) => `${r.method} ${r.path.replace(neon!.state.projectId, "P")}`);
    const op = neon.state.operations[0]!;
    expect(op.action).toBe("apply_storage_config");
    expect(op.polls).toBeGreaterThanOrEqual(3); // answers of `running`, then one of `finished`
    expect(paths.filter((p) => p === `GET /projects/P/operations/${op.id}`)).toHaveLength(op.polls + 1);
    expect(paths.lastIndexOf(`GET /projects/P/operations/${op.id}`)).toBeLessThan(paths.indexOf("PUT /projects/P/branches/br-main-standin/backup_schedule"));
  });

  it("the stand-in answers 423 Locked to a call that does not wait (what polling prevents)", async () => {
    neon = await startNeonStandin({ historyRetentionSeconds: 86_400, operations: { runningPolls: 1 } });
    const api = createApiClient({ apiKey: neon.state.apiKey, baseURL: neon.url });
    const patched = await api.updateProject(neon.state.projectId, { project: { history_retention_seconds: 7 * 86_400 } });
    expect(patched.data.operations.map((o) => o.status)).toEqual(["running"]);
    const locked = await api.setSnapshotSchedule(neon.state.projectId, "br-main-standin", { schedule: schedule as never }).catch((e) => e.response);
    expect(locked.status).toBe(423);
    expect(locked.data).toMatchObject({ code: "423", message: expect.stringContaining(`locked by operation ${patched.data.operations[0]!.id}`), request_id: expect.any(String) });
    expect(neon.state.schedules).toEqual({});
  });

  it("fails naming the operation when Neon's operation never finishes (timeout) or fails", async () => {
    neon = await startNeonStandin({ historyRetentionSeconds: 86_400, operations: { runningPolls: Infinity } });
    const timedOut = await run("apply", { ...envFor(neon, 7 * 86_400), NEON_OPERATION_TIMEOUT_MS: "300" }).catch((e) => e);
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr).toContain(`Neon operation ${neon.state.operations[0]!.id} apply_storage_config (history_retention_seconds update) is still running after 0.3 s`);
    expect(neon.state.schedules).toEqual({});
    await neon.close();
    neon = await startNeonStandin({ historyRetentionSeconds: 86_400, operations: { endStatus: "failed" } });
    await expect(run("apply", envFor(neon, 7 * 86_400))).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/Neon operation [0-9a-f-]{36} apply_storage_config .* ended failed/) });
  });

  it("fails when Neon refuses a schedule over the plan's snapshot cap", async () => {
    neon = await startNeonStandin({ historyRetentionSeconds: 7 * 86_400 });
    const over = JSON.stringify([{ frequency: "daily", hour: 3, retention_seconds: 35 * 86_400 }]);
    await expect(run("apply", { ...envFor(neon, 7 * 86_400), NEON_BACKUP_SCHEDULE: over })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("keeps up to 35 snapshots, over the launch plan's limit of 10"),
    });
  });

  it("the stand-in refuses schedules Neon would: any on Free, kept indefinitely, or an undocumented frequency", async () => {
    const put = async (n: NeonStandin, items: unknown[]) => {
      const api = createApiClient({ apiKey: n.state.apiKey, baseURL: n.url });
      return api.setSnapshotSchedule(n.state.projectId, "br-main-standin", { schedule: items as never }).then((r) => r.status, (e) => `${e.response.status} ${e.response.data.message}`);
    };
    neon = await startNeonStandin({ plan: "free" });
    expect(await put(neon, [{ frequency: "daily", hour: 3, retention_seconds: 86_400 }])).toBe("400 automated backup schedules are not available on the free plan");
    expect(await put(neon, [])).toBe(200);
    await neon.close();
    neon = await startNeonStandin({ plan: "scale" });
    expect(await put(neon, [{ frequency: "weekly", day: 1, hour: 3 }])).toMatch(/^400 weekly snapshots without retention_seconds are kept indefinitely/);
    expect(await put(neon, [{ frequency: "hourly", retention_seconds: 7200 }])).toBe("400 invalid frequency hourly");
    expect(await put(neon, schedule)).toBe(200);
  });

  it("re-applying an unchanged window does not PATCH the project", async () => {
    neon = await startNeonStandin({ historyRetentionSeconds: 7 * 86_400 });
    await run("apply", envFor(neon, 7 * 86_400));
    expect(neon.state.requests.some((r) => r.method === "PATCH")).toBe(false);
  });

  it("fails loudly when Neon refuses the window (over 30 days)", async () => {
    neon = await startNeonStandin();
    await expect(run("apply", envFor(neon, 45 * 86_400))).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("HTTP 400"),
    });
  });

  it("fails on a wrong API key without changing anything", async () => {
    neon = await startNeonStandin({ historyRetentionSeconds: 86_400 });
    await expect(run("apply", { ...envFor(neon, 7 * 86_400), NEON_API_KEY: "wrong" })).rejects.toMatchObject({
      stderr: expect.stringContaining("HTTP 401"),
    });
    expect(neon.state.historyRetentionSeconds).toBe(86_400);
  });

  it("release leaves Neon untouched", async () => {
    neon = await startNeonStandin({ historyRetentionSeconds: 86_400 });
    const { stdout } = await run("release", envFor(neon, 14 * 86_400));
    expect(JSON.parse(stdout).released).toBe(true);
    expect(neon.state.requests).toEqual([]);
  });
});
