/**
 * The concurrent local queue (lib/local/concurrentQueue.ts): the stand-in for a Queues consumer
 * with max_concurrency, used by bench/scale. It must be at least as strict as Queues
 * (https://developers.cloudflare.com/queues/platform/limits/: 128 KB a message, 100 messages
 * and 256 KB a sendBatch, delays up to 12 hours), deliver at least once with retries, and run
 * the real Worker bundle's KV fan-out with tasks overlapping, under the Workers limits.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readManifest } from "../../lib/backup/catalog";
import { DEFAULT_LIMITS } from "../../lib/backup/plan";
import { importMasterKey } from "../../lib/format/keys";
import { verifyManifest } from "../../lib/format/manifest";
import { ConcurrentQueue, QUEUE_LIMITS, type QueueDelivery } from "../../lib/local/concurrentQueue";
import { localPlan } from "../../lib/local/localPlan";
import { LocalWorker } from "../../lib/local/localWorker";

const KEY = "5b6a79880f1e2d3c4b5a69788f9eadbccbdae0f11f2e3d4c1f2e3d4c5b6a7988";

describe("the concurrent local queue", () => {
  it("refuses what Queues refuses: a message over 128 KB, a batch of 101 or over 256 KB, a delay over 12 h", () => {
    const q = new ConcurrentQueue(4, 2);
    expect(() => q.send([{ body: "x".repeat(QUEUE_LIMITS.messageBytes) }])).toThrow(/message of 131074 bytes \(at most 131072\)/);
    expect(() => q.send(Array.from({ length: 101 }, () => ({ body: 1 })))).toThrow(/sendBatch of 101 messages/);
    expect(() => q.send(Array.from({ length: 3 }, () => ({ body: "x".repeat(100 * 1024) })))).toThrow(/batch of \d+ bytes \(at most 262144\)/);
    expect(() => q.send([{ body: 1, delaySeconds: 12 * 3600 + 1 }])).toThrow(/delay of 43201 s/);
    q.dispose();
  });

  it("runs up to its concurrency at once, retries a failed delivery and drops it after max retries", async () => {
    const q = new ConcurrentQueue(3, 2);
    let running = 0;
    let most = 0;
    const attempts = new Map<unknown, number>();
    q.dispatch = async (d: QueueDelivery) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      attempts.set(d.body, d.attempts);
      return d.body === "bad" ? { outcome: "exception" } : { outcome: "ok", explicitAcks: [d.id] };
    };
    q.send(Array.from({ length: 9 }, (_, i) => ({ body: `m${i}` })));
    q.send([{ body: "bad" }]);
    await q.idle();
    expect(most).toBe(3);
    expect(q.maxRunning).toBe(3);
    expect(attempts.get("bad")).toBe(3);
    expect(q.dropped).toEqual(["bad"]);
    expect(attempts.get("m8")).toBe(1);
  });
});

describe("the Worker bundle's KV fan-out on concurrent consumers", () => {
  let worker: LocalWorker;
  beforeAll(async () => {
    const plan = localPlan({
      stack: "fanout-test",
      assets: [{ kind: "kv", name: "sessions", sourceId: "0000000000000000000000000000000c", binding: "KV_SESSIONS", rpoMinutes: 15, cron: "*/15 * * * *", priority: 1 }],
      destinations: { r2: { bucketName: "fanout-backups" } },
      limits: { ...DEFAULT_LIMITS, opsPerStep: 110 }, // pages of 100 keys: 30 tasks
    });
    worker = await LocalWorker.start({ plan, keyHex: KEY, alertWebhookUrl: "http://127.0.0.1:9/unused", queueConcurrency: 6 });
    const kv = await worker.mf.getKVNamespace("KV_SESSIONS");
    for (let i = 0; i < 3000; i += 250) await Promise.all(Array.from({ length: 250 }, (_, j) => kv.put(`s:${String(i + j).padStart(5, "0")}`, `v${i + j}`)));
  }, 120_000);
  afterAll(async () => {
    await worker?.dispose();
  });

  it("tasks overlap, every invocation stays inside the limits, and the manifest holds every key once", async () => {
    await worker.runCron("*/15 * * * *");
    const pointer = await worker.waitForBackup({ kind: "kv", name: "sessions" }, null, 300_000);
    expect(worker.violations()).toEqual([]);
    expect(worker.queue?.maxRunning).toBeGreaterThan(1);
    expect((worker.queue?.log ?? []).filter((b) => (b as { task?: unknown }).task)).toHaveLength(30);
    expect(worker.peaks().storageOperations).toBeLessThanOrEqual(110 + 20);
    const storage = await worker.backupStorage();
    const manifest = await readManifest(storage, pointer.latest.key);
    await verifyManifest(await importMasterKey(KEY), manifest!, "fanout", pointer.latest.key);
    expect(manifest?.counts).toMatchObject({ keys: 3000, listed: 3000 });
    const left: string[] = [];
    for await (const o of storage.list("_state/tasks/")) left.push(o.key);
    expect(left).toEqual([]);
  }, 300_000);
});
