/**
 * What the watchdog (worker/watchdog.ts, after every cron firing) and restore tests
 * (worker/restoreTest/, one asset per firing of the restore-test cron) cost an asset a month.
 */
import { CPU_MS_PER_INVOCATION, CPU_MS_PER_ITEM, GB_CLOUDFLARE } from "./assumptions";
import { DAYS_PER_MONTH, firingsPerDay } from "./cadence";
import { assetKey, type CostAsset, type CostInput } from "./input";
import type { BackupUsage } from "./usage";

interface Adder {
  add(priceId: string, quantity: number, ...footnotes: string[]): void;
}

/** Cron firings a day, all crons of the Worker (each runs the watchdog once). */
export function cronFiringsPerDay(input: Pick<CostInput, "assets" | "restoreTesting">): number {
  const crons = new Set(input.assets.map((a) => a.cron));
  if (input.restoreTesting) crons.add(input.restoreTesting.cron);
  return [...crons].reduce((n, c) => n + firingsPerDay(c), 0);
}

const SAMPLE_BYTES = 64 * 1024 * 1024;

/** Artifacts the hourly sample reads: those of the newest backup, until 64 MiB. */
function sampledArtifacts(u: BackupUsage | undefined): number {
  if (!u) return 0;
  let bytes = 0;
  let n = 0;
  for (const g of u.shape.artifacts) {
    for (let i = 0; i < g.count && bytes < SAMPLE_BYTES; i++) {
      bytes += g.bytes;
      n++;
    }
  }
  return n;
}

export function watchdogQuantities(input: CostInput, a: CostAsset, newest: BackupUsage | undefined, t: Adder): void {
  const runs = cronFiringsPerDay(input) * DAYS_PER_MONTH;
  t.add("cf.r2.classB", 2 * runs, "watchdog");
  t.add("cf.r2.classA", 3 * runs, "watchdog");
  t.add(`aws.s3.put.${input.s3Region}`, runs, "watchdog");
  // One asset an hour is sampled (each firing in that hour samples it).
  const sampledRunsPerDay = cronFiringsPerDay(input) / Math.max(1, input.assets.length);
  t.add("cf.r2.classB", sampledArtifacts(newest) * sampledRunsPerDay * DAYS_PER_MONTH, "watchdog");
}

export function restoreTestQuantities(input: CostInput, a: CostAsset, newest: BackupUsage | undefined, t: Adder): void {
  const rt = input.restoreTesting;
  if (!rt || !rt.rotation.includes(assetKey(a))) return;
  const tests = (DAYS_PER_MONTH * 24) / (rt.periodHours * rt.rotation.length);
  const artifacts = newest ? newest.shape.artifacts.reduce((n, g) => n + g.count, 0) : 0;
  t.add("cf.r2.classB", artifacts * tests, "restoreTests");
  let items = 0;
  if (a.kind === "kv") {
    const s = input.sizes.kv?.[a.name];
    if (!s) return;
    items = s.keys;
    const pages = Math.ceil(s.keys / 1000);
    t.add("cf.kv.deletes", s.keys * tests, "restoreTests");
    t.add("cf.kv.writes", s.keys * tests, "restoreTests");
    t.add("cf.kv.lists", 2 * pages * tests, "restoreTests");
    t.add("cf.kv.reads", s.keys * tests, "restoreTests");
    t.add("cf.kv.storage", (s.keys * (s.averageKeyBytes + s.averageValueBytes)) / GB_CLOUDFLARE, "restoreTests", "gb");
  } else if (a.kind === "d1") {
    const s = input.sizes.d1?.[a.name];
    if (!s) return;
    items = s.rows;
    t.add("cf.d1.rowsWritten", 2 * s.rows * tests, "restoreTests");
    t.add("cf.d1.rowsRead", s.rows * tests, "restoreTests");
    t.add("cf.d1.storage", s.bytes / GB_CLOUDFLARE, "restoreTests", "gb");
  } else if (a.kind === "r2") {
    const s = input.sizes.r2?.[a.name];
    if (!s) return;
    items = s.objects;
    const pages = Math.ceil(s.objects / 1000);
    t.add("cf.r2.classA", (s.objects + 2 * pages) * tests, "restoreTests");
    t.add("cf.r2.classB", s.objects * tests, "restoreTests");
    t.add("cf.r2.storage", s.bytes / GB_CLOUDFLARE, "restoreTests", "gb");
  }
  const steps = Math.ceil((3 * items) / input.limits.opsPerStep) + 1;
  t.add("cf.queues.ops", 3 * steps * tests, "queue");
  t.add("cf.workers.requests", steps * tests, "requests");
  t.add("cf.workers.cpu", (steps * CPU_MS_PER_INVOCATION + 3 * items * CPU_MS_PER_ITEM) * tests, "cpu");
}
