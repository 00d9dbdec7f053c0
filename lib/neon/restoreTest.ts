/**
 * The Neon point-in-time restore test, run by the backup Worker on the restore-test cron (so:
 * worker-safe, no node: module, no `pg`). It proves that Neon can give back the production
 * branch as it was at a random moment inside the restore window, and that the data there passes
 * the same integrity checks `drposture integrity --postgres` runs:
 *  1. reads the project's real history retention (a drifted window is tested as it is, not as
 *     declared) and the parent branch, and picks a point in time inside both;
 *  2. creates a branch from the production branch at that `parent_timestamp` with one short-lived
 *     read_only endpoint (POST /projects/{id}/branches,
 *     https://neon.com/docs/reference/api/branches/create-project-branch), and polls the
 *     operations that call started until they end (lib/neon/operations.ts);
 *  3. asks for the endpoint's connection string (GET /projects/{id}/connection_uri) and runs the
 *     checks over Neon's serverless HTTP driver (lib/integrity/neonHttp.ts);
 *  4. deletes the branch whatever happened (DELETE /projects/{id}/branches/{branch_id},
 *     https://neon.com/docs/reference/api/branches/delete-project-branch) and waits for that too.
 * It never throws for a failed test: every failure is `passed: false` with `error`, and a branch
 * that could not be deleted is named there.
 */
import type { BranchResponse, DatabasesResponse, EndpointsResponse, OperationsResponse } from "@neondatabase/api-client";
import type { BackupPlan, PlanAsset } from "../backup/plan";
import type { DeclaredCheck } from "../integrity/declaredChecks";
import { neonHttpReader } from "../integrity/neonHttp";
import { postgresChecks } from "../integrity/postgresChecks";
import type { IntegrityResult } from "../integrity/result";
import { NeonApi, NeonApiError } from "./workerApi";
import { waitForOperations, type WaitOptions } from "./operations";

export interface NeonRestoreTestResult {
  asset: string;
  passed: boolean;
  pointInTime: string;
  branchId: string | null;
  seconds: number;
  rtoTargetSeconds: number | null;
  integrity: IntegrityResult[];
  error?: string;
}

/** Points this close to either end of the window are not picked: "now" has not settled into
 * history yet, and the far edge moves on while the request is in flight. */
export const WINDOW_EDGE_MARGIN_MS = 5 * 60_000;
/** Neon's minimum scale-to-zero delay (SuspendTimeoutSeconds in the API: "The minimum value is
 * `60` seconds"): the test endpoint stops soon after the checks even if the delete fails. */
const ENDPOINT_SUSPEND_SECONDS = 60;
const WAIT: WaitOptions = { pollIntervalMs: 1_000, timeoutMs: 10 * 60_000 };
/** Attempts at a DELETE refused with 423 (an operation of the project still runs). */
const DELETE_ATTEMPTS = 30;

/** POST /projects/{id}/branches answers with the branch, its endpoints, the operations started and
 * the databases it inherited (createProjectBranch's response type in @neondatabase/api-client). */
type CreatedBranch = BranchResponse & EndpointsResponse & OperationsResponse & DatabasesResponse;

/** The branch name says what it is to anyone looking at the project's branches. */
export function restoreTestBranchName(now: Date): string {
  return `drposture-restore-test-${now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}`;
}

/**
 * A random point in [window start + margin, now - margin], where the window is the shorter of
 * the project's real history retention and the declared one, and never before the parent branch
 * existed. Whole seconds: Neon takes RFC 3339 timestamps.
 */
export function pickPointInTime(o: { now: Date; retentionSeconds: number; declaredDays: number; parentCreatedAt?: string; random: () => number }): Date {
  const nowMs = o.now.getTime();
  const windowMs = Math.min(o.retentionSeconds, o.declaredDays * 86_400) * 1000;
  const parentMs = o.parentCreatedAt ? Date.parse(o.parentCreatedAt) : Number.NEGATIVE_INFINITY;
  const earliest = Math.max(nowMs - windowMs, parentMs) + WINDOW_EDGE_MARGIN_MS;
  const latest = nowMs - WINDOW_EDGE_MARGIN_MS;
  if (!(latest > earliest)) {
    throw new Error(`the restore window (${o.retentionSeconds} s of history on Neon, ${o.declaredDays} day(s) declared) leaves no point in time to test at least ${WINDOW_EDGE_MARGIN_MS / 60_000} minutes from either end`);
  }
  const r = Math.min(Math.max(o.random(), 0), 1);
  return new Date(Math.floor((earliest + r * (latest - earliest)) / 1000) * 1000);
}

/** The database the checks run on: the only one, else Neon's default `neondb`, else the first. */
function pickDatabase(dbs: CreatedBranch["databases"]): { name: string; owner_name: string } {
  const list = [...(dbs ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  const db = list.length === 1 ? list[0] : (list.find((d) => d.name === "neondb") ?? list[0]);
  if (!db) throw new Error("the restored branch has no database to check");
  return db;
}

/** Deletes the test branch, retrying while the project is locked, and waits for the deletion's
 * operations. Returns why it could not, or null when the branch is gone. */
async function deleteBranch(api: NeonApi, projectId: string, branch: { id: string; name: string }): Promise<string | null> {
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await api.call<OperationsResponse>("DELETE", `/projects/${projectId}/branches/${branch.id}`);
      await waitForOperations(api.operations, projectId, r.operations, { ...WAIT, what: `deletion of restore-test branch ${branch.id}` });
      return null;
    } catch (err) {
      if (err instanceof NeonApiError && err.status === 404) return null;
      if (err instanceof NeonApiError && err.status === 423 && attempt < DELETE_ATTEMPTS) {
        await new Promise((r) => setTimeout(r, WAIT.pollIntervalMs));
        continue;
      }
      return (err as Error).message;
    }
  }
}

/** After a create that failed without a clear refusal (5xx, network), the branch may exist. */
async function findBranchNamed(api: NeonApi, projectId: string, name: string): Promise<{ id: string; name: string } | null> {
  try {
    const { branches } = await api.call<{ branches: Array<{ id: string; name: string }> }>("GET", `/projects/${projectId}/branches`);
    return branches.find((b) => b.name === name) ?? null;
  } catch {
    return null;
  }
}

export interface NeonRestoreTestOptions {
  neon: NonNullable<BackupPlan["neon"]>;
  apiKey: string;
  asset: PlanAsset;
  checks: readonly DeclaredCheck[];
  now: Date;
  fetch?: typeof fetch;
  random?: () => number;
}

/** How far a run got: what the result reports, and what the clean-up must undo. */
interface Progress {
  pointInTime: string;
  branch: { id: string; name: string } | null;
  integrity: IntegrityResult[];
  /** Date.now() when the branch was asked for, and when the checks were done. */
  started: number | null;
  finished: number | null;
  /** Neon refused the create (4xx): no branch can exist. */
  createRefused: boolean;
}

/** Steps 1-3 of the header; throws on the first failure, leaving `p` saying how far it got. */
async function branchAndCheck(api: NeonApi, o: NeonRestoreTestOptions, name: string, p: Progress): Promise<void> {
  const { projectId, branchId: parentId } = o.neon;
  const { project } = await api.call<{ project: { history_retention_seconds: number } }>("GET", `/projects/${projectId}`);
  const { branch: parent } = await api.call<{ branch: { created_at?: string } }>("GET", `/projects/${projectId}/branches/${parentId}`);
  const at = pickPointInTime({ now: o.now, retentionSeconds: project.history_retention_seconds, declaredDays: o.neon.restoreWindowDays, ...(parent.created_at ? { parentCreatedAt: parent.created_at } : {}), random: o.random ?? Math.random });
  p.pointInTime = at.toISOString().replace(/\.\d+Z$/, "Z");
  p.started = Date.now();
  const created = await api
    .call<CreatedBranch>("POST", `/projects/${projectId}/branches`, {
      branch: { parent_id: parentId, name, parent_timestamp: p.pointInTime },
      endpoints: [{ type: "read_only", suspend_timeout_seconds: ENDPOINT_SUSPEND_SECONDS }],
    })
    .catch((err: unknown) => {
      p.createRefused = err instanceof NeonApiError && err.status >= 400 && err.status < 500;
      throw err;
    });
  const branch = (p.branch = created.branch);
  await waitForOperations(api.operations, projectId, created.operations, { ...WAIT, what: `creation of restore-test branch ${branch.id}` });
  const endpoint = (created.endpoints ?? []).find((e) => e.type === "read_only");
  if (!endpoint) throw new Error(`Neon created branch ${branch.id} without the read_only endpoint asked for`);
  const db = pickDatabase(created.databases);
  const q = new URLSearchParams({ branch_id: branch.id, endpoint_id: endpoint.id, database_name: db.name, role_name: db.owner_name });
  const { uri } = await api.call<{ uri: string }>("GET", `/projects/${projectId}/connection_uri?${q}`);
  p.integrity = await postgresChecks(neonHttpReader(uri), o.checks);
  p.finished = Date.now();
}

/** Step 4: deletes the branch if one was (or may have been) created. Returns why it is still
 * there, or null. */
async function cleanUp(api: NeonApi, projectId: string, name: string, p: Progress): Promise<string | null> {
  if (!p.branch && p.started !== null && !p.createRefused) p.branch = await findBranchNamed(api, projectId, name);
  if (!p.branch) return null;
  const why = await deleteBranch(api, projectId, p.branch);
  return why && `restore-test branch ${p.branch.id} (${p.branch.name}) was left behind: ${why}; delete it with DELETE /projects/${projectId}/branches/${p.branch.id}`;
}

export async function runNeonRestoreTest(o: NeonRestoreTestOptions): Promise<NeonRestoreTestResult> {
  const api = new NeonApi(o.neon.apiUrl, o.apiKey, o.fetch);
  const name = restoreTestBranchName(o.now);
  const p: Progress = { pointInTime: "", branch: null, integrity: [], started: null, finished: null, createRefused: false };
  const errors: string[] = [];
  try {
    await branchAndCheck(api, o, name, p);
  } catch (err) {
    errors.push((err as Error).message);
  } finally {
    const leftBehind = await cleanUp(api, o.neon.projectId, name, p);
    if (leftBehind) errors.push(leftBehind);
  }
  return {
    asset: o.asset.name,
    passed: errors.length === 0 && p.integrity.length > 0 && p.integrity.every((c) => c.ok),
    pointInTime: p.pointInTime,
    branchId: p.branch?.id ?? null,
    seconds: p.started === null ? 0 : ((p.finished ?? Date.now()) - p.started) / 1000,
    rtoTargetSeconds: o.asset.rtoMinutes === undefined ? null : o.asset.rtoMinutes * 60,
    integrity: p.integrity,
    ...(errors.length ? { error: errors.join("; ") } : {}),
  };
}
