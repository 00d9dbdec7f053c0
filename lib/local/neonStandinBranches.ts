/**
 * STAND-IN, NOT NEON: the branch-creation part of the Neon API stand-in (lib/local/neonStandin.ts),
 * kept apart so each file stays one concept. Shapes follow @neondatabase/api-client's generated
 * types (BranchCreateRequest, Endpoint, ConnectionDetails, ConnectionURIResponse) and the
 * documented endpoints:
 *   POST /projects/{project_id}/branches
 *     https://neon.com/docs/reference/api/branches/create-project-branch ("To access the branch,
 *     add a `read_write` endpoint. Each branch supports one read-write endpoint and multiple
 *     read-only endpoints"; parent_timestamp "must be provided in ISO 8601 format").
 *   GET  /projects/{project_id}/branches/{branch_id}/endpoints
 *   GET  /projects/{project_id}/connection_uri?branch_id=&endpoint_id=&database_name=&role_name=
 *   DELETE /projects/{project_id}/branches/{branch_id}
 *     https://neon.com/docs/reference/api/branches/delete-project-branch ("Deletes the specified
 *     branch from a project and places all compute endpoints into an idle state, breaking existing
 *     client connections. The deletion completes after all operations finish. You cannot delete a
 *     project's root or default branch, or a branch that has a child branch."). Neon does not
 *     document the status of those refusals; the stand-in answers 400. The deleted branch's
 *     endpoints go at once (the SQL endpoint refuses them), and its database is dropped.
 * Endpoints take `type` (read_write | read_only) and `suspend_timeout_seconds` (SuspendTimeoutSeconds
 * in the API spec: -1 never, 0 the default of 300, else 60..604800).
 * Strictness we rely on:
 *  - parent_timestamp must be inside the project's history retention window, not in the future
 *    and not before the parent branch existed (there is no history of the parent before that);
 *    Neon refuses those with 400.
 *  - a name already used by a branch → 409 Conflict. Neon's answer there is
 *    `branch with the provided name "..." already exists` (seen in neondatabase/create-branch-action#34;
 *    neondatabase/neon-pkgs#307 counts them among the API's 409 conflicts).
 *  - creating a branch is a mutating call: refused with 423 while an operation runs, and starts
 *    operations (create_branch, and start_compute for each endpoint) that run like the others.
 */
import { randomBytes } from "node:crypto";

export interface StandinEndpoint {
  id: string;
  branch_id: string;
  type: "read_write" | "read_only";
  host: string;
  created_at: string;
  suspend_timeout_seconds: number;
  /** A disabled endpoint refuses connections (Endpoint.disabled in the API). */
  disabled: boolean;
}

/** Every branch of the stand-in carries Neon's default database and its owner role (a project made
 * through the API starts with `neondb` owned by `neondb_owner`). */
export const STANDIN_DATABASE = "neondb";
export const STANDIN_ROLE = "neondb_owner";

export interface BranchCreationDeps {
  readonly projectId: string;
  /** The project's default (root) branch: never deleted. */
  readonly defaultBranchId: string;
  readonly historyRetentionSeconds: () => number;
  readonly branches: Array<{ id: string; name: string; parent_id?: string; created_at: string; parent_timestamp?: string }>;
  readonly endpoints: StandinEndpoint[];
  /** Per-branch role password, fixed at creation (shown only in connection strings). */
  readonly passwords: Record<string, string>;
  readonly ops: { start(action: string, branchId: string): unknown; assertUnlocked(): void };
  readonly fail: (status: number, message: string) => never;
  /** Gives a new branch its data (neonStandinSql.ts); a failure undoes the creation. */
  readonly onCreated?: (branch: { id: string; parent_id: string; parent_timestamp?: string }) => Promise<void>;
  /** Drops a deleted branch's data. */
  readonly onDeleted?: (branchId: string) => Promise<void>;
}

const hex = (n: number) => randomBytes(n).toString("hex");

export function branchCreationRoutes(d: BranchCreationDeps) {
  const findBranch = (bid: string) => d.branches.find((b) => b.id === bid) ?? d.fail(404, `branch ${bid} not found`);
  const uri = (e: StandinEndpoint) => `postgresql://${STANDIN_ROLE}:${d.passwords[e.branch_id]}@${e.host}/${STANDIN_DATABASE}?sslmode=require`;
  const now = () => new Date().toISOString();

  function checkTimestamp(raw: unknown, parent: { id: string; created_at: string }): string {
    const t = typeof raw === "string" && /^\d{4}-\d\d-\d\dT/.test(raw) ? Date.parse(raw) : Number.NaN;
    if (Number.isNaN(t)) d.fail(400, "parent_timestamp must be an ISO 8601 date-time");
    if (t > Date.now()) d.fail(400, "parent_timestamp is in the future");
    if (t < Date.now() - d.historyRetentionSeconds() * 1000) d.fail(400, "parent_timestamp is outside the history retention window");
    if (t < Date.parse(parent.created_at)) d.fail(400, `parent_timestamp is before branch ${parent.id} was created (${parent.created_at})`);
    return raw as string;
  }

  function suspendTimeout(raw: unknown): number {
    if (raw === undefined || raw === 0) return 300;
    if (raw === -1) return -1;
    if (!Number.isInteger(raw) || (raw as number) < 60 || (raw as number) > 604_800) d.fail(400, "suspend_timeout_seconds must be -1, 0, or 60 to 604800");
    return raw as number;
  }

  async function createBranch(body: unknown): Promise<[number, unknown]> {
    d.ops.assertUnlocked();
    const req = (body ?? {}) as { branch?: Record<string, unknown>; endpoints?: Array<{ type?: unknown }> };
    const b = req.branch ?? {};
    if (b.parent_lsn !== undefined && b.parent_timestamp !== undefined) d.fail(400, "specify parent_lsn or parent_timestamp, not both");
    const parent = findBranch(typeof b.parent_id === "string" && b.parent_id ? b.parent_id : (d.branches[0] as { id: string }).id);
    const name = b.name === undefined ? `br-${hex(4)}` : b.name;
    if (typeof name !== "string" || name.length < 1 || name.length > 256) d.fail(400, "branch name must be 1-256 characters");
    if (d.branches.some((x) => x.name === name)) d.fail(409, `branch with the provided name "${name}" already exists`);
    const at = b.parent_timestamp === undefined ? undefined : checkTimestamp(b.parent_timestamp, parent);
    const wanted = req.endpoints ?? [];
    if (!Array.isArray(wanted) || wanted.some((e) => e?.type !== "read_write" && e?.type !== "read_only")) d.fail(400, "endpoints[].type must be read_write or read_only");
    const suspend = wanted.map((e) => suspendTimeout((e as { suspend_timeout_seconds?: unknown }).suspend_timeout_seconds));
    if (wanted.filter((e) => e.type === "read_write").length > 1) d.fail(400, "a branch supports one read-write endpoint");

    const created = { id: `br-${hex(6)}`, name, parent_id: parent.id, created_at: now(), ...(at ? { parent_timestamp: at } : {}) };
    d.branches.push(created);
    d.passwords[created.id] = hex(12);
    const operations = [d.ops.start("create_branch", created.id)];
    const endpoints = wanted.map((e, i) => {
      const epId = `ep-${hex(6)}`;
      const ep: StandinEndpoint = { id: epId, branch_id: created.id, type: e.type as StandinEndpoint["type"], host: `${epId}.standin.neon.invalid`, created_at: now(), suspend_timeout_seconds: suspend[i] as number, disabled: false };
      d.endpoints.push(ep);
      operations.push(d.ops.start("start_compute", created.id));
      return endpointView(ep);
    });
    const rw = d.endpoints.find((e) => e.branch_id === created.id && e.type === "read_write");
    const connection_uris = rw
      ? [{ connection_uri: uri(rw), connection_parameters: { database: STANDIN_DATABASE, role: STANDIN_ROLE, password: d.passwords[created.id], host: rw.host, pooler_host: rw.host.replace(/^(ep-[^.]+)/, "$1-pooler") } }]
      : undefined;
    try {
      await d.onCreated?.({ id: created.id, parent_id: parent.id, ...(at ? { parent_timestamp: at } : {}) });
    } catch (err) {
      d.branches.splice(d.branches.indexOf(created), 1);
      for (let i = d.endpoints.length - 1; i >= 0; i--) if (d.endpoints[i]?.branch_id === created.id) d.endpoints.splice(i, 1);
      d.fail(500, `stand-in could not copy the branch's data: ${(err as Error).message}`);
    }
    const branchView = { ...created, project_id: d.projectId, current_state: "init", pending_state: "ready", default: false, protected: false, updated_at: created.created_at };
    const roles = [{ branch_id: created.id, name: STANDIN_ROLE, created_at: created.created_at, updated_at: created.created_at }];
    const databases = [{ id: 1, branch_id: created.id, name: STANDIN_DATABASE, owner_name: STANDIN_ROLE, created_at: created.created_at, updated_at: created.created_at }];
    return [201, { branch: branchView, endpoints, operations, roles, databases, ...(connection_uris ? { connection_uris } : {}) }];
  }

  async function deleteBranch(bid: string): Promise<[number, unknown]> {
    d.ops.assertUnlocked();
    const b = findBranch(bid);
    if (bid === d.defaultBranchId) d.fail(400, `branch ${bid} is the project's default branch and cannot be deleted`);
    const child = d.branches.find((x) => x.parent_id === bid);
    if (child) d.fail(400, `branch ${bid} has child branch ${child.id}; delete it first`);
    const operations = [];
    for (let i = d.endpoints.length - 1; i >= 0; i--) {
      if (d.endpoints[i]?.branch_id !== bid) continue;
      d.endpoints.splice(i, 1);
      operations.push(d.ops.start("suspend_compute", bid));
    }
    operations.push(d.ops.start("delete_timeline", bid));
    d.branches.splice(d.branches.indexOf(b), 1);
    delete d.passwords[bid];
    await d.onDeleted?.(bid);
    return [200, { branch: { ...b, project_id: d.projectId, current_state: "ready", updated_at: now() }, operations }];
  }

  function endpointView(e: StandinEndpoint) {
    return { ...e, project_id: d.projectId, region_id: "aws-us-east-1", current_state: "init", pending_state: "active", proxy_host: "standin.neon.invalid", updated_at: e.created_at };
  }

  function connectionUri(q: URLSearchParams): [number, unknown] {
    const database = q.get("database_name");
    const role = q.get("role_name");
    if (!database || !role) d.fail(400, "database_name and role_name are required");
    const bid = q.get("branch_id") ?? (d.branches[0] as { id: string }).id;
    findBranch(bid);
    const epId = q.get("endpoint_id");
    const ep = d.endpoints.find((e) => e.branch_id === bid && (epId ? e.id === epId : e.type === "read_write"));
    if (!ep) d.fail(404, epId ? `endpoint ${epId} not found on branch ${bid}` : `branch ${bid} has no read-write endpoint`);
    if (database !== STANDIN_DATABASE) d.fail(404, `database ${database} not found`);
    if (role !== STANDIN_ROLE) d.fail(404, `role ${role} not found`);
    return [200, { uri: uri(ep as StandinEndpoint) }];
  }

  return {
    /** Answers the routes this file serves, or undefined. `rest` is the path after /projects/{id}/. */
    async route(rest: string, method: string | undefined, url: URL, body: unknown): Promise<[number, unknown] | undefined> {
      if (rest === "branches" && method === "POST") return createBranch(body);
      const one = /^branches\/([^/]+)$/.exec(rest);
      if (one && method === "DELETE") return deleteBranch(one[1] as string);
      if (rest === "connection_uri" && method === "GET") return connectionUri(url.searchParams);
      const eps = /^branches\/([^/]+)\/endpoints$/.exec(rest);
      if (eps && method === "GET") {
        const bid = findBranch(eps[1] as string).id;
        return [200, { endpoints: d.endpoints.filter((e) => e.branch_id === bid).map(endpointView) }];
      }
      return undefined;
    },
  };
}
