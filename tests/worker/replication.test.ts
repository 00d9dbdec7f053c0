/**
 * The copy of a committed backup to S3 runs in queue steps, each inside one invocation's
 * limits, with the identities the prod stack declares (writer puts; verifier lists, since a
 * HEAD of a missing key is 403 to it). The test plan's step budget is scaled down (21
 * operations per step instead of 800), and the invocation limits with it, so that a backup of
 * a few hundred keys meets the same walls a namespace of tens of thousands meets in production.
 * Cloudflare: "1,000 ... operations per invocation" (https://developers.cloudflare.com/kv/platform/limits/),
 * subrequests per invocation (https://developers.cloudflare.com/workers/platform/limits/).
 */
import { env, reset } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { listBackups, objectExists } from "../../lib/backup/catalog";
import { replicateBackup } from "../../lib/backup/replicate";
import { LimitExceededError } from "../../lib/local/limits/invocationBudget";
import { destinations } from "../../worker/engine/destinations";
import { backupNow, invocation, latest, linesOf, s3, testEnv } from "./helpers";
import { seedSessions } from "./seeds";

/** Invocation limits scaled like the step budget (1,000 x 21/800, rounded up). */
const SCALED = { subrequests: 30, r2Operations: 30 };

describe("replication to S3", () => {
  beforeEach(async () => {
    await reset();
  });

  it("copies a backup of many artifacts in steps within the limits; in one invocation the copy would exceed them", async () => {
    await seedSessions(env.KV_SESSIONS, 400);
    const e = testEnv({ limits: { opsPerStep: 21 } });
    const run = await backupNow(e, "kv/sessions", { limits: SCALED });
    const { manifest, key } = await latest(e, "kv/sessions");
    expect(manifest.artifacts.length).toBeGreaterThan(30);
    const copySteps = run.outcomes.slice(run.steps);
    expect(copySteps.length).toBeGreaterThan(2);
    expect(copySteps.at(-1)).toBe("replicated");
    expect(run.invocations.map((i) => i.violation).filter(Boolean)).toEqual([]);
    expect(Math.max(...run.invocations.map((i) => i.counts.subrequests))).toBeLessThanOrEqual(SCALED.subrequests);
    // The S3 copy is complete and decrypts, read by the restorer.
    expect(await objectExists(s3(), key)).not.toBeNull();
    expect((await linesOf(s3(), manifest, "kv-entries")).length).toBe(400);

    // The one-shot copy this replaced (a whole backup in the commit's invocation) goes over the
    // same limit: shown on a second backup, kept in R2 only until then.
    const r2Only = testEnv({ limits: { opsPerStep: 21 }, plan: { destinations: { ...e.BACKUP_PLAN.destinations, s3: undefined } } });
    await env.KV_SESSIONS.put("session:00002", "changed");
    await backupNow(r2Only, "kv/sessions", { limits: SCALED, now: () => new Date(Date.now() + 86_400_000) }); // next day: a full backup
    const second = await latest(r2Only, "kv/sessions");
    expect(second.key).not.toBe(key);
    await expect(
      invocation(e, "queue", async (limited) => {
        const d = destinations(limited);
        await replicateBackup(d.r2, { write: d.s3!.write, read: d.s3!.read!, lockMode: "COMPLIANCE" }, second.manifest, second.key, 35);
      }, undefined, SCALED),
    ).rejects.toThrow(LimitExceededError);
  });

  it("copies a differential backup's full base first when the base never reached S3", async () => {
    await seedSessions(env.KV_SESSIONS, 30);
    const e = testEnv({ plan: { destinations: { ...testEnv().BACKUP_PLAN.destinations, s3: undefined } } });
    const day = "2026-11-21";
    await backupNow(e, "kv/sessions", { now: () => new Date(`${day}T08:00:00Z`) }); // full, R2 only
    await env.KV_SESSIONS.put("session:00001", "changed");
    const withS3 = testEnv();
    await backupNow(withS3, "kv/sessions", { now: () => new Date(`${day}T08:15:00Z`) }); // differential
    const { manifest } = await latest(withS3, "kv/sessions");
    expect(manifest.mode).toBe("incremental");
    const base = manifest.dependsOn[0]!;
    expect(await objectExists(s3(), base.key)).not.toBeNull();
    const onS3 = await listBackups(s3(), { kind: "kv", name: "sessions" });
    expect(onS3.map((b) => b.backupId)).toEqual(expect.arrayContaining([base.backupId, manifest.backupId]));
  });
});
