/**
 * LOCAL WORLD. Runs one Worker invocation under the local Workers limits: its bindings wrapped
 * and charged (limitedBindings.ts), and global fetch charged as subrequests for as long as the
 * invocation's async work runs (AsyncLocalStorage, from nodejs_compat). Used by the entry shim
 * of local Worker runs and by the workerd tests, so both meet the same limits.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { InvocationBudget, type InvocationLimits, type InvocationStats } from "./invocationBudget";
import { limitedEnv } from "./limitedBindings";
import type { R2LockRuleLike } from "./r2Locks";

const current = new AsyncLocalStorage<InvocationBudget>();
let fetchCharged = false;

/** Makes global fetch charge the running invocation (once per isolate). */
function chargeFetch(): void {
  if (fetchCharged) return;
  fetchCharged = true;
  const realFetch = globalThis.fetch.bind(globalThis);
  globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
    current.getStore()?.charge("subrequests");
    return realFetch(input, init);
  }) as typeof fetch;
}

export interface InvocationOptions {
  readonly limits: InvocationLimits;
  /** R2 lock rules by binding name. */
  readonly r2Locks?: Readonly<Record<string, readonly R2LockRuleLike[]>>;
  /** Receives the invocation's counts (and violation) when it ends, successful or not. */
  readonly onDone?: (stats: InvocationStats) => void | Promise<void>;
}

export async function runInvocation<E extends object, T>(kind: string, env: E, o: InvocationOptions, fn: (env: E) => Promise<T>): Promise<T> {
  chargeFetch();
  const budget = new InvocationBudget(kind, o.limits);
  try {
    return await current.run(budget, () => fn(limitedEnv(env, budget, o.r2Locks ?? {})));
  } finally {
    await o.onDone?.(budget.stats());
  }
}
