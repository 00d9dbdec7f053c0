/**
 * NeonPitr's script, run as the command provider runs it (a child process with the
 * environment the component declares), against the Neon API stand-in.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { startNeonStandin, type NeonStandin } from "../../lib/local/neonStandin";
import { ROOT } from "../helpers/program";

const exec = promisify(execFile);
const SCRIPT = path.join(ROOT, "components", "neon", "neonSettings.ts");
const schedule = [
  { frequency: "daily", hour: 3, retention_seconds: 35 * 86_400 },
  { frequency: "weekly", day: 1, hour: 3, retention_seconds: 84 * 86_400 },
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
      "PUT /projects/P/branches/br-main-standin/backup_schedule",
      "GET /projects/P",
      "GET /projects/P/branches/br-main-standin/backup_schedule",
    ]);
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
