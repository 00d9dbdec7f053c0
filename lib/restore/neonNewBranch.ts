/**
 * `restore neon --new-branch NAME`: a new Neon branch holding the parent branch's data as of a
 * point in time, with a read-write compute endpoint, so the data can be inspected (or rows copied
 * back) without touching the parent. Through Neon's API v2:
 *   POST /projects/{project_id}/branches  {branch: {parent_id, name, parent_timestamp}, endpoints: [{type: "read_write"}]}
 *     https://neon.com/docs/reference/api/branches/create-project-branch ("To access the branch,
 *     add a `read_write` endpoint"); shapes: @neondatabase/api-client BranchCreateRequest.
 *   GET /projects/{project_id}/connection_uri?branch_id=&endpoint_id=&database_name=&role_name=
 *     (api-client getConnectionUri: "Retrieves a connection URI for the specified database").
 * The branch is usable only once the operations Neon started for it have finished
 * (lib/neon/operations.ts). Refusals (a time Neon cannot serve, a name in use) come before any write.
 */
import { createApiClient, EndpointType, type Api } from "@neondatabase/api-client";
import { waitForOperations, type WaitOptions } from "../neon/operations";
import { RestoreRefusedError } from "./modes";
import { checkPointInTime } from "./neonRestore";

export interface NeonNewBranchOptions {
  readonly apiKey: string;
  readonly apiUrl: string;
  readonly projectId: string;
  /** The branch to copy from (production). */
  readonly parentId: string;
  readonly name: string;
  /** Point in time on the parent; undefined = its current state (no parent_timestamp is sent). */
  readonly timestamp?: Date;
  readonly validateOnly: boolean;
  readonly showPassword: boolean;
  readonly wait?: Pick<WaitOptions, "timeoutMs" | "pollIntervalMs">;
}

export interface NeonNewBranchResult {
  readonly branchId: string | null;
  readonly branchName: string;
  readonly parentId: string;
  /** The parent's point in time the branch holds; null = the parent's state when it was created. */
  readonly parentTimestamp: string | null;
  readonly endpointId: string | null;
  readonly host: string | null;
  /** Password replaced by "REDACTED" unless showPassword. */
  readonly connectionUri: string | null;
  readonly validateOnly: boolean;
  /** Ids of the Neon operations that created the branch and started its compute, all finished. */
  readonly operations: readonly string[];
}

/** Neon's branch search matches partial names, a page at a time (CursorPaginationResponse:
 * `.pagination.next` goes back as `cursor`); the refusal is for an exact one. */
async function assertNameFree(api: Api<unknown>, projectId: string, name: string): Promise<void> {
  let cursor: string | undefined;
  let same: { id: string } | undefined;
  do {
    const page = (await api.listProjectBranches({ projectId, search: name, ...(cursor ? { cursor } : {}) })).data;
    same = page.branches.find((b) => b.name === name);
    cursor = page.branches.length ? page.pagination?.next : undefined;
  } while (!same && cursor);
  if (same) throw new RestoreRefusedError(`a branch named "${name}" already exists in project ${projectId} (${same.id}); choose another --new-branch name or delete that branch`);
}

export function redactPassword(uri: string): string {
  const u = new URL(uri);
  if (u.password) u.password = "REDACTED";
  return u.toString();
}

export async function createNeonBranchAt(o: NeonNewBranchOptions): Promise<NeonNewBranchResult> {
  const api = createApiClient({ apiKey: o.apiKey, baseURL: o.apiUrl, timeout: 30_000 });
  // "Now" still checks that the parent exists; only an explicit time is sent to Neon.
  await checkPointInTime(api, o.projectId, o.parentId, o.timestamp ?? new Date());
  await assertNameFree(api, o.projectId, o.name);
  const parentTimestamp = o.timestamp?.toISOString() ?? null;
  const planned = { branchId: null, branchName: o.name, parentId: o.parentId, parentTimestamp, endpointId: null, host: null, connectionUri: null };
  if (o.validateOnly) return { ...planned, validateOnly: true, operations: [] };

  const created = (
    await api.createProjectBranch(o.projectId, {
      branch: { parent_id: o.parentId, name: o.name, ...(parentTimestamp ? { parent_timestamp: parentTimestamp } : {}) },
      endpoints: [{ type: EndpointType.ReadWrite }],
    })
  ).data;
  const branchId = created.branch.id;
  const what = `new branch ${o.name} (${branchId}) from ${o.parentId}${parentTimestamp ? ` at ${parentTimestamp}` : ""}`;
  const finished = await waitForOperations(api, o.projectId, created.operations, { ...o.wait, what });
  const endpoint = created.endpoints.find((e) => e.type === EndpointType.ReadWrite);
  if (!endpoint) throw new RestoreRefusedError(`Neon created ${what} without a read-write endpoint; add one in the console`);
  const database = created.databases.length === 1 ? created.databases[0] : undefined;
  if (!database) {
    throw new RestoreRefusedError(`created ${what} with endpoint ${endpoint.host}, but it has ${created.databases.length} databases (${created.databases.map((d) => d.name).join(", ")}); get a connection string with GET /projects/${o.projectId}/connection_uri?branch_id=${branchId}&database_name=...&role_name=...`);
  }
  const { uri } = (
    await api.getConnectionUri({ projectId: o.projectId, branch_id: branchId, endpoint_id: endpoint.id, database_name: database.name, role_name: database.owner_name })
  ).data;
  return {
    ...planned,
    branchId,
    endpointId: endpoint.id,
    host: endpoint.host,
    connectionUri: o.showPassword ? uri : redactPassword(uri),
    validateOnly: false,
    operations: finished.map((op) => op.id),
  };
}
