/**
 * STAND-IN, NOT NEON. A local HTTP server that speaks the subset of Neon's documented API v2
 * that dr-posture calls (https://api-docs.neon.tech/reference/), so the code that talks to
 * Neon can run against something here. It keeps state in memory, enforces the documented
 * limits we depend on (restore window at most 30 days, snapshot schedule shape, bearer auth)
 * and records every request so tests can see exactly what was sent.
 *
 *   GET/PATCH /projects/{project_id}
 *   GET/PUT   /projects/{project_id}/branches/{branch_id}/backup_schedule
 *   POST      /projects/{project_id}/branches/{branch_id}/snapshot
 *   GET       /projects/{project_id}/snapshots
 *   GET       /projects/{project_id}/branches
 *   GET       /projects/{project_id}/branches/{branch_id}
 *   POST      /projects/{project_id}/branches/{branch_id}/restore
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

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

export interface NeonStandinState {
  apiKey: string;
  projectId: string;
  historyRetentionSeconds: number;
  branches: StandinBranch[];
  schedules: Record<string, unknown[]>;
  snapshots: StandinSnapshot[];
  requests: StandinRequest[];
}

export interface NeonStandin {
  readonly url: string;
  readonly state: NeonStandinState;
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

const FREQUENCIES = new Set(["hourly", "daily", "weekly", "monthly", "yearly"]);

function validateSchedule(body: unknown): unknown[] {
  const schedule = (body as { schedule?: unknown })?.schedule;
  if (!Array.isArray(schedule)) throw new HttpError(400, "schedule must be an array");
  for (const item of schedule as Array<Record<string, unknown>>) {
    if (!FREQUENCIES.has(String(item.frequency))) throw new HttpError(400, `invalid frequency ${String(item.frequency)}`);
    if (item.hour !== undefined && (Number(item.hour) < 0 || Number(item.hour) > 23)) throw new HttpError(400, "hour must be 0-23");
    if (item.retention_seconds !== undefined && Number(item.retention_seconds) < 3600)
      throw new HttpError(400, "retention_seconds must be >= 3600");
  }
  return schedule;
}

export async function startNeonStandin(init: Partial<Pick<NeonStandinState, "apiKey" | "projectId" | "historyRetentionSeconds">> & { branchId?: string } = {}): Promise<NeonStandin> {
  const branchId = init.branchId ?? "br-main-standin";
  const state: NeonStandinState = {
    apiKey: init.apiKey ?? "standin-key",
    projectId: init.projectId ?? "standin-project-000001",
    historyRetentionSeconds: init.historyRetentionSeconds ?? 86_400,
    // A long-lived main branch, older than any restore window.
    branches: [{ id: branchId, name: "main", created_at: new Date(Date.now() - 60 * 86_400_000).toISOString() }],
    schedules: {},
    snapshots: [],
    requests: [],
  };

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
  const operation = (action: string, bid: string) => ({ id: id("op"), project_id: state.projectId, branch_id: bid, action, status: "finished" });

  async function route(req: IncomingMessage): Promise<[number, unknown]> {
    if (req.headers.authorization !== `Bearer ${state.apiKey}`) throw new HttpError(401, "authentication required");
    const url = new URL(req.url ?? "/", "http://standin");
    const body = await readJson(req);
    state.requests.push({ method: req.method ?? "GET", path: url.pathname, body });
    const parts = url.pathname.split("/").filter(Boolean);
    if (parts[0] !== "projects" || parts[1] !== state.projectId) throw new HttpError(404, `project ${parts[1] ?? ""} not found`);
    const rest = parts.slice(2).join("/");
    const m = req.method;

    if (rest === "" && m === "GET") return [200, { project: project() }];
    if (rest === "" && m === "PATCH") {
      const seconds = (body as { project?: { history_retention_seconds?: number } })?.project?.history_retention_seconds;
      if (seconds !== undefined) {
        if (!Number.isInteger(seconds) || seconds < 0 || seconds > NEON_MAX_HISTORY_RETENTION_SECONDS)
          throw new HttpError(400, `history_retention_seconds must be between 0 and ${NEON_MAX_HISTORY_RETENTION_SECONDS}`);
        state.historyRetentionSeconds = seconds;
      }
      return [200, { project: project(), operations: [] }];
    }
    if (rest === "snapshots" && m === "GET") return [200, { snapshots: state.snapshots }];
    if (rest === "branches" && m === "GET") return [200, { branches: state.branches }];
    const one = /^branches\/([^/]+)$/.exec(rest);
    if (one && m === "GET") return [200, { branch: branch(one[1] as string) }];

    const b = /^branches\/([^/]+)\/(backup_schedule|snapshot|restore)$/.exec(rest);
    if (b) {
      const [, bid, what] = b as unknown as [string, string, string];
      branch(bid);
      if (what === "backup_schedule" && m === "GET") return [200, { schedule: state.schedules[bid] ?? [] }];
      if (what === "backup_schedule" && m === "PUT") {
        state.schedules[bid] = validateSchedule(body);
        return [200, {}];
      }
      if (what === "snapshot" && m === "POST") {
        const now = new Date().toISOString();
        const q = url.searchParams;
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
        return [201, { snapshot: snap, operations: [operation("create_snapshot", bid)] }];
      }
      if (what === "restore" && m === "POST") {
        const r = body as { source_branch_id?: string; source_timestamp?: string; preserve_under_name?: string };
        if (!r?.source_branch_id) throw new HttpError(400, "source_branch_id is required");
        if (r.source_timestamp) {
          const t = Date.parse(r.source_timestamp);
          if (Number.isNaN(t)) throw new HttpError(400, "source_timestamp must be RFC 3339");
          if (t < Date.now() - state.historyRetentionSeconds * 1000) throw new HttpError(400, "source_timestamp is outside the restore window");
          if (t > Date.now()) throw new HttpError(400, "source_timestamp is in the future");
        }
        const target = branch(bid);
        if (r.preserve_under_name) {
          state.branches.push({ id: id("br"), name: r.preserve_under_name, created_at: target.created_at });
        }
        target.restored_from = { source_branch_id: r.source_branch_id, ...(r.source_timestamp ? { source_timestamp: r.source_timestamp } : {}) };
        return [200, { branch: target, operations: [operation("restore_branch", bid)] }];
      }
    }
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
        res.end(JSON.stringify({ code: String(status), message: (err as Error).message }));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
