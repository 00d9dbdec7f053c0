/**
 * DRPOSTURE_TRACE=1: where the time of a `drposture check` goes, one stderr line per phase,
 * stamped in ms since this process started (performance.now()), with the time since the
 * previous stamp. Off by default: no cost but one env lookup.
 */
const on = process.env.DRPOSTURE_TRACE === "1";
let last = 0;

export function tracing(): boolean {
  return on;
}

export function trace(phase: string): void {
  if (!on) return;
  const now = performance.now();
  process.stderr.write(`[check +${Math.round(now)}ms] ${phase} (+${Math.round(now - last)}ms)\n`);
  last = now;
}
