/**
 * The seed and run count of every property-based test. CI runs a fixed seed so a failure
 * reproduces; `DRPOSTURE_FC_SEED=random` (or a number) explores new cases on demand, and the
 * failing seed and path fast-check prints reproduce it.
 */
import type { Parameters } from "fast-check";

const FIXED_SEED = 20261123;

export function propertyParams<T>(numRuns: number): Parameters<T> {
  const env = process.env.DRPOSTURE_FC_SEED;
  const seed = env === "random" ? Date.now() ^ (Math.random() * 0x7fffffff) : env ? Number(env) : FIXED_SEED;
  if (!Number.isSafeInteger(seed)) throw new Error(`DRPOSTURE_FC_SEED=${env}: expected an integer or "random"`);
  const runs = process.env.DRPOSTURE_FC_RUNS ? Number(process.env.DRPOSTURE_FC_RUNS) : numRuns;
  return { seed, numRuns: runs, verbose: 1 };
}
