/**
 * Applies Neon's recovery settings; run by the NeonPitr component's command at `pulumi up`.
 *   apply    set history_retention_seconds and the branch backup_schedule, then read both back
 *   release  change nothing (see NeonPitr: deleting the DR stack must not shorten history)
 * Input comes from the environment (NEON_API_KEY, NEON_API_URL, NEON_PROJECT_ID,
 * NEON_BRANCH_ID, NEON_HISTORY_RETENTION_SECONDS, NEON_BACKUP_SCHEDULE; optionally
 * NEON_OPERATION_POLL_MS, NEON_OPERATION_TIMEOUT_MS). Prints one JSON line.
 * Each change waits for the operations Neon started for it: the next call would otherwise meet
 * `423 Locked` (see lib/neon/operations.ts).
 */
import { createApiClient, type BackupScheduleItem, type Operation } from "@neondatabase/api-client";
import { waitForOperations, waitOptionsFromEnv } from "../../lib/neon/operations";

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

export interface AppliedNeonSettings {
  projectId: string;
  branchId: string;
  historyRetentionSeconds: number;
  previousHistoryRetentionSeconds: number;
  backupSchedule: BackupScheduleItem[];
}

export async function applyNeonSettings(): Promise<AppliedNeonSettings> {
  const api = createApiClient({ apiKey: env("NEON_API_KEY"), baseURL: env("NEON_API_URL"), timeout: 30_000 });
  const projectId = env("NEON_PROJECT_ID");
  const branchId = env("NEON_BRANCH_ID");
  const wanted = Number(env("NEON_HISTORY_RETENTION_SECONDS"));
  const schedule = JSON.parse(env("NEON_BACKUP_SCHEDULE")) as BackupScheduleItem[];

  const wait = waitOptionsFromEnv(process.env);

  const before = (await api.getProject(projectId)).data.project;
  if (before.history_retention_seconds !== wanted) {
    const patched = await api.updateProject(projectId, { project: { history_retention_seconds: wanted } });
    await waitForOperations(api, projectId, patched.data.operations, { ...wait, what: "history_retention_seconds update" });
  }
  // The schedule endpoint documents an empty 200; wait anyway if Neon ever returns operations.
  const put = await api.setSnapshotSchedule(projectId, branchId, { schedule });
  await waitForOperations(api, projectId, (put.data as { operations?: Operation[] } | undefined)?.operations, { ...wait, what: "backup_schedule update" });

  // Read back: a plan limit can make Neon keep a different value than the one asked for.
  const after = (await api.getProject(projectId)).data.project;
  if (after.history_retention_seconds !== wanted) {
    throw new Error(
      `Neon kept history_retention_seconds=${after.history_retention_seconds} for ${projectId}, not ${wanted}; ` +
        `check the project's plan allows a ${wanted / 86_400}-day restore window`,
    );
  }
  const readBack = (await api.getSnapshotSchedule(projectId, branchId)).data.schedule;
  return {
    projectId,
    branchId,
    historyRetentionSeconds: after.history_retention_seconds,
    previousHistoryRetentionSeconds: before.history_retention_seconds,
    backupSchedule: readBack,
  };
}

async function main(verb: string | undefined): Promise<void> {
  if (verb === "apply") {
    process.stdout.write(`${JSON.stringify(await applyNeonSettings())}\n`);
  } else if (verb === "release") {
    process.stdout.write(
      `${JSON.stringify({ released: true, note: "Neon restore window and snapshot schedule left in place; change them in Neon if intended." })}\n`,
    );
  } else {
    process.stderr.write("usage: neonSettings.ts apply|release\n");
    process.exitCode = 2;
  }
}

if (require.main === module) {
  main(process.argv[2]).catch((err: unknown) => {
    const detail = (err as { response?: { status?: number; data?: unknown } }).response;
    process.stderr.write(
      `neon settings failed: ${err instanceof Error ? err.message : String(err)}${detail ? ` (HTTP ${detail.status}: ${JSON.stringify(detail.data)})` : ""}\n`,
    );
    process.exitCode = 1;
  });
}
