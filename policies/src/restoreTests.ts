/**
 * Every protected asset is restore-tested on schedule, into scratch resources that are not
 * production. Read only from the resources: the backup Worker's plan (its json bindings), its
 * bindings and its cron triggers. The binding names and the rotation rule are the plan's
 * contract (lib/backup/plan.ts, lib/backup/restoreTestRotation.ts), restated here because the
 * pack does not import the program it judges.
 */
import type { StackValidationPolicy } from "@pulumi/policy";
import { assetId, backupWorkers, type BackupWorkerFacts, type PlannedAsset } from "./backupPlan";
import { positiveInteger } from "./configSchemas";
import { longestGapMinutes } from "./frequency";

/** Scratch binding per asset kind, its binding type and the field that names the resource. */
export const SCRATCH = {
  d1: { binding: "RESTORE_TEST_D1", type: "d1", field: "id" },
  kv: { binding: "RESTORE_TEST_KV", type: "kv_namespace", field: "namespaceId" },
  r2: { binding: "RESTORE_TEST_R2", type: "r2_bucket", field: "bucketName" },
} as const;
type ScratchKind = keyof typeof SCRATCH;
const FIELD_OF: Record<string, string> = { d1: "id", kv_namespace: "namespaceId", r2_bucket: "bucketName" };
const TYPE_OF_KIND: Record<string, string> = { d1: "d1", kv: "kv_namespace", r2: "r2_bucket" };

export interface RestoreTestsConfig {
  maxDays: number;
}

interface PlanRestoreTesting {
  everyDays?: unknown;
  cron?: unknown;
  periodHours?: unknown;
}

/** The assets restore tests rotate through: D1, KV, R2, and Neon when the plan has a Neon target. */
function rotationOf(plan: { assets: PlannedAsset[]; neon?: unknown }): PlannedAsset[] {
  return plan.assets.filter((a) => a.kind === "d1" || a.kind === "kv" || a.kind === "r2" || (a.kind === "neon" && plan.neon));
}

/** What each binding of the Worker points at: "d1:<id>", "kv_namespace:<id>", "r2_bucket:<name>". */
const target = (b: Record<string, any>): string | undefined => {
  const field = FIELD_OF[String(b.type)];
  const v = field ? b[field] : undefined;
  return typeof v === "string" && v ? `${String(b.type)}:${v}` : undefined;
};

function scheduleProblems(w: BackupWorkerFacts, rotation: PlannedAsset[], rt: PlanRestoreTesting, maxDays: number): string[] {
  const name = w.script.props.scriptName;
  const out: string[] = [];
  // The declared interval is the target the Worker's restore-test results are judged against;
  // a laxer one is a weakened target even while the cron happens to test more often.
  const everyDays = Number(rt.everyDays);
  if (!(everyDays > 0) || everyDays > maxDays) {
    out.push(`Worker ${name}'s plan allows ${String(rt.everyDays)} days between restore tests of an asset (restoreTesting.everyDays); the organisation allows at most ${maxDays}. Set drposture:restoreTesting.everyDays to ${maxDays} or less.`);
  }
  return [...out, ...cadenceProblems(w, rotation, rt, maxDays)];
}

/** The cron as it fires: among the triggers, in step with the rotation, each asset within maxDays. */
function cadenceProblems(w: BackupWorkerFacts, rotation: PlannedAsset[], rt: PlanRestoreTesting, maxDays: number): string[] {
  const name = w.script.props.scriptName;
  const cron = typeof rt.cron === "string" ? rt.cron : undefined;
  if (!cron) return [`Worker ${name}'s plan has restoreTesting without a cron; redeploy it from drposture so the plan carries its restore-test schedule.`];
  if (!w.crons.includes(cron)) return [`The restore-test cron "${cron}" of Worker ${name} is not among its cron triggers (it has: ${w.crons.join(", ") || "none"}), so restore tests never run. Add the cron to the Worker's WorkersCronTrigger.`];
  let gap: number;
  try {
    gap = longestGapMinutes([cron]);
  } catch (err) {
    return [`The restore-test cron "${cron}" of Worker ${name} does not parse (${(err as Error).message}).`];
  }
  const periodHours = Number(rt.periodHours);
  // The Worker picks the asset from floor(time / periodHours): a cron that fires at another
  // rate would test some assets twice and skip others.
  if (!(periodHours > 0) || gap !== periodHours * 60) {
    return [`The restore-test cron "${cron}" of Worker ${name} fires every ${gap} min at most, but the plan rotates assets every ${String(rt.periodHours)} h; the two must agree or assets are skipped. Redeploy from drposture (it derives both from drposture:restoreTesting.everyDays).`];
  }
  const days = (rotation.length * gap) / 1440;
  if (days > maxDays) {
    const ids = rotation.map(assetId).join(", ");
    return [`Worker ${name} restore-tests ${rotation.length} assets (${ids}) one per firing of "${cron}" (every ${gap / 60} h), so each is tested only every ${days} days; the organisation allows at most ${maxDays}. Set drposture:restoreTesting.everyDays to ${maxDays} or less.`];
  }
  return [];
}

function isolationProblems(w: BackupWorkerFacts, rotation: PlannedAsset[]): string[] {
  const name = w.script.props.scriptName;
  const out: string[] = [];
  // Production: every source the plan backs up (by its binding and by its declared id) and the backup bucket.
  const production = new Map<string, string>();
  for (const a of w.plan?.assets ?? []) {
    const type = TYPE_OF_KIND[a.kind];
    if (type && typeof a.sourceId === "string") production.set(`${type}:${a.sourceId}`, `the source of ${assetId(a)}`);
    const b = w.bindings.find((x) => x.name === a.binding);
    const t = b && target(b);
    if (t) production.set(t, `${String(b?.name)}, the source binding of ${assetId(a)}`);
  }
  const backup = w.bindings.find((b) => b.name === "BACKUP_R2");
  const backupTarget = backup && target(backup);
  if (backupTarget) production.set(backupTarget, "the backup bucket (BACKUP_R2)");
  const kinds = new Set(rotation.map((a) => a.kind));
  for (const kind of Object.keys(SCRATCH) as ScratchKind[]) {
    if (!kinds.has(kind)) continue;
    const want = SCRATCH[kind];
    const b = w.bindings.find((x) => x.name === want.binding);
    if (!b || b.type !== want.type) {
      out.push(`Worker ${name} restore-tests ${kind} assets but has no ${want.type} binding ${want.binding}${b ? ` (it is ${String(b.type)})` : ""} to restore them into. Bind a scratch ${kind} resource (drposture's RestoreTesting declares one).`);
      continue;
    }
    const t = target(b);
    const prod = t ? production.get(t) : undefined;
    // Either way round: the scratch binding names a production resource, or a source binding
    // was pointed at the scratch resource (the backup would then read scratch data).
    if (prod) out.push(`${want.binding} of Worker ${name} points at the same ${want.type} (${String(b[want.field])}) as ${prod}: a restore test would overwrite production data, and backups would read scratch data. Give restore tests a scratch resource of their own (drposture's RestoreTesting declares one) and keep the sources on production.`);
  }
  return out;
}

export const restoreTestsScheduled: StackValidationPolicy = {
  name: "restore-tests-scheduled",
  description:
    "Every asset a backup Worker protects (D1, KV, R2, and Neon through branches) is restore-tested at least every maxDays days: the plan has restoreTesting, its cron is among the Worker's triggers and fires once per rotation period, and rotation length × the cron's longest gap is within maxDays. The restore tests write only into scratch bindings (RESTORE_TEST_D1/KV/R2) that are none of the production sources and not the backup bucket.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      maxDays: positiveInteger("Longest time an asset may go without a restore test, days.", { default: 7 }),
    },
  },
  validateStack: (args, report) => {
    const { maxDays } = args.getConfig<RestoreTestsConfig>();
    for (const w of backupWorkers(args.resources)) {
      if (!w.plan) continue;
      const rotation = rotationOf(w.plan as { assets: PlannedAsset[]; neon?: unknown });
      if (!rotation.length) continue;
      const rt = (w.plan as { restoreTesting?: PlanRestoreTesting }).restoreTesting;
      if (!rt) {
        report(`Worker ${w.script.props.scriptName} never restore-tests its ${rotation.length} assets (${rotation.map(assetId).join(", ")}): its plan has no restoreTesting. Set drposture:restoreTesting.enabled to true (the default) with everyDays at most ${maxDays}.`, w.script.urn);
        continue;
      }
      for (const m of scheduleProblems(w, rotation, rt, maxDays)) report(m, w.triggers[0]?.urn ?? w.script.urn);
      for (const m of isolationProblems(w, rotation)) report(m, w.script.urn);
    }
  },
};
