/**
 * bench/scale's arithmetic: a straight-line fit of backup time against size from two measured
 * sizes, and a model of the same backup on Cloudflare. Locally every KV, R2 and D1 operation is
 * a loopback call; on Cloudflare each is a network round trip. The model adds, per operation
 * counted in the local run (scaled to the target size), an ASSUMED latency, divided by how many
 * of them run at once: a serial chain of steps waits for each; a KV task keeps six reads in
 * flight and up to QUEUE_MAX_CONCURRENCY tasks run at once. The latencies are assumptions
 * (conservative: a cold read from KV's central store, not a cached one), printed with the
 * results, not measurements of Cloudflare.
 */

import { READS_IN_FLIGHT } from "../lib/backup/fanout";

export interface Sample {
  readonly size: number;
  readonly seconds: number;
}

/** Least squares through the samples: seconds = fixed + perUnit * size. */
export function fit(samples: readonly Sample[]): { fixed: number; perUnit: number } {
  const n = samples.length;
  const mx = samples.reduce((s, p) => s + p.size, 0) / n;
  const my = samples.reduce((s, p) => s + p.seconds, 0) / n;
  const sxx = samples.reduce((s, p) => s + (p.size - mx) ** 2, 0);
  const perUnit = sxx === 0 ? my / mx : samples.reduce((s, p) => s + (p.size - mx) * (p.seconds - my), 0) / sxx;
  return { fixed: Math.max(0, my - perUnit * mx), perUnit };
}

/** Assumed Cloudflare latencies, seconds per operation (see the header). */
export const ASSUMED_LATENCY = {
  kvRead: 0.02,
  kvList: 0.05,
  r2Op: 0.03,
  d1Query: 0.03,
  /** From a step's end to the next step's start through the queue. */
  queueHop: 0.2,
} as const;

/** Operations of one local run, as counted by the Workers-limit accounting. */
export interface RunCounts {
  readonly steps: number;
  readonly tasks: number;
  readonly kvOperations: number;
  readonly r2Operations: number;
  readonly d1Queries: number;
}

export interface Projection {
  /** Local time at the target size, from the fit. */
  readonly localSeconds: number;
  /** Modelled on Cloudflare with `concurrency` consumers. */
  readonly cloudflareSeconds: number;
}

/**
 * KV: the listing chain is serial (one list per page, one hop per step); each task keeps
 * `readsInFlight` reads in flight, `concurrency` tasks at a time; the local time (encrypting,
 * hashing, writing: CPU on Cloudflare) is spread over the consumers the same way.
 */
export function projectKv(localAtTarget: number, c: RunCounts, scale: number, o: { concurrency: number; readsInFlight: number; pageKeys: number; kvRead?: number }): Projection {
  const kvRead = o.kvRead ?? ASSUMED_LATENCY.kvRead;
  const tasks = Math.ceil(c.tasks * scale);
  const listing = tasks * ASSUMED_LATENCY.kvList + Math.ceil(c.steps * scale) * ASSUMED_LATENCY.queueHop;
  const perTask = (o.pageKeys * kvRead) / o.readsInFlight + (c.r2Operations / Math.max(1, c.tasks)) * ASSUMED_LATENCY.r2Op;
  const taskWall = Math.ceil(tasks / o.concurrency) * perTask;
  const cpu = localAtTarget / Math.min(o.concurrency, Math.max(1, tasks));
  return { localSeconds: localAtTarget, cloudflareSeconds: Math.max(listing, taskWall) + cpu + ASSUMED_LATENCY.queueHop * 3 };
}

/** The average KV read latency (seconds) at which the projection reaches `seconds`. */
export function kvReadLatencyFor(seconds: number, project: (kvRead: number) => Projection): number {
  let lo = 0;
  let hi = 10;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (project(mid).cloudflareSeconds <= seconds) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** D1 and R2: one chain of steps; every operation waits for the one before, except the
 * `aheadReads` (R2 objects up to 4 MiB, read six at a time: worker/jobs/r2.ts). */
export function projectSerial(localAtTarget: number, c: RunCounts, scale: number, aheadReads = 0): Projection {
  const serialOps = (c.r2Operations - aheadReads) * ASSUMED_LATENCY.r2Op + c.d1Queries * ASSUMED_LATENCY.d1Query + c.kvOperations * ASSUMED_LATENCY.kvRead;
  const ops = (serialOps + (aheadReads * ASSUMED_LATENCY.r2Op) / READS_IN_FLIGHT) * scale;
  return { localSeconds: localAtTarget, cloudflareSeconds: localAtTarget + ops + c.steps * scale * ASSUMED_LATENCY.queueHop };
}
