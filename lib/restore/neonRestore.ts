/**
 * Neon point-in-time restore through Neon's API v2: the branch is restored to its own state at
 * a timestamp inside the restore window, and its current state is preserved as a new branch
 * (so the restore can be undone). `--validate-only` checks the window and the branch and
 * changes nothing. The restore is reported only once Neon's operations for it have finished:
 * until then the branch's point in time "isn't finalized" (Neon API v2 spec, Branch.parent_lsn).
 */
import { createApiClient, type Api, type Branch, type Project } from "@neondatabase/api-client";
import { waitForOperations, type WaitOptions } from "../neon/operations";
import { RestoreRefusedError } from "./modes";

export interface NeonRestoreOptions {
  readonly apiKey: string;
  readonly apiUrl: string;
  readonly projectId: string;
  readonly branchId: string;
  /** Point in time to restore to. */
  readonly timestamp: Date;
  readonly validateOnly: boolean;
  /** Name under which the current branch state is kept. */
  readonly preserveUnderName?: string;
  /** How long and how often to poll the restore's operations (default 10 min, every 2 s). */
  readonly wait?: Pick<WaitOptions, "timeoutMs" | "pollIntervalMs">;
}

export interface NeonRestoreResult {
  readonly restoredTo: string;
  readonly preservedAs: string | null;
  readonly windowDays: number;
  readonly validateOnly: boolean;
  /** Ids of the Neon operations the restore ran, all finished. */
  readonly operations: readonly string[];
}

/** The project and the branch a point-in-time request reads from, after refusing a time that
 * Neon cannot serve: before the branch existed, outside the history retention window, or in the
 * future. Sends only GETs. Shared by the in-place restore and `--new-branch`. */
export async function checkPointInTime(api: Api<unknown>, projectId: string, branchId: string, timestamp: Date): Promise<{ project: Project; branch: Branch; windowDays: number }> {
  const { project } = (await api.getProject(projectId)).data;
  const branch = await api.getProjectBranch(projectId, branchId).then(
    (r) => r.data.branch,
    (err: { response?: { status?: number } }) => {
      if (err.response?.status === 404) throw new RestoreRefusedError(`branch ${branchId} does not exist in project ${projectId}`);
      throw err;
    },
  );
  if (Date.parse(branch.created_at) > timestamp.getTime()) {
    throw new RestoreRefusedError(`branch ${branchId} was created at ${branch.created_at}, after ${timestamp.toISOString()}; restore from its parent or a pg_dump backup`);
  }
  const windowDays = project.history_retention_seconds / 86_400;
  const oldest = Date.now() - project.history_retention_seconds * 1000;
  if (timestamp.getTime() < oldest) {
    throw new RestoreRefusedError(`${timestamp.toISOString()} is outside Neon's ${windowDays}-day restore window (oldest: ${new Date(oldest).toISOString()}); use a pg_dump backup instead`);
  }
  if (timestamp.getTime() > Date.now()) throw new RestoreRefusedError(`${timestamp.toISOString()} is in the future`);
  return { project, branch, windowDays };
}

export async function restoreNeonBranch(o: NeonRestoreOptions): Promise<NeonRestoreResult> {
  const api = createApiClient({ apiKey: o.apiKey, baseURL: o.apiUrl, timeout: 30_000 });
  const { windowDays } = await checkPointInTime(api, o.projectId, o.branchId, o.timestamp);
  const preserve = o.preserveUnderName ?? `pre-restore-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  let operations: string[] = [];
  if (!o.validateOnly) {
    const started = await api.restoreProjectBranch(o.projectId, o.branchId, {
      source_branch_id: o.branchId,
      source_timestamp: o.timestamp.toISOString(),
      preserve_under_name: preserve,
    });
    const finished = await waitForOperations(api, o.projectId, started.data.operations, { ...o.wait, what: `restore of ${o.branchId} to ${o.timestamp.toISOString()}` });
    operations = finished.map((op) => op.id);
  }
  return { restoredTo: o.timestamp.toISOString(), preservedAs: o.validateOnly ? null : preserve, windowDays, validateOnly: o.validateOnly, operations };
}
