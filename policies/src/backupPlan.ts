/**
 * What the stack says it backs up: the backup plan bound to each backup Worker (a `json`
 * binding named BACKUP_PLAN), the Worker's cron triggers, and the assets a DisasterRecovery
 * component declares. Policies read these facts from the program; the thresholds they compare
 * them with come only from the policy pack's own config.
 */
import type { PolicyResource } from "@pulumi/policy";
import { is, ofType, T } from "./resources";

export interface PlannedAsset {
  kind: string;
  name: string;
  rpoMinutes?: number;
  cron: string;
  binding?: string;
  /** D1 database id, KV namespace id, R2 bucket name or Neon project id. */
  sourceId?: string;
}

export interface BackupWorkerFacts {
  script: PolicyResource;
  plan: { assets: PlannedAsset[]; alerts?: { sns?: { topicArn?: string } } } | null;
  bindings: Array<Record<string, any>>;
  triggers: PolicyResource[];
  crons: string[];
}

export const assetId = (a: { kind: string; name: string }) => `${a.kind}/${a.name}`;

export function bindingsOf(script: PolicyResource): Array<Record<string, any>> {
  const b = script.props.bindings;
  return Array.isArray(b) ? (b as Array<Record<string, any>>) : [];
}

function jsonBinding(bindings: Array<Record<string, any>>, name: string): any {
  const b = bindings.find((x) => x.name === name);
  if (!b) return undefined;
  const raw = b.json ?? b.text;
  try {
    return typeof raw === "string" ? JSON.parse(raw) : (raw ?? undefined);
  } catch {
    return undefined;
  }
}

/** The plan: BACKUP_PLAN, whose assets are bound apart in BACKUP_PLAN_ASSETS_1..n when it
 * says so (`assetParts`: Cloudflare allows 5 KB per variable). A part that is missing or
 * unreadable makes the plan unreadable: nothing is assumed planned. */
function planOf(bindings: Array<Record<string, any>>): BackupWorkerFacts["plan"] {
  const head = jsonBinding(bindings, "BACKUP_PLAN");
  if (!head || typeof head !== "object") return null;
  if (head.assetParts === undefined) return head;
  const assets: PlannedAsset[] = [];
  for (let i = 1; i <= Number(head.assetParts); i++) {
    const part = jsonBinding(bindings, `BACKUP_PLAN_ASSETS_${i}`);
    if (!Array.isArray(part)) return null;
    assets.push(...part);
  }
  return { ...head, assets };
}

export function backupWorkers(resources: readonly PolicyResource[]): BackupWorkerFacts[] {
  const triggers = ofType(resources, T.cronTrigger);
  return ofType(resources, T.workersScript).map((script) => {
    const bindings = bindingsOf(script);
    const plan = planOf(bindings);
    const own = triggers.filter(
      (t) => t.props.scriptName === script.props.scriptName || (t.propertyDependencies?.scriptName ?? []).includes(script),
    );
    const crons = own.flatMap((t) => (Array.isArray(t.props.schedules) ? t.props.schedules : []).map((s: { cron: string }) => String(s.cron)));
    return { script, plan, bindings, triggers: own, crons };
  });
}

/** Every asset the stack declares as protected, with where it was declared. */
export function protectedAssets(resources: readonly PolicyResource[]): Map<string, { asset: PlannedAsset; declaredBy: PolicyResource }> {
  const out = new Map<string, { asset: PlannedAsset; declaredBy: PolicyResource }>();
  for (const r of resources) {
    if (!is(r, T.drComponent)) continue;
    for (const a of (r.props.assets ?? []) as Array<{ kind: string; name: string; rpoMinutes?: number; backupCron: string }>) {
      out.set(assetId(a), { asset: { kind: a.kind, name: a.name, ...(a.rpoMinutes !== undefined ? { rpoMinutes: a.rpoMinutes } : {}), cron: a.backupCron }, declaredBy: r });
    }
  }
  for (const w of backupWorkers(resources)) {
    for (const a of w.plan?.assets ?? []) if (!out.has(assetId(a))) out.set(assetId(a), { asset: a, declaredBy: w.script });
  }
  return out;
}

/** Names of R2 buckets that a backup Worker binds as its restore-test scratch (RESTORE_TEST_R2)
 * and no Worker binds as a backup destination (BACKUP_R2): emptied after each test, they hold
 * no backups, so backup-bucket rules (locks) do not apply. restore-tests-scheduled makes sure
 * such a bucket is none of the Worker's sources or its backup bucket. */
export function restoreScratchBuckets(resources: readonly PolicyResource[]): Set<string> {
  const workers = backupWorkers(resources);
  const named = (name: string) => workers.flatMap((w) => w.bindings.filter((b) => b.name === name && b.type === "r2_bucket").map((b) => String(b.bucketName)));
  const backups = new Set(named("BACKUP_R2"));
  return new Set(workers.filter((w) => w.plan).flatMap((w) => w.bindings.filter((b) => b.name === "RESTORE_TEST_R2" && b.type === "r2_bucket").map((b) => String(b.bucketName))).filter((n) => !backups.has(n)));
}
