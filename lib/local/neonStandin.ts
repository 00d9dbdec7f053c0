/**
 * STAND-IN, NOT NEON. A local HTTP server that speaks the subset of Neon's documented API v2
 * that dr-posture calls (https://api-docs.neon.tech/reference/), so the code that talks to
 * Neon can run against something here. It keeps state in memory, enforces the documented
 * limits we depend on (restore window at most 30 days, snapshot schedule shape, bearer auth)
 * and records every request so tests can see exactly what was sent. At least as strict as
 * Neon where it matters to us:
 *  - mutating calls start operations that stay `running` for a configurable number of polls or
 *    milliseconds; while one runs, another mutating call on the project gets `423 Locked`
 *    (https://neon.com/docs/reference/api/operations.md: "Neon limits overlapping operations per
 *    project. Requests that conflict with a running operation return `423 Locked`");
 *  - snapshots are capped per plan (https://neon.com/docs/guides/backup-restore: "Snapshot
 *    limits: 1 on the Free plan and 10 on paid plans. Automated backup schedules are available
 *    on paid plans except for the Agent plan"): a backup_schedule whose retention lets more
 *    snapshots live at once than the plan keeps is refused. Neon does not document the status
 *    of that refusal; the stand-in answers 400 with Neon's error body ({code, message, request_id}).
 *
 *   GET/PATCH /projects/{project_id}
 *   GET/PUT   /projects/{project_id}/branches/{branch_id}/backup_schedule
 *   POST      /projects/{project_id}/branches/{branch_id}/snapshot
 *   GET       /projects/{project_id}/snapshots
 *   GET       /projects/{project_id}/branches
 *   GET       /projects/{project_id}/branches/{branch_id}
 *   POST      /projects/{project_id}/branches/{branch_id}/restore
 *   GET       /projects/{project_id}/operations, GET /projects/{project_id}/operations/{operation_id}
 *   POST      /projects/{project_id}/branches, GET .../branches/{branch_id}/endpoints,
 *   GET       /projects/{project_id}/connection_uri, DELETE .../branches/{branch_id}
 *             (lib/local/neonStandinBranches.ts)
 *   POST      /sql   Neon's SQL-over-HTTP endpoint, backed by a local PostgreSQL cluster when one
 *             is given (lib/local/neonStandinSql.ts; authenticated by the connection string)
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { branchCreationRoutes, type StandinEndpoint } from "./neonStandinBranches";
import { standinSql, type StandinPostgres } from "./neonStandinSql";

export const NEON_MAX_HISTORY_RETENTION_SECONDS = 2_592_000;

export interface StandinRequest {
  method: string;
  path: string;
  body: unknown;
}

interface StandinBranch {
  id: string;
  name: string;
  parent_id?: string;
  parent_timestamp?: string;
  created_at: string;
  restored_from?: { source_branch_id: string; source_timestamp?: string };
}

interface StandinSnapshot {
  id: string;
  name: string;
  source_branch_id: string;
  created_at: string;
  timestamp: string;
  manual: boolean;
  expires_at?: string;
}

export type StandinPlan = "free" | "launch" | "scale" | "business" | "enterprise" | "agent";

/** How long the operations that mutating calls start keep running. An operation finishes once
 * it has been polled `runningPolls` times AND `runningMs` have passed; then it ends `endStatus`. */
export interface StandinOperationBehaviour {
  /** GETs of the operation that still answer `running` (Infinity: it never finishes). */
  runningPolls: number;
  runningMs: number;
  endStatus: "finished" | "failed" | "cancelled";
}

interface StandinOperation {
  id: string;
  project_id: string;
  branch_id: string;
  action: string;
  created_at: string;
  /** GETs that answered `running`. */
  polls: number;
  startedMs: number;
  behaviour: StandinOperationBehaviour;
}

export interface NeonStandinState {
  apiKey: string;
  projectId: string;
  historyRetentionSeconds: number;
  plan: StandinPlan;
  /** Applies to operations started from now on; tests may change it between calls. */
  operationBehaviour: StandinOperationBehaviour;
  branches: StandinBranch[];
  schedules: Record<string, unknown[]>;
  snapshots: StandinSnapshot[];
  operations: StandinOperation[];
  endpoints: StandinEndpoint[];
  /** The role password of each branch created through POST /branches. */
  passwords: Record<string, string>;
  requests: StandinRequest[];
}

export interface NeonStandinOptions extends Partial<Pick<NeonStandinState, "apiKey" | "projectId" | "historyRetentionSeconds" | "plan">> {
  branchId?: string;
  operations?: Partial<StandinOperationBehaviour>;
  /** The local PostgreSQL behind the SQL endpoint; without it the stand-in serves no SQL. */
  postgres?: StandinPostgres;
}

export interface NeonStandin {
  readonly url: string;
  readonly state: NeonStandinState;
  /** The SQL endpoint (`neonConfig.fetchEndpoint` for @neondatabase/serverless). */
  readonly sqlEndpoint: string;
  /** Branch data behind the SQL endpoint (see lib/local/neonStandinSql.ts). */
  readonly sql: Pick<ReturnType<typeof standinSql>, "recordPointInTime" | "databases">;
  close(): Promise<void>;
}

const id = (prefix: string) => `${prefix}-${randomBytes(6).toString("hex")}`;

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  if (!chunks.length) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "request body is not valid JSON");
  }
}

/** Frequencies the PUT backup_schedule reference lists ("Must be one of the following values:
 * daily, weekly, monthly"), each with the shortest gap between two of its snapshots: a
 * retention of N gaps can keep N snapshots alive at once (months: February's 28 days).
 * https://neon.com/docs/reference/api/snapshots/set-snapshot-schedule.md */
const SNAPSHOT_GAP_SECONDS: Record<string, number> = { daily: 86_400, weekly: 7 * 86_400, monthly: 28 * 86_400 };
/** Snapshots kept per plan, and the plans with no automated schedule (see the header). */
const SNAPSHOT_LIMIT: Record<StandinPlan, number> = { free: 1, launch: 10, scale: 10, business: 10, enterprise: 10, agent: 10 };
const NO_SCHEDULE: ReadonlySet<StandinPlan> = new Set(["free", "agent"]);

function validateSchedule(body: unknown, plan: StandinPlan): unknown[] {
  const schedule = (body as { schedule?: unknown })?.schedule;
  if (!Array.isArray(schedule)) throw new HttpError(400, "schedule must be an array");
  if (schedule.length > 0 && NO_SCHEDULE.has(plan)) throw new HttpError(400, `automated backup schedules are not available on the ${plan} plan`);
  let alive = 0;
  for (const item of schedule as Array<Record<string, unknown>>) {
    const gap = SNAPSHOT_GAP_SECONDS[String(item.frequency)];
    if (!gap) throw new HttpError(400, `invalid frequency ${String(item.frequency)}`);
    if (item.hour !== undefined && (Number(item.hour) < 0 || Number(item.hour) > 23)) throw new HttpError(400, "hour must be 0-23");
    // Without retention_seconds "the snapshot is kept indefinitely": no cap could hold it.
    if (item.retention_seconds === undefined) throw new HttpError(400, `${String(item.frequency)} snapshots without retention_seconds are kept indefinitely, over the ${plan} plan's limit of ${SNAPSHOT_LIMIT[plan]}`);
    if (Number(item.retention_seconds) < 3600) throw new HttpError(400, "retention_seconds must be >= 3600");
    alive += Math.ceil(Number(item.retention_seconds) / gap);
  }
  if (alive > SNAPSHOT_LIMIT[plan]) {
    throw new HttpError(400, `backup schedule keeps up to ${alive} snapshots, over the ${plan} plan's limit of ${SNAPSHOT_LIMIT[plan]}`);
  }
  return schedule;
}

/** The stand-in's operations: started by mutating calls, polled, and locking the project. */
function operationsOf(state: NeonStandinState) {
  const statusOf = (op: StandinOperation): string =>
    op.polls < op.behaviour.runningPolls || Date.now() - op.startedMs < op.behaviour.runningMs ? "running" : op.behaviour.endStatus;
  const view = (op: StandinOperation) => {
    const status = statusOf(op);
    return {
      id: op.id,
      project_id: op.project_id,
      branch_id: op.branch_id,
      action: op.action,
      status,
      failures_count: status === "failed" ? 1 : 0,
      ...(status === "failed" ? { error: "stand-in: operation failed as configured" } : {}),
      created_at: op.created_at,
      updated_at: new Date().toISOString(),
      total_duration_ms: Date.now() - op.startedMs,
    };
  };
  return {
    start(action: string, branchId: string) {
      const op: StandinOperation = { id: randomUUID(), project_id: state.projectId, branch_id: branchId, action, created_at: new Date().toISOString(), polls: 0, startedMs: Date.now(), behaviour: { ...state.operationBehaviour } };
      state.operations.push(op);
      // As Neon does, the response reports the operation before it ran.
      return { ...view(op), status: "running" };
    },
    list: () => state.operations.map(view),
    poll(id: string) {
      const op = state.operations.find((x) => x.id === id);
      if (!op) throw new HttpError(404, `operation ${id} not found`);
      const seen = view(op);
      if (seen.status === "running") op.polls += 1;
      return seen;
    },
    /** A mutating call while an operation runs is refused, as Neon refuses it. */
    assertUnlocked() {
      const running = state.operations.find((op) => statusOf(op) === "running");
      if (running) throw new HttpError(423, `project ${state.projectId} is locked by operation ${running.id} (${running.action}), still running; retry when it finishes`);
    },
  };
}

export async function startNeonStandin(init: NeonStandinOptions = {}): Promise<NeonStandin> {
  const branchId = init.branchId ?? "br-main-standin";
  const state: NeonStandinState = {
    apiKey: init.apiKey ?? "standin-key",
    projectId: init.projectId ?? "standin-project-000001",
    historyRetentionSeconds: init.historyRetentionSeconds ?? 86_400,
    plan: init.plan ?? "launch",
    operationBehaviour: { runningPolls: 0, runningMs: 0, endStatus: "finished", ...init.operations },
    // A long-lived main branch, older than any restore window.
    branches: [{ id: branchId, name: "main", created_at: new Date(Date.now() - 60 * 86_400_000).toISOString() }],
    schedules: {},
    snapshots: [],
    operations: [],
    endpoints: [],
    passwords: {},
    requests: [],
  };
  const ops = operationsOf(state);
  const sql = standinSql({ ...(init.postgres ? { postgres: init.postgres } : {}), defaultBranchId: branchId, endpoints: state.endpoints, passwords: state.passwords });
  const creation = branchCreationRoutes({
    projectId: state.projectId,
    defaultBranchId: branchId,
    onCreated: sql.branchCreated,
    onDeleted: sql.branchDeleted,
    historyRetentionSeconds: () => state.historyRetentionSeconds,
    branches: state.branches,
    endpoints: state.endpoints,
    passwords: state.passwords,
    ops,
    fail: (status, message) => {
      throw new HttpError(status, message);
    },
  });

  const project = () => ({
    id: state.projectId,
    name: state.projectId,
    platform_id: "aws",
    region_id: "aws-us-east-1",
    pg_version: 15,
    history_retention_seconds: state.historyRetentionSeconds,
    created_at: "2026-01-01T00:00:00Z",
    updated_at: new Date().toISOString(),
  });
  const branch = (bid: string) => {
    const b = state.branches.find((x) => x.id === bid);
    if (!b) throw new HttpError(404, `branch ${bid} not found`);
    return b;
  };
  function patchProject(body: unknown): [number, unknown] {
    ops.assertUnlocked();
    const seconds = (body as { project?: { history_retention_seconds?: number } })?.project?.history_retention_seconds;
    if (seconds === undefined || seconds === state.historyRetentionSeconds) return [200, { project: project(), operations: [] }];
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > NEON_MAX_HISTORY_RETENTION_SECONDS)
      throw new HttpError(400, `history_retention_seconds must be between 0 and ${NEON_MAX_HISTORY_RETENTION_SECONDS}`);
    state.historyRetentionSeconds = seconds;
    // https://neon.com/docs/manage/operations: "updating the history retention period for a project initiates this operation."
    const main = state.branches[0] as StandinBranch;
    return [200, { project: project(), operations: [ops.start("apply_storage_config", main.id)] }];
  }

  function takeSnapshot(bid: string, q: URLSearchParams): [number, unknown] {
    ops.assertUnlocked();
    if (state.snapshots.length >= SNAPSHOT_LIMIT[state.plan]) {
      throw new HttpError(400, `the ${state.plan} plan keeps at most ${SNAPSHOT_LIMIT[state.plan]} snapshots; delete one first`);
    }
    const now = new Date().toISOString();
    const snap: StandinSnapshot = {
      id: id("snap"),
      name: q.get("name") ?? `snapshot-${now}`,
      source_branch_id: bid,
      created_at: now,
      timestamp: q.get("timestamp") ?? now,
      manual: true,
      ...(q.get("expires_at") ? { expires_at: q.get("expires_at") as string } : {}),
    };
    state.snapshots.push(snap);
    return [201, { snapshot: snap, operations: [ops.start("create_snapshot", bid)] }];
  }

  function restoreBranch(bid: string, body: unknown): [number, unknown] {
    ops.assertUnlocked();
    const r = body as { source_branch_id?: string; source_timestamp?: string; preserve_under_name?: string };
    if (!r?.source_branch_id) throw new HttpError(400, "source_branch_id is required");
    if (r.source_timestamp) {
      const t = Date.parse(r.source_timestamp);
      if (Number.isNaN(t)) throw new HttpError(400, "source_timestamp must be RFC 3339");
      if (t < Date.now() - state.historyRetentionSeconds * 1000) throw new HttpError(400, "source_timestamp is outside the restore window");
      if (t > Date.now()) throw new HttpError(400, "source_timestamp is in the future");
    }
    const target = branch(bid);
    const started = [];
    if (r.preserve_under_name) {
      const preserved = { id: id("br"), name: r.preserve_under_name, created_at: target.created_at };
      state.branches.push(preserved);
      started.push(ops.start("create_branch", preserved.id));
    }
    target.restored_from = { source_branch_id: r.source_branch_id, ...(r.source_timestamp ? { source_timestamp: r.source_timestamp } : {}) };
    // Which actions Neon runs for a restore is not documented; one per branch touched.
    started.push(ops.start("create_timeline", bid));
    return [200, { branch: target, operations: started }];
  }

  function branchRoute(bid: string, what: string, m: string | undefined, url: URL, body: unknown): [number, unknown] | undefined {
    branch(bid);
    if (what === "backup_schedule" && m === "GET") return [200, { schedule: state.schedules[bid] ?? [] }];
    if (what === "backup_schedule" && m === "PUT") {
      ops.assertUnlocked();
      state.schedules[bid] = validateSchedule(body, state.plan);
      return [200, {}];
    }
    if (what === "snapshot" && m === "POST") return takeSnapshot(bid, url.searchParams);
    if (what === "restore" && m === "POST") return restoreBranch(bid, body);
    return undefined;
  }

  async function route(req: IncomingMessage): Promise<[number, unknown]> {
    if (req.method === "POST" && req.url === "/sql") return sql.handle(req.headers, await readJson(req));
    if (req.headers.authorization !== `Bearer ${state.apiKey}`) throw new HttpError(401, "authentication required");
    const url = new URL(req.url ?? "/", "http://standin");
    const body = await readJson(req);
    state.requests.push({ method: req.method ?? "GET", path: url.pathname, body });
    const parts = url.pathname.split("/").filter(Boolean);
    if (parts[0] !== "projects" || parts[1] !== state.projectId) throw new HttpError(404, `project ${parts[1] ?? ""} not found`);
    const rest = parts.slice(2).join("/");
    const m = req.method;

    if (rest === "" && m === "GET") return [200, { project: project() }];
    if (rest === "" && m === "PATCH") return patchProject(body);
    if (rest === "snapshots" && m === "GET") return [200, { snapshots: state.snapshots }];
    if (rest === "branches" && m === "GET") return [200, { branches: state.branches }];
    const created = await creation.route(rest, m, url, body);
    if (created) return created;
    if (rest === "operations" && m === "GET") return [200, { operations: ops.list(), pagination: { cursor: "" } }];
    const op = /^operations\/([^/]+)$/.exec(rest);
    if (op && m === "GET") return [200, { operation: ops.poll(op[1] as string) }];
    const one = /^branches\/([^/]+)$/.exec(rest);
    if (one && m === "GET") return [200, { branch: branch(one[1] as string) }];
    const b = /^branches\/([^/]+)\/(backup_schedule|snapshot|restore)$/.exec(rest);
    const answer = b && branchRoute(b[1] as string, b[2] as string, m, url, body);
    if (answer) return answer;
    throw new HttpError(404, `no route ${m} ${url.pathname}`);
  }

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    route(req)
      .then(([status, payload]) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(payload));
      })
      .catch((err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        res.writeHead(status, { "content-type": "application/json" });
        // Neon's GeneralError body: code, message, request_id.
        res.end(JSON.stringify({ code: String(status), message: (err as Error).message, request_id: randomUUID() }));
      });
  });
  // Clients (workerd, the driver) keep connections alive between calls: a longer idle timeout
  // than Node's 5 s, as the object store has, so one is not closed under a reuse.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sqlEndpoint: `http://127.0.0.1:${port}/sql`,
    state,
    sql,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
