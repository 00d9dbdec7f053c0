/**
 * Crash safety: a crash injected at every write of a backup (before each put, after each
 * streamed chunk, after each put, including the manifest) never leaves a manifest for a partial
 * backup; re-running the step (as the queue's retry does) completes one valid backup; a job
 * that died without a retry is abandoned and the next run starts clean.
 */
import { env, reset } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { verifyManifest } from "../../lib/format/manifest";
import { AbandonedJobError, BackupRunner, findAsset } from "../../worker/engine/runner";
import type { StepMessage } from "../../worker/env";
import { CrashingStorage, latest, linesOf, manifestKeys, master, r2, testEnv } from "./helpers";
import { seedSessions } from "./seeds";

const ASSET = "kv/sessions";
const E = () => testEnv({ limits: { opsPerStep: 26 } }); // 30 keys -> pages of 16: 2 tasks, 4 artifacts

/** Runs a backup through `storage` until it throws or commits; returns what is still queued,
 * the message that crashed first (the queue redelivers it), its siblings after it. */
async function runUntilCrash(storage: CrashingStorage): Promise<{ crashed: Error | null; pending: StepMessage[] }> {
  const queue: StepMessage[] = [];
  const runner = new BackupRunner(E(), { storage, enqueue: async (m) => void queue.push(m) });
  try {
    await runner.start(findAsset(E().BACKUP_PLAN, ASSET));
    while (queue.length) {
      const msg = queue[0] as StepMessage;
      await runner.continue(msg);
      queue.shift();
    }
    return { crashed: null, pending: [] };
  } catch (err) {
    return { crashed: err as Error, pending: queue };
  }
}

describe("crash safety", () => {
  it("a crash at any write leaves no manifest, and retrying the step completes one valid backup", async () => {
    await reset();
    await seedSessions(env.KV_SESSIONS, 30);
    const probe = new CrashingStorage(r2(), Number.POSITIVE_INFINITY);
    expect((await runUntilCrash(probe)).crashed).toBeNull();
    const writes = probe.events;
    // Write event number at which the manifest has been stored (the commit point).
    const committedAt = probe.log.findIndex((l) => l.startsWith("after put") && l.endsWith("manifest.json")) + 1;
    expect(committedAt).toBeGreaterThan(1);
    expect(probe.log.some((l) => l.startsWith("chunk "))).toBe(true);
    expect(probe.log.some((l) => l.includes("manifest.json"))).toBe(true);

    for (let failAt = 1; failAt <= writes; failAt++) {
      await reset();
      await seedSessions(env.KV_SESSIONS, 30);
      const storage = new CrashingStorage(r2(), failAt);
      const { crashed, pending } = await runUntilCrash(storage);
      const where = storage.log[failAt - 1] as string;
      expect(crashed?.message, where).toMatch(/injected crash/);
      const manifests = await manifestKeys(r2());
      if (failAt >= committedAt) {
        // The manifest landed before the crash: that backup is committed and complete.
        expect(manifests, where).toHaveLength(1);
      } else {
        expect(manifests, where).toEqual([]);
      }
      // The queue redelivers the step; this time the storage holds.
      const queue: StepMessage[] = [...pending];
      const runner = new BackupRunner(E(), { enqueue: async (m) => void queue.push(m) });
      if (!pending.length) {
        // The crash hit the scheduled start: the Worker drops the job state and the next cron run starts over.
        await runner.discard(findAsset(E().BACKUP_PLAN, ASSET));
        await runner.start(findAsset(E().BACKUP_PLAN, ASSET));
      }
      while (queue.length) await runner.continue(queue.shift() as StepMessage);
      const keys = await manifestKeys(r2());
      expect(keys, where).toHaveLength(1);
      const { manifest } = await latest(E(), ASSET);
      await verifyManifest(await master(), manifest);
      expect(((await linesOf(r2(), manifest, "kv-entries")) as unknown[]).length, where).toBe(30);
    }
  });

  it("a job whose step died without a retry is abandoned after the idle limit, then the next run succeeds", async () => {
    await reset();
    await seedSessions(env.KV_SESSIONS, 30);
    const t0 = new Date("2026-11-20T10:00:00Z");
    const queue: StepMessage[] = [];
    const runner = new BackupRunner(E(), { now: () => t0, enqueue: async (m) => void queue.push(m) });
    const asset = findAsset(E().BACKUP_PLAN, ASSET);
    await runner.start(asset);
    await runner.continue(queue.shift() as StepMessage); // step 1 done, step 2 message lost
    expect(await manifestKeys(r2())).toEqual([]);

    const soon = new BackupRunner(E(), { now: () => new Date(t0.getTime() + 5 * 60_000), enqueue: async () => undefined });
    expect(await soon.start(asset)).toBe("skipped");
    const later = new BackupRunner(E(), { now: () => new Date(t0.getTime() + 31 * 60_000), enqueue: async (m) => void queue.push(m) });
    await expect(later.start(asset)).rejects.toBeInstanceOf(AbandonedJobError);
    await later.start(asset);
    while (queue.length) await later.continue(queue.shift() as StepMessage);
    expect(await manifestKeys(r2())).toHaveLength(1);
  });
});
