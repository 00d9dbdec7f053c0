/**
 * The KV fan-out against (a) someone holding the R2 writer token (anything under _state/ can be
 * put, deleted or listed) and (b) Cloudflare Queues as it is: at least once, duplicates, any
 * order, retries after an invocation died half-way, messages that arrive after their backup is
 * gone. The outcome is always either a backup that restores to the namespace, or a loud failure
 * (alerted, no manifest) within the wait limit: never a manifest that misses or repeats a key.
 */
import { env, reset } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { ArtifactEntry } from "../../lib/format/manifest";
import type { StepMessage } from "../../worker/env";
import { ASSET, drive, retriesFirst, expectBackupOf, expectLoudFailure, keysUnder, snapshot, STATE_KEY, taskObject, tasksFirst, type Delivery } from "./fanoutDriver";
import { testEnv } from "./helpers";
import { seedSessions } from "./seeds";

const text = async (key: string) => (await env.BACKUP_R2.get(key))?.text();
const bytes = async (key: string) => (await env.BACKUP_R2.get(key))?.arrayBuffer();
const doneOf = (d: Delivery, n: number) => taskObject(d.msg.backupId, `done-${n}.json`);
const T0 = new Date("2026-11-20T08:00:00Z");
const LATER = new Date("2026-11-20T08:15:00Z");

/** Pages of 11 keys, four pages per listing step. */
const PAGES_OF_11 = { opsPerStep: 21 };
/** Values of 7 bytes: a task part stops after three keys, so a page of 11 takes four parts. */
const PARTS_OF_3 = { opsPerStep: 21, bytesPerStep: 20 };

describe("KV fan-out: the R2 writer token", () => {
  beforeEach(async () => {
    await reset();
  });

  it("a done record deleted before adoption: the backup fails when the wait limit passes, no manifest", async () => {
    await seedSessions(env.KV_SESSIONS, 60);
    const e = testEnv({ limits: PAGES_OF_11 });
    let deleted = false;
    const run = await drive(e, {
      at: T0,
      pick: tasksFirst,
      deliver: async (d) => {
        if (!deleted && !d.msg.task && (await env.BACKUP_R2.head(doneOf(d, 2)))) {
          await env.BACKUP_R2.delete(doneOf(d, 2));
          deleted = true;
        }
        return [d];
      },
    });
    expect(deleted).toBe(true);
    await expectLoudFailure(e, run, /task 2 of backup \S+ did not finish within 30 min/);
    expect(run.now().getTime() - T0.getTime()).toBeLessThan(36 * 60_000);
  });

  it("a part record deleted between a task's parts: the task stops, the backup fails within the wait limit", async () => {
    await seedSessions(env.KV_SESSIONS, 40);
    const e = testEnv({ limits: PARTS_OF_3 });
    let deleted = false;
    const run = await drive(e, {
      at: T0,
      deliver: async (d) => {
        if (!deleted && d.msg.task?.n === 1 && d.msg.task.part === 2) {
          await env.BACKUP_R2.delete(taskObject(d.msg.backupId, "part-1.json"));
          deleted = true;
        }
        return [d];
      },
    });
    expect(deleted).toBe(true);
    await expectLoudFailure(e, run, /task 1 of backup \S+ did not finish within 30 min/);
    expect(run.now().getTime() - T0.getTime()).toBeLessThan(36 * 60_000);
  });

  it("records of an earlier backup replayed into the next backup's prefix are refused, never adopted", async () => {
    await seedSessions(env.KV_SESSIONS, 40);
    const e = testEnv({ limits: PAGES_OF_11 });
    const old = new Map<number, string>();
    await drive(e, {
      at: T0,
      pastCommit: true,
      deliver: async (d) => {
        for (let n = 0; n < 4; n++) old.set(n, (await text(doneOf(d, n))) ?? (old.get(n) as string));
        return [d];
      },
    });
    expect([...old.values()].every(Boolean)).toBe(true);
    const run = await drive(e, {
      at: LATER,
      deliver: async (d) => {
        if (d.msg.task) await env.BACKUP_R2.put(doneOf(d, d.msg.task.n), old.get(d.msg.task.n) as string);
        return [d];
      },
    });
    await expectLoudFailure(e, run, /task 0 of backup \S+: .*is sealed for "task:kv\/sessions:\S+:0:done"/);
  });

  it("done records planted past the last task (n >= total) are never adopted", async () => {
    await seedSessions(env.KV_SESSIONS, 60); // six tasks
    const source = await snapshot();
    const e = testEnv({ limits: PAGES_OF_11 });
    let planted = false;
    const run = await drive(e, {
      pick: tasksFirst,
      deliver: async (d) => {
        const real = await text(doneOf(d, 0));
        if (!planted && real) {
          for (const n of [6, 7, 50]) await env.BACKUP_R2.put(doneOf(d, n), real);
          await env.BACKUP_R2.put(doneOf(d, 99), "not a record");
          planted = true;
        }
        return [d];
      },
    });
    expect(planted).toBe(true);
    expect(run.alerts).toEqual([]);
    const manifest = await expectBackupOf(e, source);
    expect(manifest.counts).toMatchObject({ keys: 60, listed: 60 });
  });

  it("a done record planted for a task that has not run yet fails the backup instead of standing in for it", async () => {
    await seedSessions(env.KV_SESSIONS, 60);
    const e = testEnv({ limits: PAGES_OF_11 });
    const run = await drive(e, {
      deliver: async (d) => {
        const real = await text(doneOf(d, 0));
        if (d.msg.task?.n === 5 && real) await env.BACKUP_R2.put(doneOf(d, 5), real);
        return [d];
      },
    });
    await expectLoudFailure(e, run, /task 5 of backup \S+: .*is sealed for "task:kv\/sessions:\S+:0:done"/);
  });

  it("a flood of junk under _state/tasks/ changes nothing: the backup completes inside its limits", async () => {
    await seedSessions(env.KV_SESSIONS, 60);
    const source = await snapshot();
    const e = testEnv({ limits: PAGES_OF_11 });
    let flooded = false;
    const run = await drive(e, {
      deliver: async (d) => {
        if (!flooded) {
          const junk = [];
          for (let i = 0; i < 100; i++) {
            junk.push(taskObject(d.msg.backupId, ["done-x.json", `input-${1000 + i}.drpenc`, `part-${i}.json.bak`, `${i}/done-${i}.json`][i % 4] as string));
            junk.push(taskObject(`20261120T080000000Z-${String(i).padStart(8, "0")}`, `done-${i % 6}.json`));
            junk.push(`_state/tasks/kv/sessions-${i}/x/done-0.json`);
          }
          await Promise.all(junk.map((k) => env.BACKUP_R2.put(k, "{}")));
          flooded = true;
        }
        return [d];
      },
    });
    expect(run.alerts).toEqual([]);
    expect(run.invocations.map((i) => i.violation).filter(Boolean)).toEqual([]);
    await expectBackupOf(e, source);
  });

  it("a task message whose input names another backup's input is refused (it would back up another listing)", async () => {
    await seedSessions(env.KV_SESSIONS, 40);
    const e = testEnv({ limits: PAGES_OF_11 });
    let earlier: { entry: ArtifactEntry; body: ArrayBuffer } | undefined;
    await drive(e, {
      at: T0,
      pastCommit: true,
      deliver: async (d) => {
        const entry = d.msg.task?.input as ArtifactEntry | undefined;
        if (!earlier && d.msg.task?.n === 0 && entry) earlier = { entry, body: (await bytes(entry.key)) as ArrayBuffer };
        return [d];
      },
    });
    await env.KV_SESSIONS.put("session:00001x", "added since the earlier backup"); // in task 0's range
    const run = await drive(e, {
      at: LATER,
      deliver: async (d) => {
        if (d.msg.task?.n !== 0 || !earlier) return [d];
        await env.BACKUP_R2.put(earlier.entry.key, earlier.body);
        return [{ ...d, msg: { ...d.msg, task: { ...d.msg.task, input: earlier.entry } } }];
      },
    });
    await expectLoudFailure(e, run, /is not the input of task 0/);
  });
});

describe("KV fan-out: Queues' delivery", () => {
  beforeEach(async () => {
    await reset();
  });

  it("a task delivered again after it was adopted and its objects removed is a stale duplicate, not a failed backup", async () => {
    await seedSessions(env.KV_SESSIONS, 60);
    const source = await snapshot();
    const e = testEnv({ limits: PAGES_OF_11 });
    let first: Delivery | undefined;
    let again = false;
    const run = await drive(e, {
      pick: retriesFirst,
      deliver: async (d) => {
        if (d.msg.task?.n === 0 && d.msg.task.part === 0) first ??= d;
        if (first && !again && !d.msg.task && !(await env.BACKUP_R2.head(taskObject(d.msg.backupId, "input-0.drpenc")))) {
          again = true;
          return [first, d];
        }
        return [d];
      },
    });
    expect(again).toBe(true);
    expect(run.alerts).toEqual([]);
    await expectBackupOf(e, source);
  });

  it("a task part that saved its record but died before queueing the next part: the retry queues it", async () => {
    await seedSessions(env.KV_SESSIONS, 40);
    const source = await snapshot();
    const e = testEnv({ limits: PARTS_OF_3 });
    let failed = false;
    const run = await drive(e, {
      at: T0,
      onSend: (msg) => {
        if (!failed && msg.task?.n === 1 && msg.task.part === 2) {
          failed = true;
          throw new Error("queue send failed: the invocation dies here");
        }
      },
    });
    expect(failed).toBe(true);
    expect(run.alerts).toEqual([]);
    await expectBackupOf(e, source);
  });

  it("a listing step run twice (a duplicate delivered while it ran, or its job state replayed) around a deletion: no manifest missing a key", async () => {
    await seedSessions(env.KV_SESSIONS, 60);
    const e = testEnv({ limits: PAGES_OF_11 });
    let before: string | undefined;
    let twice = false;
    const run = await drive(e, {
      pick: tasksFirst,
      deliver: async (d) => {
        if (!d.msg.task && d.msg.step === 1) before ??= await text(STATE_KEY);
        if (!d.msg.task && d.msg.step === 2 && before && !twice) {
          // Tasks 0-3 of the first listing are done. The duplicate read the job state before
          // the first run saved it, and lists after the namespace's first key was deleted.
          twice = true;
          const first = (await env.KV_SESSIONS.list({ limit: 1 })).keys[0]?.name as string;
          await env.KV_SESSIONS.delete(first);
          await env.BACKUP_R2.put(STATE_KEY, before);
          const dup: StepMessage = { asset: ASSET, backupId: d.msg.backupId, step: 1 };
          return [{ msg: dup, delaySeconds: 0, attempts: 1 }, d];
        }
        return [d];
      },
    });
    expect(twice).toBe(true);
    await expectLoudFailure(e, run, /task 4 of backup \S+ does not start where task 3 ended/);
  });

  it("a task message of an earlier backup, delivered during the next one, is stale and writes nothing", async () => {
    await seedSessions(env.KV_SESSIONS, 40);
    const e = testEnv({ limits: PAGES_OF_11 });
    let old: Delivery | undefined;
    await drive(e, {
      at: T0,
      pastCommit: true,
      deliver: async (d) => {
        old ??= d.msg.task ? d : undefined;
        return [d];
      },
    });
    const source = await snapshot();
    let sent = false;
    const run = await drive(e, {
      at: LATER,
      deliver: async (d) => {
        if (sent || !d.msg.task || !old) return [d];
        sent = true;
        return [old, d];
      },
    });
    expect(run.outcomes[run.delivered.indexOf(old as Delivery)]).toBe("stale");
    expect(await keysUnder(`_state/tasks/kv/sessions/${old?.msg.backupId}/`)).toEqual([]);
    await expectBackupOf(e, source);
  });

  it("a task message whose backup is copying to S3 is stale: nothing is written under _state/tasks/", async () => {
    await seedSessions(env.KV_SESSIONS, 40);
    const e = testEnv({ limits: PAGES_OF_11 });
    let task: Delivery | undefined;
    let late: Delivery | undefined;
    const run = await drive(e, {
      pastCommit: true,
      deliver: async (d, sofar) => {
        task ??= d.msg.task ? d : undefined;
        if (late || !task || !sofar.outcomes.includes("committed")) return [d];
        late = { ...task };
        return [late, d];
      },
    });
    expect(late).toBeDefined();
    expect(run.outcomes[run.delivered.indexOf(late as Delivery)]).toBe("stale");
    expect(run.outcomes).toContain("replicated");
    expect(await keysUnder("_state/tasks/")).toEqual([]);
  });
});
