/**
 * Quantities a month per asset: its backups (source reads, artifact writes, job bookkeeping,
 * queue steps, the S3 copy), the bytes its tiers keep in R2 and S3, the watchdog's checks of it
 * and its restore tests.
 */
import { CPU_MS_PER_INVOCATION, CPU_MS_PER_ITEM, CPU_MS_PER_MIB, GB_AWS, GB_CLOUDFLARE } from "./assumptions";
import { DAYS_PER_MONTH, firingsPerDay, tierRates, type TierRates } from "./cadence";
import type { Quantity } from "./estimate";
import { assetKey, type CostAsset, type CostInput, type Tier } from "./input";
import { jobOps, putRequests } from "./jobOps";
import { NEON_PRICED_PLANS } from "./prices";
import { d1BackupUsage, kvBackupUsage, r2BackupUsage, r2Copied, type BackupUsage } from "./usage";
import { restoreTestQuantities, watchdogQuantities } from "./checks";

/** A kind of backup the asset takes, how many a day, and in which tier they are kept. */
interface BackupClass {
  readonly usage: BackupUsage;
  readonly perDay: Readonly<Record<Tier, number>>;
  readonly footnotes: readonly string[];
}

class Tally {
  private readonly q = new Map<string, { quantity: number; footnotes: Set<string> }>();
  add(priceId: string, quantity: number, ...footnotes: string[]): void {
    const e = this.q.get(priceId) ?? { quantity: 0, footnotes: new Set<string>() };
    e.quantity += quantity;
    for (const f of footnotes) e.footnotes.add(f);
    this.q.set(priceId, e);
  }
  list(unpriced: (id: string) => boolean = () => false): Quantity[] {
    return [...this.q.entries()].map(([priceId, e]) => ({ priceId, quantity: e.quantity, footnotes: [...e.footnotes], ...(unpriced(priceId) ? { unpriced: true } : {}) }));
  }
}

const perDayTotal = (p: Readonly<Record<Tier, number>>) => p.daily + p.weekly + p.monthly;

function backupClasses(input: CostInput, a: CostAsset, rates: TierRates, perDay: number): BackupClass[] {
  const L = input.limits;
  if (a.kind === "kv") {
    const s = input.sizes.kv?.[a.name];
    if (!s) return [];
    // The day's first backup is full (weekly and monthly ones always are), the rest differential.
    const firstDaily = Math.max(0, 1 - rates.weekly - rates.monthly);
    return [
      { usage: kvBackupUsage(s, L, "full"), perDay: { daily: Math.min(rates.daily, firstDaily), weekly: rates.weekly, monthly: rates.monthly }, footnotes: ["kvFull", "records"] },
      { usage: kvBackupUsage(s, L, "differential"), perDay: { daily: Math.max(0, rates.daily - firstDaily), weekly: 0, monthly: 0 }, footnotes: ["kvDiff", "records"] },
    ];
  }
  if (a.kind === "d1") {
    const s = input.sizes.d1?.[a.name];
    return s ? [{ usage: d1BackupUsage(s, L), perDay: { ...rates }, footnotes: ["d1Dump"] }] : [];
  }
  if (a.kind === "r2") {
    const s = input.sizes.r2?.[a.name];
    if (!s) return [];
    return (["daily", "weekly", "monthly"] as const).map((tier) => ({
      usage: r2BackupUsage(s, L, r2Copied(s, tier)),
      perDay: { daily: 0, weekly: 0, monthly: 0, [tier]: rates[tier] },
      footnotes: ["r2Reuse", "records"],
    }));
  }
  void perDay;
  return [];
}

/** Bytes kept: Σ backups a day × days kept × bytes each, per tier (Little's law). */
function keptBytes(classes: readonly { bytes: number; perDay: Readonly<Record<Tier, number>> }[], days: Readonly<Record<Tier, number>>, extra: number): number {
  let total = 0;
  for (const c of classes) for (const t of ["daily", "weekly", "monthly"] as const) total += c.perDay[t] * (days[t] + extra) * c.bytes;
  return total;
}

function workerBackups(input: CostInput, a: CostAsset, t: Tally): BackupClass[] {
  const perDay = firingsPerDay(a.cron);
  const classes = backupClasses(input, a, tierRates(perDay), perDay);
  const o = { s3: true, opsPerStep: input.limits.opsPerStep, bytesPerStep: input.limits.bytesPerStep, partBytes: input.uploadPartBytes };
  for (const c of classes) {
    const n = perDayTotal(c.perDay) * DAYS_PER_MONTH;
    const ops = jobOps(c.usage.shape, o);
    for (const [id, q] of Object.entries(c.usage.source)) t.add(id, q * n, ...c.footnotes);
    t.add("cf.r2.classA", ops.r2ClassA * n, ...c.footnotes);
    t.add("cf.r2.classB", ops.r2ClassB * n, ...c.footnotes);
    t.add(`aws.s3.put.${input.s3Region}`, ops.s3Put * n, ...c.footnotes);
    t.add(`aws.s3.put.${input.s3Region}`, ops.s3List * n);
    t.add("cf.queues.ops", 3 * ops.queueMessages * n, "queue");
    t.add("cf.workers.requests", ops.invocations * n, "requests");
    t.add("cf.workers.cpu", (ops.invocations * CPU_MS_PER_INVOCATION + c.usage.items * CPU_MS_PER_ITEM + 2 * c.usage.mib * CPU_MS_PER_MIB) * n, "cpu");
  }
  return classes;
}

/** The independent pg_dump (CLI): one artifact streamed to R2, copied to S3, manifest last. */
function neonDumps(input: CostInput, a: CostAsset, t: Tally): BackupClass[] {
  const s = input.sizes.neon;
  if (!s) return [];
  const perDay = firingsPerDay(a.cron);
  const bytes = s.dumpBytes ?? s.databaseBytes;
  const n = perDay * DAYS_PER_MONTH;
  const puts = putRequests(bytes, input.uploadPartBytes);
  // readLatest GET, findLatest GET pointer + manifest and 3 LISTs, artifact PUT(s), manifest + latest PUT.
  t.add("cf.r2.classB", 3 * n, "neonDump");
  t.add("cf.r2.classA", (3 + puts + 2) * n, "neonDump");
  t.add(`aws.s3.put.${input.s3Region}`, (1 + puts + 1) * n, "neonDump");
  // The Worker's Neon check on the same cron: one state object written.
  t.add("cf.r2.classA", n);
  return [{ usage: { shape: { steps: 1, artifacts: [{ count: 1, bytes }], kindReads: 0, dependencies: 0 }, source: {}, storedBytes: bytes, items: 0, mib: 0 }, perDay: { ...tierRates(perDay) }, footnotes: ["neonDump"] }];
}

function neonStorage(input: CostInput, t: Tally): void {
  const s = input.sizes.neon;
  const neon = input.neon;
  if (!s || !neon) return;
  const unpriced = !(NEON_PRICED_PLANS as readonly string[]).includes(neon.plan);
  const free = neon.plan === "free";
  if (!free) t.add("neon.history", (s.dailyChangeBytes * neon.restoreWindowDays) / GB_CLOUDFLARE, "neonHistory", ...(unpriced ? ["neonUnpriced"] : []));
  const { daily, weekly, monthly } = neon.snapshots;
  if (daily + weekly + monthly > 0 && !free) {
    const span = Math.max(daily, 7 * weekly, 28 * monthly);
    t.add("neon.snapshots", (s.databaseBytes + s.dailyChangeBytes * span) / GB_CLOUDFLARE, "neonSnapshots", ...(unpriced ? ["neonUnpriced"] : []));
  }
}

export function assetCosts(input: CostInput): Array<{ asset: string; quantities: Quantity[] }> {
  const unpricedNeon = input.neon !== null && !(NEON_PRICED_PLANS as readonly string[]).includes(input.neon.plan);
  return input.assets.map((a) => {
    const t = new Tally();
    const classes = a.kind === "neon" ? neonDumps(input, a, t) : workerBackups(input, a, t);
    const kept = classes.map((c) => ({ bytes: c.usage.storedBytes, perDay: c.perDay }));
    t.add("cf.r2.storage", keptBytes(kept, input.tierDays, 0) / GB_CLOUDFLARE, "tiers", "gb");
    t.add(`aws.s3.storage.${input.s3Region}`, keptBytes(kept, input.tierDays, input.noncurrentVersionDays) / GB_AWS, "tiers", "gb");
    if (a.kind === "neon") neonStorage(input, t);
    const newest = classes.find((c) => c.perDay.monthly > 0)?.usage ?? classes[0]?.usage;
    watchdogQuantities(input, a, newest, t);
    restoreTestQuantities(input, a, newest, t);
    return { asset: assetKey(a), quantities: t.list((id) => unpricedNeon && id.startsWith("neon.")) };
  });
}

export type { Tally };
