/**
 * LOCAL WORLD. Memory of the workerd processes this Node process started (Miniflare), read
 * from /proc: the peak resident set (VmHWM) is what a backup's memory bound is measured by.
 * Miniflare runs its storage simulators in the same process, so a figure includes them:
 * compare growth between sizes rather than reading one figure as the isolate's heap.
 */
import { readdirSync, readFileSync } from "node:fs";

/** workerd processes whose parent is this process. */
export function workerdPids(): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const comm = /\(([^)]*)\)/.exec(stat)?.[1];
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (comm === "workerd" && ppid === process.pid) out.push(Number(d));
    } catch {
      /* the process ended */
    }
  }
  return out;
}

/** Peak resident set of a process so far, MiB. */
export function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** Current resident set of a process, MiB. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}
