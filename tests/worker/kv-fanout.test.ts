/**
 * The KV fan-out in workerd: list pages become tasks that run on any consumer in any order
 * (Cloudflare Queues delivers at least once, in no guaranteed order, up to max_concurrency at
 * a time); the backup adopts them in key order, waits for stragglers with a delay instead of a
 * busy loop, ignores duplicates, and never adopts a forged or swapped task record or input.
 */
import { env, reset } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { KvEntryRecord, KvIndexLine } from "../../lib/backup/kvRecords";
import { fromBase64 } from "../../lib/format/bytes";
import type { InvocationStats } from "../../lib/local/limits/invocationBudget";
import { BackupRunner, findAsset, type StepOutcome } from "../../worker/engine/runner";
import { ADOPT_RETRY_SECONDS } from "../../worker/engine/tasks";
import type { Env, StepMessage } from "../../worker/env";
import { runQueue } from "../../worker/handlers";
import { invocation, latest, linesOf, manifestKeys, r2, testEnv } from "./helpers";
import { seedSessions } from "./seeds";

const ASSET = "kv/sessions";

interface Delivery {
  msg: StepMessage;
  delaySeconds: number;
}

/** Runs a backup through a queue whose next delivery `pick` chooses; `deliver` may replace a
 * delivery (duplicate it, tamper with the bucket first). */
async function backupOutOfOrder(e: Env, pick: (q: Delivery[]) => number, deliver: (d: Delivery) => Promise<Delivery[]> = async (d) => [d]) {
  const queue: Delivery[] = [];
  const invocations: InvocationStats[] = [];
  const outcomes: StepOutcome[] = [];
  const runnerIn = (limited: Env) => new BackupRunner(limited, { enqueue: async (msg, delaySeconds = 0) => void queue.push({ msg, delaySeconds }) });
  await invocation(e, "scheduled", (l) => runnerIn(l).start(findAsset(e.BACKUP_PLAN, ASSET)), invocations);
  const delivered: Delivery[] = [];
  while (queue.length && !outcomes.includes("committed")) {
    const [d] = queue.splice(pick(queue), 1) as [Delivery];
    for (const x of await deliver(d)) {
      delivered.push(x);
      outcomes.push(await invocation(e, "queue", (l) => runnerIn(l).continue(x.msg), invocations));
    }
  }
  return { outcomes, invocations, delivered };
}

/** The job's own steps first, unless delayed (waiting for tasks); then the newest task. */
const stepsFirstTasksLastQueuedFirst = (q: Delivery[]) => {
  const step = q.findIndex((d) => !d.msg.task && d.delaySeconds === 0);
  if (step >= 0) return step;
  const tasks = q.map((d, i) => (d.msg.task ? i : -1)).filter((i) => i >= 0);
  return tasks.length ? (tasks[tasks.length - 1] as number) : 0;
};
const tasksFirst = (q: Delivery[]) => Math.max(0, q.findIndex((d) => d.msg.task));

async function expectComplete(e: Env, source: Map<string, { value: Uint8Array; metadata?: unknown; expiration?: number }>) {
  const { manifest } = await latest(e, ASSET);
  const index = (await linesOf(r2(e), manifest, "kv-index")) as KvIndexLine[];
  const names = index.map((l) => l[0]);
  expect(names).toEqual([...source.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  const entries = (await linesOf(r2(e), manifest, "kv-entries")) as KvEntryRecord[];
  expect(entries).toHaveLength(source.size);
  for (const rec of entries) expect(fromBase64(rec.v as string)).toEqual(source.get(rec.k)?.value);
  return manifest;
}

describe("KV fan-out", () => {
  beforeEach(async () => {
    await reset();
  });

  it("tasks run in reverse order: adoption waits for the stragglers with a delay, the manifest stays in key order", async () => {
    const source = await seedSessions(env.KV_SESSIONS, 95);
    const e = testEnv({ limits: { opsPerStep: 21 } });
    const run = await backupOutOfOrder(e, stepsFirstTasksLastQueuedFirst);
    const waits = run.delivered.filter((d) => !d.msg.task && d.delaySeconds > 0);
    expect(waits.length).toBeGreaterThan(0);
    for (const w of waits) expect(w.delaySeconds).toBe(ADOPT_RETRY_SECONDS);
    expect(run.delivered.filter((d) => d.msg.task).map((d) => d.msg.task?.n)).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(run.outcomes.filter((o) => o === "task")).toHaveLength(9);
    const manifest = await expectComplete(e, source);
    expect(manifest.counts).toMatchObject({ keys: 95, listed: 95 });
    const left: string[] = [];
    for await (const o of r2(e).list("_state/tasks/")) left.push(o.key);
    expect(left).toEqual([]);
  });

  it("a task of a dropped backup failing its last attempt while the next backup runs neither alerts nor drops that backup", async () => {
    await seedSessions(env.KV_SESSIONS, 40);
    const e = testEnv({ limits: { opsPerStep: 21 } });
    const asset = findAsset(e.BACKUP_PLAN, ASSET);
    const queued: StepMessage[] = [];
    const runner = new BackupRunner(e, { enqueue: async (m) => void queued.push(m) });
    await runner.start(asset);
    await runner.continue(queued.shift() as StepMessage); // lists: tasks queued
    const task = queued.find((m) => m.task) as StepMessage;
    let next: string | undefined;
    // While the task runs, a sibling's failure drops its backup and the next cron run starts
    // another; then this task fails too, on its last attempt.
    const kv = new Proxy(env.KV_SESSIONS, {
      get(target, prop) {
        if (prop !== "getWithMetadata" && prop !== "get") return Reflect.get(target, prop).bind(target);
        return async () => {
          if (!next) {
            await runner.discard(asset);
            await new BackupRunner(e, { enqueue: async () => undefined }).start(asset);
            next = (await runner.activeJob(asset))?.backupId;
          }
          throw new Error("KV read failed");
        };
      },
    });
    const broken = { ...e, KV_SESSIONS: kv } as unknown as Env;
    const msg = { id: "m1", timestamp: new Date(), body: task, attempts: 3, ack: () => undefined, retry: () => undefined };
    const alerts = await runQueue(broken, { queue: "q", messages: [msg] } as never);
    expect(alerts).toEqual([]);
    expect(next).toBeDefined();
    expect((await runner.activeJob(asset))?.backupId).toBe(next);
    // The running backup's own failure still alerts and drops it.
    const own = { ...msg, body: { ...task, backupId: next as string } };
    expect((await runQueue(broken, { queue: "q", messages: [own] } as never)).map((a) => a.kind)).toEqual(["backup-failed"]);
    expect(await runner.activeJob(asset)).toBeNull();
  });

  it("a task delivered twice (at least once delivery) changes nothing", async () => {
    const source = await seedSessions(env.KV_SESSIONS, 40);
    const e = testEnv({ limits: { opsPerStep: 21 } });
    const run = await backupOutOfOrder(e, () => 0, async (d) => (d.msg.task ? [d, d] : [d]));
    expect(run.outcomes.filter((o) => o === "task")).toHaveLength(4);
    expect(run.outcomes.filter((o) => o === "stale")).toHaveLength(4);
    await expectComplete(e, source);
  });

  it("a task's record swapped for another task's is refused: no manifest, the backup fails", async () => {
    await seedSessions(env.KV_SESSIONS, 40);
    const e = testEnv({ limits: { opsPerStep: 21 } });
    const prefix = (id: string) => `_state/tasks/kv/sessions/${id}/`;
    const run = backupOutOfOrder(e, tasksFirst, async (d) => {
      const done = await env.BACKUP_R2.head(`${prefix(d.msg.backupId)}done-3.json`);
      if (!d.msg.task && done) {
        // Every task finished: swap the records of tasks 0 and 1 before the adoption reads them.
        const [a, b] = await Promise.all([0, 1].map(async (n) => (await env.BACKUP_R2.get(`${prefix(d.msg.backupId)}done-${n}.json`))?.text()));
        await env.BACKUP_R2.put(`${prefix(d.msg.backupId)}done-0.json`, b as string);
        await env.BACKUP_R2.put(`${prefix(d.msg.backupId)}done-1.json`, a as string);
      }
      return [d];
    });
    await expect(run).rejects.toThrow(/task 0 of backup/);
    expect(await manifestKeys(r2(e))).toEqual([]);
  });

  it("a tampered task input fails its task instead of backing up something else", async () => {
    await seedSessions(env.KV_SESSIONS, 40);
    const e = testEnv({ limits: { opsPerStep: 21 } });
    const run = backupOutOfOrder(e, tasksFirst, async (d) => {
      if (d.msg.task?.n === 1) {
        // Task 2's (valid, encrypted) key list put where task 1's belongs.
        const key = (n: number) => `_state/tasks/kv/sessions/${d.msg.backupId}/input-${n}.drpenc`;
        const other = await env.BACKUP_R2.get(key(2));
        await env.BACKUP_R2.put(key(1), await (other as R2ObjectBody).arrayBuffer());
      }
      return [d];
    });
    await expect(run).rejects.toThrow();
    expect(await manifestKeys(r2(e))).toEqual([]);
  });
});
