/**
 * Money without float drift: prices are decimal strings turned into integer nano-dollars,
 * quantities are fixed to 6 decimal places, and each line's cost is an integer number of
 * micro-dollars (rounded half up once, per line). Totals add integers; they are shown in
 * dollars and cents, rounded half up at the end.
 */
import type { Price } from "./prices";

const NANO_PER_USD = 1_000_000_000n;

/** "0.00043" -> 430000n nano-dollars. */
export function nanoUsd(decimal: string): bigint {
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(decimal);
  if (!m) throw new Error(`price ${JSON.stringify(decimal)} is not a decimal with at most 9 places`);
  return BigInt(m[1] as string) * NANO_PER_USD + BigInt((m[2] ?? "").padEnd(9, "0"));
}

/** A quantity as millionths of a unit (whole counts stay exact at any size). */
export function microUnits(quantity: number): bigint {
  if (!Number.isFinite(quantity) || quantity < 0) throw new Error(`quantity ${quantity} must be a finite number >= 0`);
  return Number.isInteger(quantity) ? BigInt(quantity) * 1_000_000n : BigInt(Math.round(quantity * 1_000_000));
}

const divHalfUp = (n: bigint, d: bigint): bigint => (n * 2n + d) / (2n * d);

/** Cost of `quantity` units at `p`, in micro-dollars, rounded half up. */
export function costMicroUsd(quantity: number, p: Pick<Price, "usd" | "per">): bigint {
  // quantity µunits × nano$ / per  = 1e-15 $ ; to µ$ divide by 1e9.
  return divHalfUp(microUnits(quantity) * nanoUsd(p.usd), BigInt(p.per) * 1_000_000_000n);
}

/** Micro-dollars as "$1,234.57" (half up to the cent). */
export function formatUsd(micro: bigint): string {
  const neg = micro < 0n;
  const cents = divHalfUp(neg ? -micro : micro, 10_000n);
  const dollars = (cents / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${neg ? "-" : ""}$${dollars}.${(cents % 100n).toString().padStart(2, "0")}`;
}

/** Micro-dollars as a JSON-safe number of dollars with 6 decimals (exact below 2^53 µ$). */
export const usdNumber = (micro: bigint): number => Number(micro) / 1_000_000;
