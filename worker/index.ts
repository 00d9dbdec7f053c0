/**
 * The backup Worker: Cloudflare calls `scheduled` for each cron trigger, `queue` for each
 * backup step (see handlers.ts) and `fetch` for the signed backup-now routes (trigger/routes.ts).
 */
import { assemblePlan } from "../lib/backup/planBindings";
import { sendAlerts } from "./alerting";
import type { Env, StepMessage } from "./env";
import { runQueue, runScheduled } from "./handlers";
import { handleTrigger } from "./trigger/routes";

/** The env with the whole plan: it is bound in parts to stay under Cloudflare's 5 KB per variable. */
const withPlan = (env: Env): Env => ({ ...env, BACKUP_PLAN: assemblePlan(env) });

export default {
  async scheduled(controller: ScheduledController, env: Env): Promise<void> {
    const e = withPlan(env);
    // Notes that an alert was raised are written only once it is delivered: a failed delivery
    // fails the invocation and the next run raises the alert again.
    const afterDelivery: Array<() => Promise<void>> = [];
    await sendAlerts(e, await runScheduled(e, controller.cron, new Date(), controller.scheduledTime, afterDelivery));
    for (const settle of afterDelivery) await settle();
  },
  async fetch(request: Request, env: Env): Promise<Response> {
    return handleTrigger(request, withPlan(env));
  },
  async queue(batch: MessageBatch<StepMessage>, env: Env): Promise<void> {
    const e = withPlan(env);
    await sendAlerts(e, await runQueue(e, batch));
  },
} satisfies ExportedHandler<Env, StepMessage>;
