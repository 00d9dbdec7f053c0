/**
 * The backup Worker: Cloudflare calls `scheduled` for each cron trigger and `queue` for each
 * backup step. See handlers.ts.
 */
import { sendAlerts } from "./alerting";
import type { Env, StepMessage } from "./env";
import { runQueue, runScheduled } from "./handlers";

export default {
  async scheduled(controller: ScheduledController, env: Env): Promise<void> {
    await sendAlerts(env, await runScheduled(env, controller.cron));
  },
  async queue(batch: MessageBatch<StepMessage>, env: Env): Promise<void> {
    await sendAlerts(env, await runQueue(env, batch));
  },
} satisfies ExportedHandler<Env, StepMessage>;
