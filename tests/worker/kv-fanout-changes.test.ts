/**
 * The KV fan-out against a namespace that changes while it is backed up, and the shapes a
 * careless operator gives it: keys deleted, changed or added between the listing and the read,
 * a differential whose base holds keys where no page reaches, an empty page from KV before the
 * end, an empty namespace, one huge value among small ones, pages of a single key. Each backup
 * restores to the namespace (its records sorted, each key once) or fails loudly.
 */
import { env, reset } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { Env } from "../../worker/env";
import { drive, expectBackupOf, snapshot, stepsFirst, type KvSnapshot } from "./fanoutDriver";
import { testEnv } from "./helpers";
import { seedSessions } from "./seeds";

const T0 = new Date("2026-11-20T08:00:00Z");
const LATER = new Date("2026-11-20T08:15:00Z");
const EVEN_LATER = new Date("2026-11-20T08:30:00Z");
const PAGES_OF_11 = { opsPerStep: 21 };

/** A backup to its commit and S3 copy; it must not alert. */
async function backup(e: Env, at: Date) {
  const run = await drive(e, { at, pastCommit: true });
  expect(run.alerts).toEqual([]);
  expect(run.outcomes).toContain("committed");
  return run;
}

const sortedNames = async () => [...(await snapshot()).keys()].sort();

describe("KV fan-out: a namespace that changes, and odd shapes", () => {
  beforeEach(async () => {
    await reset();
  });

  it("keys deleted, changed and added after the listing, before the tasks read them", async () => {
    await seedSessions(env.KV_SESSIONS, 60);
    const names = await sortedNames();
    const [gone, changed, inPage] = [names[5], names[17], names[40]] as [string, string, string];
    const e = testEnv({ limits: PAGES_OF_11 });
    let expected: KvSnapshot | undefined;
    const run = await drive(e, {
      pick: stepsFirst,
      deliver: async (d) => {
        if (d.msg.task && !expected) {
          // Every page is listed; no task has read a value yet.
          await env.KV_SESSIONS.delete(gone);
          await env.KV_SESSIONS.put(changed, "new value", { metadata: { version: 2 } });
          expected = await snapshot();
          await env.KV_SESSIONS.put(`${inPage}x`, "added after its page was listed");
        }
        return [d];
      },
    });
    expect(run.alerts).toEqual([]);
    // The key added after its page was listed is not in this backup (the next one has it).
    await expectBackupOf(e, expected as KvSnapshot);
  });

  it("a differential whose base holds keys before the first page, between pages and after the last", async () => {
    await seedSessions(env.KV_SESSIONS, 60);
    const e = testEnv({ limits: PAGES_OF_11 });
    await backup(e, T0);
    const names = await sortedNames();
    // First keys, both sides of each page boundary (pages of 11), the last keys.
    const doomed = [0, 1, 10, 11, 21, 22, 32, 33, 43, 44, 57, 58, 59].map((i) => names[i] as string);
    for (const k of doomed) await env.KV_SESSIONS.delete(k);
    await backup(e, LATER);
    const manifest = await expectBackupOf(e, await snapshot());
    expect(manifest).toMatchObject({ mode: "incremental", counts: { deleted: doomed.length, written: 0 } });
  });

  it("KV returns an empty page before the end of the namespace: the differential stays sorted, each key once", async () => {
    await seedSessions(env.KV_SESSIONS, 60);
    const e = testEnv({ limits: PAGES_OF_11 });
    await backup(e, T0);
    await env.KV_SESSIONS.put("session:00031", "changed");
    await env.KV_SESSIONS.delete("session:00045");
    // Cloudflare: "If list_complete is false, there are more keys to fetch, even if the keys
    // array is empty." The second list call of this backup returns such a page.
    const kv = env.KV_SESSIONS;
    let calls = 0;
    const emptyOnce = {
      get: kv.get.bind(kv),
      getWithMetadata: kv.getWithMetadata.bind(kv),
      put: kv.put.bind(kv),
      delete: kv.delete.bind(kv),
      list: async (o: KVNamespaceListOptions) => (++calls === 2 ? { keys: [], list_complete: false, cursor: o.cursor as string, cacheStatus: null } : kv.list(o)),
    };
    await backup(testEnv({ limits: PAGES_OF_11, env: { KV_SESSIONS: emptyOnce as unknown as KVNamespace } }), LATER);
    expect(calls).toBeGreaterThan(2);
    const manifest = await expectBackupOf(e, await snapshot());
    expect(manifest).toMatchObject({ mode: "incremental", counts: { deleted: 1, written: 1 } });
  });

  it("an empty namespace: a full backup of nothing, then keys come, then all go", async () => {
    const e = testEnv({ limits: PAGES_OF_11 });
    await backup(e, T0);
    expect((await expectBackupOf(e, new Map())).counts).toMatchObject({ keys: 0 });
    await seedSessions(env.KV_SESSIONS, 15);
    await backup(e, LATER);
    expect((await expectBackupOf(e, await snapshot())).mode).toBe("incremental");
    for (const k of await sortedNames()) await env.KV_SESSIONS.delete(k);
    await backup(e, EVEN_LATER);
    expect((await expectBackupOf(e, new Map())).counts).toMatchObject({ keys: 0, deleted: 0 });
  });

  it("one huge value among small ones: its page continues in further parts, inside the byte budget", async () => {
    await seedSessions(env.KV_SESSIONS, 40);
    const huge = new Uint8Array(3 * 1024 * 1024);
    for (let i = 0; i < huge.length; i += 997) huge[i] = i & 255;
    await env.KV_SESSIONS.put("session:00017h", huge, { metadata: { huge: true } });
    const e = testEnv({ limits: { opsPerStep: 21, bytesPerStep: 1024 * 1024 } });
    const run = await backup(e, T0);
    expect(run.delivered.some((d) => (d.msg.task?.part ?? 0) > 0)).toBe(true);
    expect(run.invocations.map((i) => i.violation).filter(Boolean)).toEqual([]);
    await expectBackupOf(e, await snapshot());
    huge[5] = 1;
    await env.KV_SESSIONS.put("session:00017h", huge, { metadata: { huge: true } });
    await backup(e, LATER);
    expect((await expectBackupOf(e, await snapshot())).counts).toMatchObject({ written: 1 });
  });

  it("opsPerStep 11: pages of one key, a full and a differential backup, each invocation inside its KV budget", async () => {
    await seedSessions(env.KV_SESSIONS, 12);
    const e = testEnv({ limits: { opsPerStep: 11 } });
    const first = await backup(e, T0);
    expect(first.delivered.filter((d) => d.msg.task)).toHaveLength(12);
    await expectBackupOf(e, await snapshot());
    const names = await sortedNames();
    await env.KV_SESSIONS.delete(names[0] as string);
    await env.KV_SESSIONS.put(names[6] as string, "changed");
    await env.KV_SESSIONS.put("zzz", "new");
    const second = await backup(e, LATER);
    await expectBackupOf(e, await snapshot());
    for (const i of [...first.invocations, ...second.invocations]) expect(i.counts.kvOperations, JSON.stringify(i)).toBeLessThanOrEqual(11);
  });
});
