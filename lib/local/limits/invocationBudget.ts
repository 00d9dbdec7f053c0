/**
 * LOCAL WORLD. Cloudflare's per-invocation limits, which Miniflare does not enforce, counted
 * and enforced for local runs of the backup Worker: every binding operation and subrequest of
 * one invocation (one cron firing, one queue batch) is charged to its budget, and the operation
 * that goes over a limit throws, as it does on Cloudflare. Runs inside workerd (no Node APIs).
 * The numbers are Cloudflare's documented limits for the Workers Paid plan; see LIMIT_SOURCES.
 */

export interface InvocationLimits {
  /** fetch() subrequests (S3, SNS, webhooks, Neon). */
  readonly subrequests: number;
  /** KV operations (get, getWithMetadata, put, delete, list). */
  readonly kvOperations: number;
  /** D1 queries (each statement, including each statement of a batch). */
  readonly d1Queries: number;
  /** R2 binding operations (head, get, put, delete, list, multipart calls). */
  readonly r2Operations: number;
  /** KV and R2 operations together: "within a single invocation, a Worker can make up to
   * 1,000 operations to external services (for example, 500 Workers KV reads and 500 R2
   * reads)" (https://developers.cloudflare.com/kv/platform/limits/). */
  readonly storageOperations: number;
  /** Bytes read from the protected sources (KV values, R2 bodies): the step's byte budget. */
  readonly sourceBytes: number;
}

export type Charge = "subrequests" | "kvOperations" | "d1Queries" | "r2Operations" | "storageOperations" | "sourceBytes";

export interface InvocationStats {
  readonly kind: string;
  readonly counts: Record<Charge, number>;
  readonly violation: string | null;
}

export class LimitExceededError extends Error {
  override readonly name = "LimitExceededError";
}

const MESSAGES: Record<Charge, string> = {
  subrequests: "Too many subrequests",
  kvOperations: "Too many API requests by single Worker invocation (KV)",
  d1Queries: "Too many API requests by single Worker invocation (D1)",
  r2Operations: "Too many API requests by single Worker invocation (R2)",
  storageOperations: "Too many API requests by single Worker invocation (KV and R2 together)",
  sourceBytes: "The step read more source bytes than its budget",
};

export class InvocationBudget {
  readonly counts: Record<Charge, number> = { subrequests: 0, kvOperations: 0, d1Queries: 0, r2Operations: 0, storageOperations: 0, sourceBytes: 0 };
  violation: string | null = null;

  constructor(readonly kind: string, readonly limits: InvocationLimits) {}

  /** Counts `n` units; throws (and remembers the first violation) past the limit. */
  charge(what: Charge, n = 1): void {
    if (what === "kvOperations" || what === "r2Operations") this.charge("storageOperations", n);
    this.counts[what] += n;
    if (this.counts[what] > this.limits[what]) {
      const message = `${MESSAGES[what]}: ${this.counts[what]} > ${this.limits[what]} in one ${this.kind} invocation (local Workers limits)`;
      this.violation ??= message;
      throw new LimitExceededError(message);
    }
  }

  stats(): InvocationStats {
    return { kind: this.kind, counts: { ...this.counts }, violation: this.violation };
  }
}
