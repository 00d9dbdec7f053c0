/**
 * posture-monthly-cost (advisory): the monthly cost of the DR posture, estimated from the
 * sizes the DisasterRecovery component declares (drposture:sizes) and the resources the program
 * registers, stays under the organisation's cap.
 *
 * The arithmetic and the prices are lib/cost's, imported from the checkout the pack lives in
 * (relative imports; ts-node compiles them with the pack): one model, so `drposture cost` and
 * this policy never disagree. lib/cost imports nothing outside itself but lib/storage/types'
 * constant, and nothing from Node or npm, so the pack stays loadable wherever the checkout is.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { estimateCost } from "../../lib/cost/estimate";
import { assetsWithoutSizes, type CostInput, type DeclaredSizes, type Tier } from "../../lib/cost/input";
import { formatUsd } from "../../lib/cost/money";
import { MissingPriceError } from "../../lib/cost/prices";
import { UPLOAD_PART_BYTES } from "../../lib/storage/types";
import { backupWorkers } from "./backupPlan";
import { is, ofType, T } from "./resources";

export interface MonthlyCostConfig {
  maxMonthlyUsd: number;
  countAllowances: boolean;
}

type Props = Record<string, any>;

/** Longest noncurrent-version expiry among the S3 lifecycle rules (0 when none). */
function noncurrentDays(resources: readonly PolicyResource[]): number {
  const days = ofType(resources, T.s3Lifecycle).flatMap((l) => ((l.props.rules ?? []) as Props[]).map((r) => Number(r.noncurrentVersionExpiration?.noncurrentDays ?? 0)));
  return Math.max(0, ...days.filter(Number.isFinite));
}

/** The estimate's input from the root component's inputs and the Worker's plan. */
export function costInputFromProgram(root: PolicyResource, resources: readonly PolicyResource[]): CostInput | string {
  const p = root.props as Props;
  const plan = backupWorkers(resources).find((w) => w.plan)?.plan as Props | undefined;
  if (!plan?.limits) return "no backup Worker plan with step limits was found";
  const tiers = (p.tiers ?? []) as Array<{ tier: Tier; retentionDays: number }>;
  const days = (t: Tier) => Number(tiers.find((x) => x.tier === t)?.retentionDays ?? 0);
  const rt = p.restoreTesting as Props | null;
  return {
    stack: String(p.stack),
    assets: ((p.assets ?? []) as Props[]).map((a) => ({ kind: a.kind, name: a.name, cron: a.backupCron })),
    tierDays: { daily: days("daily"), weekly: days("weekly"), monthly: days("monthly") },
    s3Region: String(p.vault?.s3Region),
    noncurrentVersionDays: noncurrentDays(resources),
    alertEmails: ((p.alerts?.emails ?? []) as unknown[]).length,
    restoreTesting: rt ? { periodHours: Number(rt.periodHours), cron: String(rt.cron), rotation: rt.rotation ?? [] } : null,
    neon: p.neon ? { plan: String(p.neon.plan), restoreWindowDays: Number(p.neon.restoreWindowDays), snapshots: p.neon.snapshots ?? { daily: 0, weekly: 0, monthly: 0 } } : null,
    limits: plan.limits,
    uploadPartBytes: UPLOAD_PART_BYTES,
    sizes: (p.sizes ?? {}) as DeclaredSizes,
  };
}

export const postureMonthlyCost: StackValidationPolicy = {
  name: "posture-monthly-cost",
  description:
    "The monthly cost of the DR posture (drposture cost's estimate: backups, copies, watchdog, restore tests, storage per tier, shared items) from the sizes the stack declares (drposture:sizes) is at most maxMonthlyUsd. Included allowances are account-wide, so they are left out unless countAllowances is true.",
  enforcementLevel: "advisory",
  configSchema: {
    properties: {
      maxMonthlyUsd: { type: "number", minimum: 0, default: 1000, description: "Most the DR posture may cost a month, USD." },
      countAllowances: { type: "boolean", default: false, description: "Subtract the plans' included allowances (only right when the stack is alone on its accounts)." },
    },
  },
  validateStack: (args, report) => {
    const { maxMonthlyUsd, countAllowances } = args.getConfig<MonthlyCostConfig>();
    for (const root of args.resources.filter((r) => is(r, T.drComponent))) {
      const input = costInputFromProgram(root, args.resources);
      if (typeof input === "string") {
        report(`The monthly cost of stack ${String(root.props.stack)}'s DR posture cannot be estimated: ${input}.`, root.urn);
        continue;
      }
      const missing = assetsWithoutSizes(input);
      if (missing.length) {
        report(`The monthly cost of stack ${input.stack}'s DR posture cannot be checked against the cap of $${maxMonthlyUsd}: no declared size for ${missing.join(", ")}. Declare them under drposture:sizes.`, root.urn);
        continue;
      }
      let e;
      try {
        e = estimateCost(input);
      } catch (err) {
        if (!(err instanceof MissingPriceError)) throw err;
        report(`The monthly cost of stack ${input.stack}'s DR posture cannot be estimated: ${err.message}.`, root.urn);
        continue;
      }
      const total = countAllowances ? e.netMicroUsd : e.grossMicroUsd;
      const cap = BigInt(Math.round(maxMonthlyUsd * 1_000_000));
      if (total <= cap) continue;
      const top = [...e.assets].sort((a, b) => (a.microUsd < b.microUsd ? 1 : -1)).slice(0, 3).map((a) => `${a.asset} ${formatUsd(a.microUsd)}`);
      report(
        `Stack ${input.stack}'s DR posture costs about ${formatUsd(total)} a month (${countAllowances ? "after" : "before"} the account-wide allowances), over the organisation's cap of ${formatUsd(cap)}. Largest: ${top.join(", ")}. Run \`drposture cost --stack ${input.stack}\` for the line items; lengthen RPOs or retention, or raise the cap.`,
        root.urn,
      );
    }
  },
};
