/**
 * bench/scale: how backups grow with the data, through the real Worker bundle in workerd under
 * the Workers-limit accounting (lib/local/limits/), with the queue's consumers running
 * concurrently as Queues' max_concurrency allows (lib/local/concurrentQueue.ts).
 * Per asset, at two sizes (a quarter and the full size; the large R2 object is in both, so the
 * fit's slope is per object and its fixed part includes the large object): wall time from cron to committed
 * manifest, queue invocations (job steps and parallel tasks), the most operations and
 * subrequests any one invocation used against its limit, peak RSS of workerd, bytes written.
 * Then a straight-line fit of time against size, projected to 1M keys / 10 GiB / 100,000
 * objects, and a model of that on Cloudflare (bench/scaleModel.ts: assumed latencies, printed)
 * next to each prod asset's RPO (Pulumi.prod.yaml).
 * Run: npm run bench:scale -- [--keys 100000] [--d1-mib 256] [--r2-objects 5000] [--r2-big-mib 1024]
 *                              [--only kv,d1,r2] [--concurrency 20] [--local-concurrency 6]
 */
import { readManifest } from "../lib/backup/catalog";
import { kvPageKeys as pageKeys, READS_IN_FLIGHT } from "../lib/backup/fanout";
import { DEFAULT_LIMITS } from "../lib/backup/plan";
import type { InvocationStats } from "../lib/local/limits/invocationBudget";
import { localPlan } from "../lib/local/localPlan";
import { LocalWorker } from "../lib/local/localWorker";
import { peakRssMiB, workerdPids } from "../lib/local/workerdMemory";
import { QUEUE_MAX_CONCURRENCY } from "../lib/posture/model";
import * as path from "node:path";
import { loadStackPosture } from "../cli/commands/posture";
import { fit, kvReadLatencyFor, projectKv, projectSerial, ASSUMED_LATENCY, type Projection, type RunCounts } from "./scaleModel";
import { D1_ROW_BYTES, KV_VALUE_BYTES, seedD1, seedKv, seedR2 } from "./scaleSeed";

const args = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const onlyArg = args.indexOf("--only");
const ONLY = new Set((onlyArg >= 0 ? (args[onlyArg + 1] as string) : "kv,d1,r2").split(","));
const KEYS = arg("keys", 100_000);
const D1_MIB = arg("d1-mib", 256);
const R2_OBJECTS = arg("r2-objects", 5000);
const R2_BIG_MIB = arg("r2-big-mib", 1024);
/** Consumers at once on Cloudflare (the deployed max_concurrency), for the model. */
const CONCURRENCY = arg("concurrency", QUEUE_MAX_CONCURRENCY);
/** Consumers at once here: they share one workerd process on this machine's cores, so more
 * than a few only adds memory (each is its own 128 MB isolate on Cloudflare). */
const LOCAL_CONCURRENCY = arg("local-concurrency", 6);
const KEY_HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const CRON = "*/15 * * * *";

type Kind = "kv" | "d1" | "r2";

interface Run {
  readonly size: number;
  readonly seconds: number;
  readonly counts: RunCounts;
  readonly peak: InvocationStats["counts"];
  readonly limits: InvocationStats["counts"];
  readonly peakRssMiB: number;
  readonly bytesWritten: number;
  readonly sourceBytes: number;
  readonly maxRunning: number;
  readonly violations: string[];
}

const ASSETS: Record<Kind, { name: string; binding: string; sourceId: string }> = {
  kv: { name: "sessions", binding: "KV_SESSIONS", sourceId: "0000000000000000000000000000beef" },
  d1: { name: "app-db", binding: "D1_APP_DB", sourceId: "00000000-0000-4000-8000-00000000beef" },
  r2: { name: "user-uploads", binding: "R2_USER_UPLOADS", sourceId: "bench-user-uploads" },
};

async function runOnce(kind: Kind, size: number): Promise<Run> {
  const a = ASSETS[kind];
  const plan = localPlan({
    stack: "bench",
    assets: [{ kind, name: a.name, sourceId: a.sourceId, binding: a.binding, rpoMinutes: 15, cron: CRON, priority: 1 }],
    destinations: { r2: { bucketName: "bench-backups" } },
  });
  const before = new Set(workerdPids());
  const lw = await LocalWorker.start({ plan, keyHex: KEY_HEX, alertWebhookUrl: "http://127.0.0.1:9/unused", queueConcurrency: LOCAL_CONCURRENCY });
  try {
    const pid = workerdPids().find((p) => !before.has(p));
    const sourceBytes =
      kind === "kv" ? (await seedKv(lw.mf, a.binding, size), size * KV_VALUE_BYTES) : kind === "d1" ? (await seedD1(lw.mf, a.binding, size)) * D1_ROW_BYTES : await seedR2(lw.mf, a.binding, size, R2_BIG_MIB);
    lw.invocations.length = 0;
    const t = performance.now();
    await lw.runCron(CRON);
    const pointer = await lw.waitForBackup({ kind, name: a.name }, null, 3 * 3600_000);
    const seconds = (performance.now() - t) / 1000;
    const manifest = await readManifest(await lw.backupStorage(), pointer.latest.key);
    if (!manifest) throw new Error("no manifest");
    const log = lw.queue?.log ?? [];
    const tasks = log.filter((b) => (b as { task?: unknown }).task).length;
    const sum = (k: keyof InvocationStats["counts"]) => lw.invocations.reduce((s, i) => s + i.counts[k], 0);
    return {
      size,
      seconds,
      counts: { steps: log.length - tasks, tasks, kvOperations: sum("kvOperations"), r2Operations: sum("r2Operations"), d1Queries: sum("d1Queries") },
      peak: lw.peaks(),
      limits: lw.limits,
      peakRssMiB: pid ? peakRssMiB(pid) : NaN,
      bytesWritten: manifest.artifacts.reduce((s, x) => s + x.ciphertextBytes, 0),
      sourceBytes,
      maxRunning: lw.queue?.maxRunning ?? 1,
      violations: lw.violations(),
    };
  } finally {
    await lw.dispose();
  }
}

const TARGET: Record<Kind, { size: number; unit: string; label: string }> = {
  kv: { size: 1_000_000, unit: "keys", label: "1,000,000 keys" },
  d1: { size: 10 * 1024, unit: "MiB", label: "10 GiB" },
  r2: { size: 100_000, unit: "objects", label: "100,000 objects (+ the large object)" },
};

const FULL: Record<Kind, number> = { kv: KEYS, d1: D1_MIB, r2: R2_OBJECTS };

const mib = (b: number) => (b / 1048576).toFixed(1);
const pad = (s: string | number, n: number) => String(s).padStart(n);

function printRun(kind: Kind, r: Run): void {
  const unit = TARGET[kind].unit;
  console.log(
    `  ${pad(r.size.toLocaleString("en-US"), 9)} ${unit.padEnd(7)} ${pad(r.seconds.toFixed(1), 7)} s  queue deliveries ${pad(r.counts.steps, 5)} steps + ${pad(r.counts.tasks, 5)} tasks (${r.maxRunning} at once)  ` +
      `max/invocation kv ${r.peak.kvOperations}/${r.limits.kvOperations} r2 ${r.peak.r2Operations}/${r.limits.r2Operations} d1 ${r.peak.d1Queries}/${r.limits.d1Queries} subreq ${r.peak.subrequests}/${r.limits.subrequests}  ` +
      `peak RSS ${r.peakRssMiB.toFixed(0)} MiB  source ${mib(r.sourceBytes)} MiB -> written ${mib(r.bytesWritten)} MiB${r.violations.length ? `  VIOLATIONS: ${r.violations.join("; ")}` : ""}`,
  );
}

function prodRpo(kind: Kind): number {
  const posture = loadStackPosture(path.resolve(__dirname, ".."), "prod");
  const asset = posture.assets.find((a) => a.kind === kind && a.name === ASSETS[kind].name);
  return asset?.rpoMinutes ?? NaN;
}

function project(kind: Kind, runs: Run[]): { projection: Projection; serial?: Projection; breakEvenKvRead?: number } {
  const f = fit(runs.map((r) => ({ size: r.size, seconds: r.seconds })));
  const last = runs[runs.length - 1] as Run;
  const target = TARGET[kind].size;
  const local = f.fixed + f.perUnit * target;
  const scale = target / last.size;
  // R2: the small objects (all but the large one) are read ahead, one read each.
  if (kind !== "kv") return { projection: projectSerial(local, last.counts, scale, kind === "r2" ? last.size : 0) };
  const keys = pageKeys(DEFAULT_LIMITS.opsPerStep);
  const fanout = (kvRead?: number) => projectKv(local, last.counts, scale, { concurrency: CONCURRENCY, readsInFlight: READS_IN_FLIGHT, pageKeys: keys, ...(kvRead !== undefined ? { kvRead } : {}) });
  return {
    projection: fanout(),
    // The design before the fan-out: one chain of steps, one read at a time.
    serial: projectKv(local, last.counts, scale, { concurrency: 1, readsInFlight: 1, pageKeys: keys }),
    breakEvenKvRead: kvReadLatencyFor(prodRpo(kind) * 60, fanout),
  };
}

async function main(): Promise<void> {
  console.log(`bench/scale on ${process.version}, ${new Date().toISOString()}; queue consumers at once: ${LOCAL_CONCURRENCY} here, ${CONCURRENCY} modelled on Cloudflare`);
  const lines: string[] = [];
  for (const kind of ["kv", "d1", "r2"] as const) {
    if (!ONLY.has(kind)) continue;
    console.log(`${kind}/${ASSETS[kind].name}:`);
    const runs: Run[] = [];
    for (const size of [Math.max(1, Math.round(FULL[kind] / 4)), FULL[kind]]) {
      const r = await runOnce(kind, size);
      printRun(kind, r);
      runs.push(r);
    }
    const f = fit(runs.map((r) => ({ size: r.size, seconds: r.seconds })));
    const { projection, serial, breakEvenKvRead } = project(kind, runs);
    const rpo = prodRpo(kind);
    const minutes = projection.cloudflareSeconds / 60;
    console.log(`  fit: ${f.fixed.toFixed(1)} s + ${(f.perUnit * 1000).toFixed(3)} ms per ${TARGET[kind].unit.replace(/s$/, "")}`);
    lines.push(
      `  ${`${kind}/${ASSETS[kind].name}`.padEnd(18)} ${TARGET[kind].label.padEnd(38)} local ${pad((projection.localSeconds / 60).toFixed(1), 6)} min  Cloudflare (modelled) ${pad(minutes.toFixed(1), 6)} min  prod RPO ${pad(rpo, 4)} min  ${minutes <= rpo ? "fits" : "DOES NOT FIT"}` +
        (serial ? `\n  ${"".padEnd(18)} ${"  (one serial chain, before the fan-out)".padEnd(38)} ${"".padEnd(16)} Cloudflare (modelled) ${pad((serial.cloudflareSeconds / 60).toFixed(1), 6)} min` : "") +
        (breakEvenKvRead !== undefined ? `\n  ${"".padEnd(18)} fits the RPO while an average KV read takes under ${(breakEvenKvRead * 1000).toFixed(0)} ms (assumed: ${ASSUMED_LATENCY.kvRead * 1000} ms)` : ""),
    );
  }
  console.log(`projection (assumed Cloudflare latencies: KV read ${ASSUMED_LATENCY.kvRead * 1000} ms, KV list ${ASSUMED_LATENCY.kvList * 1000} ms, R2 op ${ASSUMED_LATENCY.r2Op * 1000} ms, D1 query ${ASSUMED_LATENCY.d1Query * 1000} ms, queue hop ${ASSUMED_LATENCY.queueHop * 1000} ms):`);
  for (const l of lines) console.log(l);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
