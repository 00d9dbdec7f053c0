/** The estimate as people read it (a table per asset, shared items, totals, footnotes, sources)
 * and as a JSON document (the same figures; money in micro-dollars as integers and in dollars). */
import type { CostLine, Estimate } from "./estimate";
import { formatUsd, usdNumber } from "./money";

type Table = (headers: string[], rows: Array<Array<string | number>>) => string;

const qty = (l: CostLine) => (l.unit.includes("month") ? l.quantity.toLocaleString("en-US", { maximumFractionDigits: 3 }) : l.quantity.toLocaleString("en-US"));

function lineRows(lines: readonly CostLine[], notes: Estimate["footnotes"]): string[][] {
  const n = (ids: readonly string[]) => ids.map((id) => notes.find((f) => f.id === id)?.n).filter((x) => x !== undefined).map((x) => `[${x}]`).join("");
  return lines.map((l) => [`${l.item} ${n(l.footnotes)}`.trim(), `${qty(l)} ${l.unit}`, l.unitPrice, l.unpriced ? "unpriced" : formatUsd(l.microUsd)]);
}

export function renderText(e: Estimate, table: Table): string {
  const head = ["item", "quantity / month", "unit price", "USD / month"];
  const out: string[] = [`Monthly cost of the DR posture of stack ${e.stack} (estimate from declared sizes)`, ""];
  for (const a of e.assets) {
    out.push(`${a.asset}: ${formatUsd(a.microUsd)}`, table(head, lineRows(a.lines, e.footnotes)), "");
  }
  out.push(`shared: ${formatUsd(e.shared.reduce((s, l) => s + l.microUsd, 0n))}`, table(head, lineRows(e.shared, e.footnotes)), "");
  out.push(`total before allowances: ${formatUsd(e.grossMicroUsd)}`);
  out.push(`included allowances (account-wide, shared with everything else on the account):`, table(head, lineRows(e.allowances, e.footnotes)));
  out.push(`total if this stack were alone on its accounts: ${formatUsd(e.netMicroUsd)}`, "");
  if (e.unpriced.length) out.push(`not priced (no published rate): ${e.unpriced.join(", ")}`, "");
  out.push("Assumptions:");
  for (const f of e.footnotes) out.push(`  [${f.n}] ${f.text}`);
  out.push("", "Prices (lib/cost/prices.ts):");
  for (const p of e.prices) out.push(`  ${p.label}: $${p.usd} per ${p.per === 1 ? "" : `${p.per.toLocaleString("en-US")} `}${p.unit}, as of ${p.asOf}, ${p.source}${p.confirmed ? "" : " (not confirmed on the vendor's page)"}`);
  return `${out.join("\n")}\n`;
}

const lineJson = (l: CostLine) => ({ item: l.item, priceId: l.priceId, quantity: l.quantity, unit: l.unit, unitPrice: l.unitPrice, microUsd: Number(l.microUsd), usd: usdNumber(l.microUsd), footnotes: l.footnotes, ...(l.unpriced ? { unpriced: true } : {}) });

export function estimateJson(e: Estimate): Record<string, unknown> {
  return {
    stack: e.stack,
    currency: "USD",
    period: "month",
    assets: e.assets.map((a) => ({ asset: a.asset, microUsd: Number(a.microUsd), usd: usdNumber(a.microUsd), lines: a.lines.map(lineJson) })),
    shared: e.shared.map(lineJson),
    grossMicroUsd: Number(e.grossMicroUsd),
    grossUsd: usdNumber(e.grossMicroUsd),
    allowances: { accountWide: true, lines: e.allowances.map(lineJson) },
    netMicroUsd: Number(e.netMicroUsd),
    netUsd: usdNumber(e.netMicroUsd),
    unpriced: e.unpriced,
    footnotes: e.footnotes,
    prices: e.prices,
  };
}
