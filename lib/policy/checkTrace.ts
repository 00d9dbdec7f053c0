/**
 * DRPOSTURE_TRACE=1: where the time of a `drposture check` goes, one stderr line per phase,
 * stamped in ms since this process started (performance.now()), with the time since the
 * previous stamp and the CPU time this process spent meanwhile. Off by default: no cost but one env lookup.
 */
const on = process.env.DRPOSTURE_TRACE === "1";
let last = 0;
let lastCpu = 0;

export function tracing(): boolean {
  return on;
}

export function trace(phase: string): void {
  if (!on) return;
  const now = performance.now();
  // CPU time of this process too: on a busy machine the wall clock says little.
  const { user, system } = process.cpuUsage();
  const cpu = (user + system) / 1000;
  process.stderr.write(`[check +${Math.round(now)}ms] ${phase} (+${Math.round(now - last)}ms, cpu +${Math.round(cpu - lastCpu)}ms)\n`);
  last = now;
  lastCpu = cpu;
}
