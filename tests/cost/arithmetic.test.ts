/**
 * The cost arithmetic, hand-computed: each case writes its numbers out so that a change in what
 * the Worker does (lib/cost/usage.ts) or in a price shows up here as a figure to re-derive.
 */
import { describe, expect, it } from "vitest";
import { changedSinceAnchor, DAYS_PER_MONTH, firingsPerDay, tierRates } from "../../lib/cost/cadence";
import { estimateCost } from "../../lib/cost/estimate";
import type { CostInput } from "../../lib/cost/input";
import { jobOps, replicationSteps } from "../../lib/cost/jobOps";
import { costMicroUsd, formatUsd, nanoUsd } from "../../lib/cost/money";
import { d1BackupUsage, kvBackupUsage, kvKeysPerStep, r2Copied } from "../../lib/cost/usage";

const LIMITS = { opsPerStep: 800, bytesPerStep: 256 * 1024 * 1024, d1PageRows: 500, d1SnapshotBytes: 4 * 1024 * 1024 };
const MiB = 1024 * 1024;

function input(over: Partial<CostInput> = {}): CostInput {
  return {
    stack: "test",
    assets: [{ kind: "kv", name: "sessions", cron: "*/15 * * * *" }],
    tierDays: { daily: 35, weekly: 84, monthly: 372 },
    s3Region: "eu-central-1",
    noncurrentVersionDays: 7,
    alertEmails: 1,
    restoreTesting: null,
    neon: null,
    limits: LIMITS,
    uploadPartBytes: 8 * MiB,
    sizes: { kv: { sessions: { keys: 1_000_000, averageValueBytes: 600, averageKeyBytes: 40, dailyChangedKeys: 250_000 } } },
    ...over,
  };
}

describe("money", () => {
  it("turns decimal prices into integer nano-dollars", () => {
    expect(nanoUsd("0.0054")).toBe(5_400_000n);
    expect(nanoUsd("0.00043")).toBe(430_000n);
    expect(nanoUsd("5")).toBe(5_000_000_000n);
    expect(() => nanoUsd("0.1e-3")).toThrow(/decimal/);
  });

  it("rounds each line half up to whole micro-dollars, without float drift", () => {
    // 1 GET at $0.00043 per 1,000 = 0.43 µ$ -> 0; 3 GETs = 1.29 µ$ -> 1; 5 = 2.15 -> 2.
    expect(costMicroUsd(1, { usd: "0.00043", per: 1000 })).toBe(0n);
    expect(costMicroUsd(3, { usd: "0.00043", per: 1000 })).toBe(1n);
    expect(costMicroUsd(5, { usd: "0.00043", per: 1000 })).toBe(2n);
    // 0.1 + 0.2 GB-month at $3: exactly 900,000 µ$ (floats would give 0.30000000000000004 GB).
    expect(costMicroUsd(0.1, { usd: "3", per: 1 }) + costMicroUsd(0.2, { usd: "3", per: 1 })).toBe(900_000n);
    // 2,922,000,000 reads at $0.50 per million = $1,461 exactly; beyond 2^53 µunits stays exact.
    expect(costMicroUsd(2_922_000_000, { usd: "0.50", per: 1_000_000 })).toBe(1_461_000_000n);
    expect(costMicroUsd(4_000_000_000_001, { usd: "1", per: 1 })).toBe(4_000_000_000_001_000_000n);
  });

  it("shows dollars and cents, half up", () => {
    expect(formatUsd(1_234_567_890n)).toBe("$1,234.57");
    expect(formatUsd(5_000n)).toBe("$0.01");
    expect(formatUsd(4_999n)).toBe("$0.00");
    expect(formatUsd(-4_500_000n)).toBe("-$4.50");
  });
});

describe("cadence", () => {
  it("reads the cron shapes drposture derives", () => {
    expect(firingsPerDay("*/15 * * * *")).toBe(96);
    expect(firingsPerDay("0 * * * *")).toBe(24);
    expect(firingsPerDay("0 */6 * * *")).toBe(4);
    expect(firingsPerDay("17 2 * * *")).toBe(1);
    expect(firingsPerDay("41 */2 * * *")).toBe(12);
    expect(() => firingsPerDay("0 0 1 * *")).toThrow(/not one drposture derives/);
  });

  it("splits backups into tiers as chooseTier does: 12 monthly and 50.46 weekly a year", () => {
    const r = tierRates(96);
    expect(r.monthly * 365.25).toBeCloseTo(12, 9);
    expect(r.weekly * 365.25).toBeCloseTo(365.25 / 7 - 12 / 7, 9);
    expect(r.daily + r.weekly + r.monthly).toBeCloseTo(96, 9);
  });

  it("averages the items changed since a weekly anchor", () => {
    // 1,500 a day over a uniform age in [0, 7] days: 1,500 x 3.5 = 5,250.
    expect(changedSinceAnchor(1500, 100_000, 7)).toBe(5250);
    // Capped: 100 items changing 50 a day fill up after 2 of 7 days: 2/7 x 50 + 5/7 x 100.
    expect(changedSinceAnchor(50, 100, 7)).toBeCloseTo((2 / 7) * 50 + (5 / 7) * 100, 9);
  });
});

describe("what one backup does", () => {
  it("KV: one list per page of 790 keys, each page a task, one read per key (opsPerStep 800)", () => {
    const s = { keys: 1_000_000, averageValueBytes: 600, averageKeyBytes: 40, dailyChangedKeys: 250_000 };
    expect(kvKeysPerStep(s, LIMITS)).toBe(790);
    const full = kvBackupUsage(s, LIMITS, "full");
    // ceil(1,000,000 / 790) = 1,266 pages, each one list and one task.
    expect(full.shape.tasks).toBe(1266);
    // Job steps: ceil(1,266 / 25) = 51 listing + ceil(1,266 / 197) = 7 adoption + 1 clean-up.
    expect(full.shape.steps).toBe(59);
    expect(full.source).toEqual({ "cf.kv.reads": 1_000_000, "cf.kv.lists": 1266 });
    // A differential backup reads just as much; it writes half a day's changes: 125,000 entries.
    const diff = kvBackupUsage(s, LIMITS, "differential");
    expect(diff.source).toEqual(full.source);
    // entry: 40 + base64(600) = 800 + 16 = 856 B; index line: 40 + 72 = 112 B.
    expect(full.storedBytes).toBe(1_000_000 * 856 + 1_000_000 * 112);
    expect(diff.storedBytes).toBe(125_000 * 856 + 1_000_000 * 112);
  });

  it("KV: large values end a step at the byte budget (256 MiB / 1 MiB = 256 keys)", () => {
    expect(kvKeysPerStep({ averageValueBytes: MiB }, LIMITS)).toBe(256);
  });

  it("D1: a snapshot up to 4 MiB in one step; a larger database in pages of 500 rows, 800 a step", () => {
    expect(d1BackupUsage({ bytes: MiB, rows: 10_000 }, LIMITS).shape.steps).toBe(1);
    // 8,000,000 rows = 16,000 pages = 20 steps (2 GiB / 256 MiB would be only 8).
    const big = d1BackupUsage({ bytes: 2048 * MiB, rows: 8_000_000 }, LIMITS);
    expect(big.shape.steps).toBe(20);
    expect(big.source).toEqual({ "cf.d1.rowsRead": 8_000_000 });
  });

  it("R2: a monthly backup copies the whole bucket, a daily one what changed since the weekly", () => {
    const s = { objects: 100_000, bytes: 50e9, dailyChangedObjects: 1500, dailyChangedBytes: 0.75e9 };
    expect(r2Copied(s, "monthly")).toEqual({ objects: 100_000, bytes: 50e9 });
    expect(r2Copied(s, "daily")).toEqual({ objects: 5250, bytes: 2.625e9 });
  });

  it("job bookkeeping: a one-step job without S3 costs 6 class B, 7 class A, 1 message", () => {
    const ops = jobOps({ steps: 1, artifacts: [{ count: 1, bytes: 1000 }], kindReads: 0, dependencies: 0 }, { s3: false, opsPerStep: 800, bytesPerStep: 256 * MiB, partBytes: 8 * MiB });
    // B: state + latest (start), state + manifest check (step), pointer + manifest (commit).
    // A: state (start), 1 artifact, 3 tier LISTs + manifest + latest (commit).
    expect(ops).toMatchObject({ r2ClassB: 6, r2ClassA: 7, queueMessages: 1, s3Put: 0 });
  });

  it("job bookkeeping: each fanned-out task adds 4 class B, 2 class A and 1 message", () => {
    const o = { s3: false, opsPerStep: 800, bytesPerStep: 256 * MiB, partBytes: 8 * MiB };
    const shape = { steps: 1, artifacts: [{ count: 1, bytes: 1000 }], kindReads: 0, dependencies: 0 };
    // B: job state, own record (HEAD), input; the adoption's read of the record. A: input, record.
    expect(jobOps({ ...shape, tasks: 3 }, o)).toMatchObject({ r2ClassB: 6 + 12, r2ClassA: 7 + 6, queueMessages: 1 + 3, invocations: 1 + 3 });
  });

  it("replication: 399 small artifacts a step (2 + 399 x (1 + 1) = 800 ops)", () => {
    expect(replicationSteps([{ count: 399, bytes: 1000 }], 800, 256 * MiB, 8 * MiB)).toBe(1);
    expect(replicationSteps([{ count: 400, bytes: 1000 }], 800, 256 * MiB, 8 * MiB)).toBe(2);
    // 100 MiB artifacts: 2 fit in 256 MiB.
    expect(replicationSteps([{ count: 5, bytes: 100 * MiB }], 800, 256 * MiB, 8 * MiB)).toBe(3);
  });
});

describe("the monthly estimate", () => {
  it("a 1,000,000-key KV at 96 backups a day: 2,922,000,000 reads ($1,461.00) and 3,699,252 lists ($18.50)", () => {
    const e = estimateCost(input());
    const kv = e.assets.find((a) => a.asset === "kv/sessions")!;
    const reads = kv.lines.find((l) => l.priceId === "cf.kv.reads")!;
    // 1,000,000 reads x 96 backups x 30.4375 days.
    expect(reads.quantity).toBe(1_000_000 * 96 * DAYS_PER_MONTH);
    expect(reads.quantity).toBe(2_922_000_000);
    expect(reads.microUsd).toBe(1_461_000_000n);
    const lists = kv.lines.find((l) => l.priceId === "cf.kv.lists")!;
    // 1,266 lists x 96 x 30.4375 = 3,699,252; x $5 per million = $18.49626.
    expect(lists.quantity).toBe(3_699_252);
    expect(lists.microUsd).toBe(18_496_260n);
  });

  it("included allowances are credited once, account-wide, up to what is used", () => {
    const e = estimateCost(input());
    const reads = e.allowances.find((l) => l.priceId === "cf.kv.reads")!;
    expect(reads.quantity).toBe(10_000_000);
    expect(reads.microUsd).toBe(-5_000_000n);
    const kms = e.allowances.find((l) => l.priceId === "aws.kms.requests")!;
    // 48 a day x 30.4375 = 1,461 < the 20,000 free: all of it covered.
    expect(kms.quantity).toBe(1461);
    expect(e.netMicroUsd).toBe(e.grossMicroUsd + e.allowances.reduce((n, l) => n + l.microUsd, 0n));
    expect(e.footnotes.find((f) => f.id === "allowances")?.text).toMatch(/per account/);
  });

  it("the total is the sum of its lines", () => {
    const e = estimateCost(input());
    const lines = [...e.assets.flatMap((a) => a.lines), ...e.shared];
    expect(e.grossMicroUsd).toBe(lines.reduce((n, l) => n + l.microUsd, 0n));
  });

  it("refuses an asset without a declared size, and an S3 region without prices", () => {
    expect(() => estimateCost(input({ sizes: {} }))).toThrow(/no declared size for kv\/sessions/);
    expect(() => estimateCost(input({ s3Region: "ap-south-2" }))).toThrow(/no price aws\.s3\.put\.ap-south-2/);
  });

  it("Neon: history = daily change x window; plans without published rates are listed unpriced", () => {
    const neon = { plan: "scale", restoreWindowDays: 14, snapshots: { daily: 7, weekly: 3, monthly: 0 } };
    const sizes = { neon: { databaseBytes: 20e9, dailyChangeBytes: 2e9 } };
    const assets = [{ kind: "neon" as const, name: "app", cron: "17 2 * * *" }];
    const e = estimateCost(input({ assets, neon, sizes }));
    const history = e.assets[0]!.lines.find((l) => l.priceId === "neon.history")!;
    // 2 GB x 14 days = 28 GB-month at $0.20 = $5.60.
    expect(history.quantity).toBe(28);
    expect(history.microUsd).toBe(5_600_000n);
    const business = estimateCost(input({ assets, neon: { ...neon, plan: "business" }, sizes }));
    expect(business.unpriced.length).toBe(2);
    expect(business.assets[0]!.lines.find((l) => l.priceId === "neon.history")!.microUsd).toBe(0n);
  });
});
