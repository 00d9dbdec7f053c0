/**
 * The arithmetic of a KV backup's fan-out (worker/jobs/kv.ts, worker/engine/tasks.ts), in one
 * place for the Worker, the benchmark and the cost estimate. No imports: the policy pack loads
 * it through lib/cost.
 */

/** Reads a backup keeps in flight at once: Workers let an invocation have six connections
 * waiting for response headers ("Simultaneous outgoing connections/request: 6",
 * https://developers.cloudflare.com/workers/platform/limits/). */
export const READS_IN_FLIGHT = 6;

/** Operations a KV page task spends besides its reads: its input, two artifacts, its record. */
export const KV_TASK_OVERHEAD_OPS = 10;

/** Pages listed per job step at most: tasks start once the step that listed them ends. */
export const KV_PAGES_PER_STEP = 25;

/** Keys per KV list page (= per task): what one task can read inside the step's operation
 * budget; KV lists at most 1,000 keys per call. */
export const kvPageKeys = (opsPerStep: number): number => Math.max(1, Math.min(1000, opsPerStep - KV_TASK_OVERHEAD_OPS));

/** Pages per listing step: one list, one input write and up to two base-index reads each. */
export const kvPagesPerStep = (opsPerStep: number): number => Math.max(1, Math.min(KV_PAGES_PER_STEP, Math.floor((opsPerStep - 5) / 4)));

/** Tasks adopted per adoption step: one read and three deletes each, inside the step budget. */
export const adoptPerStep = (opsPerStep: number): number => Math.max(1, Math.floor((opsPerStep - 10) / 4));
