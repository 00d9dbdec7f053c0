/**
 * The monthly cost of a stack's DR posture: per asset, the quantities its backups, copies,
 * watchdog checks and restore tests cost a month (usage.ts, jobOps.ts), priced (prices.ts) in
 * integer micro-dollars (money.ts); then the shared items and the account-wide allowances.
 */
import { FOOTNOTES } from "./assumptions";
import { assetCosts } from "./assetCost";
import { costMicroUsd } from "./money";
import { price, type Price } from "./prices";
import { sharedQuantities } from "./shared";
import type { CostInput } from "./input";
import { assetKey, assetsWithoutSizes, MissingSizesError } from "./input";

export interface CostLine {
  readonly item: string;
  readonly priceId: string;
  readonly quantity: number;
  readonly unit: string;
  /** "$0.50 per 1,000,000 reads". */
  readonly unitPrice: string;
  readonly microUsd: bigint;
  readonly footnotes: readonly string[];
  /** No published price (counted as 0). */
  readonly unpriced?: boolean;
}

export interface AssetCost {
  readonly asset: string;
  readonly lines: readonly CostLine[];
  readonly microUsd: bigint;
}

export interface Estimate {
  readonly stack: string;
  readonly assets: readonly AssetCost[];
  readonly shared: readonly CostLine[];
  readonly grossMicroUsd: bigint;
  /** Negative lines: what the included allowances would cover, account-wide. */
  readonly allowances: readonly CostLine[];
  readonly netMicroUsd: bigint;
  readonly footnotes: ReadonlyArray<{ id: string; n: number; text: string }>;
  readonly prices: readonly Price[];
  readonly unpriced: readonly string[];
}

/** A quantity a month of one priced item, with the footnotes that explain it. */
export interface Quantity {
  readonly priceId: string;
  readonly quantity: number;
  readonly footnotes: readonly string[];
  readonly unpriced?: boolean;
}

const group = (n: number) => n.toLocaleString("en-US");
export const unitPriceText = (p: Price) => `$${p.usd} per ${p.per === 1 ? "" : `${group(p.per)} `}${p.unit}`;

export function line(q: Quantity): CostLine {
  const p = price(q.priceId);
  // Operations are whole: a month's count is rounded to the nearest one; storage keeps 6 decimals.
  const quantity = p.unit.includes("month") ? q.quantity : Math.round(q.quantity);
  return {
    item: p.label,
    priceId: p.id,
    quantity,
    unit: p.unit,
    unitPrice: unitPriceText(p),
    microUsd: q.unpriced ? 0n : costMicroUsd(quantity, p),
    footnotes: q.footnotes,
    ...(q.unpriced ? { unpriced: true } : {}),
  };
}

const sum = (lines: readonly CostLine[]) => lines.reduce((n, l) => n + l.microUsd, 0n);

function allowanceLines(all: readonly CostLine[]): CostLine[] {
  const used = new Map<string, number>();
  for (const l of all) if (!l.unpriced) used.set(l.priceId, (used.get(l.priceId) ?? 0) + l.quantity);
  const out: CostLine[] = [];
  for (const [id, qty] of used) {
    const p = price(id);
    if (!p.includedPerMonth || qty <= 0) continue;
    const covered = Math.min(qty, p.includedPerMonth);
    out.push({ item: `${p.label}: included ${group(p.includedPerMonth)} ${p.unit}/month`, priceId: id, quantity: covered, unit: p.unit, unitPrice: unitPriceText(p), microUsd: -costMicroUsd(covered, p), footnotes: ["allowances"] });
  }
  return out;
}

/** Footnote ids in order of first use, numbered from 1. */
function numberFootnotes(lines: readonly CostLine[]): Estimate["footnotes"] {
  const ids: string[] = [];
  for (const l of lines) for (const f of l.footnotes) if (!ids.includes(f)) ids.push(f);
  for (const f of ["tiers", "gb", "rounding"]) if (!ids.includes(f)) ids.push(f);
  return ids.map((id, i) => ({ id, n: i + 1, text: FOOTNOTES[id] ?? id }));
}

export function estimateCost(input: CostInput): Estimate {
  const missing = assetsWithoutSizes(input);
  if (missing.length) throw new MissingSizesError(`no declared size for ${missing.join(", ")}`);
  const assets = assetCosts(input).map((a) => {
    const lines = a.quantities.map(line);
    return { asset: a.asset, lines, microUsd: sum(lines) };
  });
  const shared = sharedQuantities(input).map(line);
  const all = [...assets.flatMap((a) => a.lines), ...shared];
  const gross = sum(all);
  const allowances = allowanceLines(all);
  const used = new Set(all.map((l) => l.priceId));
  return {
    stack: input.stack,
    assets,
    shared,
    grossMicroUsd: gross,
    allowances,
    netMicroUsd: gross + sum(allowances),
    footnotes: numberFootnotes([...all, ...allowances]),
    prices: [...used].map(price),
    unpriced: all.filter((l) => l.unpriced).map((l) => `${l.item}`),
  };
}

export { assetKey };
