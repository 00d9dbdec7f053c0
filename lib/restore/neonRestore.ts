/**
 * Neon point-in-time restore through Neon's API v2: the branch is restored to its own state at
 * a timestamp inside the restore window, and its current state is preserved as a new branch
 * (so the restore can be undone). `--validate-only` checks the window and the branch and
 * changes nothing.
 */
import { createApiClient } from "@neondatabase/api-client";
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
}

export interface NeonRestoreResult {
  readonly restoredTo: string;
  readonly preservedAs: string | null;
  readonly windowDays: number;
  readonly validateOnly: boolean;
}

export async function restoreNeonBranch(o: NeonRestoreOptions): Promise<NeonRestoreResult> {
  const api = createApiClient({ apiKey: o.apiKey, baseURL: o.apiUrl, timeout: 30_000 });
  const { project } = (await api.getProject(o.projectId)).data;
  const branch = await api.getProjectBranch(o.projectId, o.branchId).then(
    (r) => r.data.branch,
    (err: { response?: { status?: number } }) => {
      if (err.response?.status === 404) throw new RestoreRefusedError(`branch ${o.branchId} does not exist in project ${o.projectId}`);
      throw err;
    },
  );
  if (Date.parse(branch.created_at) > o.timestamp.getTime()) {
    throw new RestoreRefusedError(`branch ${o.branchId} was created at ${branch.created_at}, after ${o.timestamp.toISOString()}; restore from its parent or a pg_dump backup`);
  }
  const windowDays = project.history_retention_seconds / 86_400;
  const oldest = Date.now() - project.history_retention_seconds * 1000;
  if (o.timestamp.getTime() < oldest) {
    throw new RestoreRefusedError(`${o.timestamp.toISOString()} is outside Neon's ${windowDays}-day restore window (oldest: ${new Date(oldest).toISOString()}); use a pg_dump backup instead`);
  }
  if (o.timestamp.getTime() > Date.now()) throw new RestoreRefusedError(`${o.timestamp.toISOString()} is in the future`);
  const preserve = o.preserveUnderName ?? `pre-restore-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  if (!o.validateOnly) {
    await api.restoreProjectBranch(o.projectId, o.branchId, {
      source_branch_id: o.branchId,
      source_timestamp: o.timestamp.toISOString(),
      preserve_under_name: preserve,
    });
  }
  return { restoredTo: o.timestamp.toISOString(), preservedAs: o.validateOnly ? null : preserve, windowDays, validateOnly: o.validateOnly };
}
