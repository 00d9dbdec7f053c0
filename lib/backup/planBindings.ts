/**
 * The backup plan as Worker bindings. Cloudflare caps each environment variable (a json or
 * plain_text binding) at 5 KB and a Worker at 128 of them on Workers Paid
 * (https://developers.cloudflare.com/workers/platform/limits/#environment-variables). An asset
 * entry is ~150 bytes, so one binding for the whole plan fails at ~30 assets; the assets are
 * packed into BACKUP_PLAN_ASSETS_<n> bindings instead, each under the limit, and the Worker
 * puts the plan back together at its entry point.
 */
import type { BackupPlan, PlanAsset } from "./plan";

export const PLAN_BINDING = "BACKUP_PLAN";
export const PLAN_ASSETS_PREFIX = "BACKUP_PLAN_ASSETS_";
/** Cloudflare's size limit of one environment variable. */
export const ENV_VAR_MAX_BYTES = 5 * 1024;
/** Packing target per binding: under the limit with room for a longer name or id later. */
const PART_BYTES = 4 * 1024;

const bytes = (s: string) => new TextEncoder().encode(s).byteLength;

export class PlanTooLargeError extends Error {
  override readonly name = "PlanTooLargeError";
}

/** Assets packed in order into parts of at most PART_BYTES of JSON each. */
export function packAssets(assets: readonly PlanAsset[]): PlanAsset[][] {
  const parts: PlanAsset[][] = [];
  let current: PlanAsset[] = [];
  for (const a of assets) {
    if (current.length && bytes(JSON.stringify([...current, a])) > PART_BYTES) {
      parts.push(current);
      current = [];
    }
    current.push(a);
  }
  if (current.length) parts.push(current);
  return parts;
}

export const planPartName = (i: number) => `${PLAN_ASSETS_PREFIX}${i + 1}`;

/** The plan header (no assets, the number of asset parts) and the asset parts, as JSON text
 * by binding name; throws if any would exceed Cloudflare's limit. */
export function planBindings(plan: BackupPlan): Record<string, string> {
  const parts = packAssets(plan.assets);
  const out: Record<string, string> = { [PLAN_BINDING]: JSON.stringify({ ...plan, assets: [], assetParts: parts.length }) };
  parts.forEach((p, i) => (out[planPartName(i)] = JSON.stringify(p)));
  for (const [name, text] of Object.entries(out)) {
    if (bytes(text) > ENV_VAR_MAX_BYTES) throw new PlanTooLargeError(`${name} would be ${bytes(text)} bytes; Cloudflare allows ${ENV_VAR_MAX_BYTES} per environment variable`);
  }
  return out;
}

/** The whole plan from the Worker's env: the header with its asset parts put back. A plan
 * bound whole (tests, older deployments) is returned as it is. */
export function assemblePlan(env: Readonly<Record<string, unknown>>): BackupPlan {
  const head = env[PLAN_BINDING] as (BackupPlan & { assetParts?: number }) | undefined;
  if (!head) throw new Error(`${PLAN_BINDING} is not bound to the Worker`);
  if (head.assetParts === undefined) return head;
  const assets: PlanAsset[] = [];
  for (let i = 1; i <= head.assetParts; i++) {
    const part = env[planPartName(i - 1)];
    if (!Array.isArray(part)) throw new Error(`${planPartName(i - 1)} is missing: the Worker's bindings do not match its plan`);
    assets.push(...(part as PlanAsset[]));
  }
  const { assetParts: _parts, ...plan } = head;
  return { ...plan, assets };
}
