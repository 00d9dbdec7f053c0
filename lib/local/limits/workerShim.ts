/**
 * LOCAL WORLD. The entry module of a local run of the backup Worker: it imports the production
 * bundle unchanged (a separate module, "./index.js", byte for byte what `pulumi up` deploys) and
 * runs each of its invocations under Cloudflare's per-invocation limits (runInvocation.ts).
 * Each invocation's counts and any violation go to the Node side through the LIMITS_REPORT
 * service. Never deployed: the BackupWorker component uploads index.js alone.
 */
// @ts-expect-error: the production bundle, provided as a sibling module at run time.
import worker from "./index.js";
import type { InvocationLimits } from "./invocationBudget";
import type { R2LockRuleLike } from "./r2Locks";
import { runInvocation } from "./runInvocation";

interface Relay {
  fetch(url: string, init: RequestInit): Promise<Response>;
}

interface ShimBindings {
  readonly LOCAL_LIMITS: { readonly limits: InvocationLimits; readonly r2Locks: Record<string, R2LockRuleLike[]> };
  readonly LIMITS_REPORT: Relay;
  /** Present when the local queue runs several consumers at once (concurrentQueue.ts). */
  readonly QUEUE_RELAY?: Relay;
}

/** BACKUP_QUEUE's producer, posting to the concurrent local queue instead of Miniflare's. */
function relayedQueue(relay: Relay) {
  const post = async (messages: Array<{ body: unknown; delaySeconds?: number }>) => {
    const r = await relay.fetch("http://queue/send", { method: "POST", body: JSON.stringify({ messages }) });
    if (!r.ok) throw new Error(`Queue send failed: ${await r.text()}`);
  };
  return {
    send: (body: unknown, o?: { delaySeconds?: number }) => post([{ body, ...(o?.delaySeconds ? { delaySeconds: o.delaySeconds } : {}) }]),
    sendBatch: (msgs: Array<{ body: unknown; delaySeconds?: number }>, o?: { delaySeconds?: number }) =>
      post(msgs.map((m) => ({ body: m.body, ...((m.delaySeconds ?? o?.delaySeconds) ? { delaySeconds: m.delaySeconds ?? o?.delaySeconds } : {}) }))),
  };
}

type Env = ShimBindings & Record<string, unknown>;

interface Handlers {
  scheduled(controller: unknown, env: unknown, ctx: unknown): Promise<void>;
  queue(batch: unknown, env: unknown, ctx: unknown): Promise<void>;
  fetch(request: Request, env: unknown, ctx: unknown): Promise<Response>;
}

const handlers = worker as Handlers;

function run<T>(kind: "scheduled" | "queue" | "fetch", env: Env, fn: (e: Record<string, unknown>) => Promise<T>): Promise<T> {
  const { LOCAL_LIMITS, LIMITS_REPORT, QUEUE_RELAY, ...production } = env;
  if (QUEUE_RELAY) production.BACKUP_QUEUE = relayedQueue(QUEUE_RELAY);
  return runInvocation(kind, production, {
    limits: LOCAL_LIMITS.limits,
    r2Locks: LOCAL_LIMITS.r2Locks,
    onDone: async (stats) => void (await LIMITS_REPORT.fetch("http://limits/report", { method: "POST", body: JSON.stringify(stats) })),
  }, fn);
}

export default {
  scheduled(controller: unknown, env: Env, ctx: unknown): Promise<void> {
    return run("scheduled", env, (e) => handlers.scheduled(controller, e, ctx));
  },
  queue(batch: unknown, env: Env, ctx: unknown): Promise<void> {
    return run("queue", env, (e) => handlers.queue(batch, e, ctx));
  },
  /** The signed backup-now routes: each request one invocation, charged like the others. */
  fetch(request: Request, env: Env, ctx: unknown): Promise<Response> {
    return run("fetch", env, (e) => handlers.fetch(request, e, ctx));
  },
};
