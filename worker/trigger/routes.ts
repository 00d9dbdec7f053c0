/**
 * The backup Worker's HTTP face (its `fetch` handler): two signed routes, lib/trigger/protocol.ts.
 * Order of the checks, each answered with a short JSON error: route (404) and method (405),
 * body size (413) and signature (401) — none of which reads storage — then the request's
 * content (400, 404 for an asset not in the plan). Without a TRIGGER_KEY binding every route
 * is 404: the trigger is off.
 */
import type { PlanAsset } from "../../lib/backup/plan";
import { ASSET_ID_PATTERN, BACKUP_ID_PATTERN, START_PATH, STATUS_PATH } from "../../lib/trigger/protocol";
import type { Env } from "../env";
import { authenticate } from "./authenticate";
import { backupStatus, startBackup } from "./backups";
import { refuse } from "./responses";

const METHODS: Record<string, string> = { [START_PATH]: "POST", [STATUS_PATH]: "GET" };

/** The plan's asset a request names, or the refusal: 400 malformed or Neon, 404 not in the plan. */
function assetNamed(env: Env, id: unknown): PlanAsset | Response {
  if (typeof id !== "string" || !ASSET_ID_PATTERN.test(id)) return refuse(400, "asset must be KIND/NAME");
  const a = env.BACKUP_PLAN.assets.find((x) => `${x.kind}/${x.name}` === id);
  if (!a) return refuse(404, "unknown asset");
  if (a.kind === "neon") return refuse(400, "Neon is backed up outside Cloudflare: use `drposture backup postgres`");
  return a;
}

function startBody(body: Uint8Array): unknown {
  try {
    const v = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body)) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as { asset?: unknown }).asset : undefined;
  } catch {
    return undefined;
  }
}

export async function handleTrigger(request: Request, env: Env): Promise<Response> {
  const url = new URL(request.url);
  const method = METHODS[url.pathname];
  const key = typeof env.TRIGGER_KEY === "string" ? env.TRIGGER_KEY : "";
  if (!method || !key) return refuse(404, "not found");
  if (request.method !== method) return refuse(405, "method not allowed", {}, { allow: method });
  const auth = await authenticate(request, key);
  if (auth instanceof Response) return auth;
  if (url.pathname === START_PATH) {
    const a = assetNamed(env, startBody(auth.body));
    return a instanceof Response ? a : startBackup(env, a, auth.timestamp);
  }
  if (auth.body.byteLength) return refuse(400, "a status request has no body");
  const a = assetNamed(env, url.searchParams.get("asset"));
  if (a instanceof Response) return a;
  const backupId = url.searchParams.get("backupId") ?? "";
  if (!BACKUP_ID_PATTERN.test(backupId)) return refuse(400, "backupId is not a backup id");
  return backupStatus(env, a, backupId);
}
