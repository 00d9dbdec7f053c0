/**
 * Runs restore tests: the newest committed backup of one asset, restored into that kind's
 * scratch resource with the CLI's restore code, read back and compared (item count against the
 * manifest, content digest against the backup's artifacts), D1's integrity checks, the time
 * against the asset's RTO; then the result is sealed into _reports/restore-tests/ and the
 * scratch resource emptied. Every phase runs in queue steps, each inside one step's budget:
 *   empty-before -> restore (parts) -> verify (parts) -> [result] -> empty-after
 * A backup that fails to authenticate or a target that refuses it fails the test at once;
 * other errors are retried by the queue, and a test whose retries run out fails.
 */
import { RESTORE_TEST_BINDINGS, RESTORE_TEST_CHECKS_BINDING, type BackupPlan, type PlanAsset } from "../../lib/backup/plan";
import { failureOf, restoreTestPurpose, restoreTestReportKey, type RestoreTestResult } from "../../lib/backup/restoreTestReport";
import { importMasterKey, type MasterKey } from "../../lib/format/keys";
import type { AssetRef } from "../../lib/format/layout";
import { sealState, StateSealError } from "../../lib/format/sealedState";
import type { DeclaredCheck } from "../../lib/integrity/declaredChecks";
import { EMPTY_DIGEST, MultisetDigest, sameDigest } from "../../lib/restore/multisetDigest";
import { resolveBackup } from "../../lib/restore/resolve";
import type { D1Like } from "../../lib/restore/d1Restore";
import type { BackupStorage } from "../../lib/storage/types";
import { destinations } from "../engine/destinations";
import type { Env, StepMessage } from "../env";
import { countedStorage, StepBudget } from "./budget";
import { MANIFEST_COUNT, type ScratchTarget } from "./scratch";
import { scratchD1 } from "./scratchD1";
import { scratchKv, type KvNamespaceLike } from "./scratchKv";
import { scratchR2 } from "./scratchR2";
import { dropTestState, readTestState, saveTestState, type RestoreTestState } from "./state";

/** Errors that mean the backup or the restore is wrong, not that the step was unlucky. A
 * storage error or a D1 batch the scratch database refused may be passing (R2 or D1 having a
 * bad minute): those are retried by the queue, and fail the test once its retries run out. */
const DEFINITIVE = new Set(["ArtifactIntegrityError", "ManifestError", "RestoreRefusedError", "RestoreInputError", "StateSealError", "RestoreTestError"]);
/** Times the first restore part may be started over (emptying the scratch resource each time)
 * before the test fails: each start-over is a new queue message, so the queue's own retry count
 * never runs out on it. */
const FIRST_PART_TRIES = 3;
/** KV keys expiring within this of the test's start are kept out of the digests. */
const EXPIRY_HORIZON_SECONDS = 24 * 3600;

export class RestoreTestError extends Error {
  override readonly name = "RestoreTestError";
}

export interface RestoreTestOptions {
  readonly storage?: BackupStorage;
  readonly now?: () => Date;
  readonly enqueue?: (msg: StepMessage) => Promise<void>;
}

export type TestKind = "d1" | "kv" | "r2";

/** The scratch resource of a kind, from the Worker's bindings. */
export function scratchFor(env: Env, kind: TestKind): ScratchTarget {
  const name = RESTORE_TEST_BINDINGS[kind];
  const b = env[name];
  if (!b) throw new RestoreTestError(`the Worker has no ${name} binding: restore tests of ${kind} assets need the scratch resource the RestoreTesting component declares`);
  if (kind === "d1") return scratchD1(b as D1Like, name);
  if (kind === "kv") return scratchKv(b as KvNamespaceLike, name);
  return scratchR2(b as R2Bucket, name);
}

export function declaredChecks(env: Env, a: PlanAsset): readonly DeclaredCheck[] {
  const all = env[RESTORE_TEST_CHECKS_BINDING] as { postgres?: DeclaredCheck[]; d1?: Record<string, DeclaredCheck[]> } | undefined;
  return a.kind === "d1" ? (all?.d1?.[a.name] ?? []) : a.kind === "neon" ? (all?.postgres ?? []) : [];
}

const ref = (a: PlanAsset): AssetRef => ({ kind: a.kind, name: a.name });

export class RestoreTestRunner {
  private readonly plan: BackupPlan;
  private readonly store: BackupStorage;
  private readonly now: () => Date;
  private readonly enqueue: (msg: StepMessage) => Promise<void>;
  private masterKey?: Promise<MasterKey>;

  constructor(private readonly env: Env, o: RestoreTestOptions = {}) {
    this.plan = env.BACKUP_PLAN;
    this.store = o.storage ?? destinations(env).r2;
    this.now = o.now ?? (() => new Date());
    this.enqueue = o.enqueue ?? (async (msg) => void (await env.BACKUP_QUEUE.send(msg)));
  }

  private master(): Promise<MasterKey> {
    this.masterKey ??= importMasterKey(this.env.ENCRYPTION_KEY);
    return this.masterKey;
  }

  /** Starts a test of the newest committed backup of `a` (its steps run on the queue). A test
   * still running is left alone; one idle past abandonAfterMinutes fails and is replaced.
   * Returns the result when the test ended before it began (nothing to test, a stuck test). */
  async start(a: PlanAsset & { kind: TestKind }): Promise<RestoreTestResult | null> {
    const master = await this.master();
    const now = this.now();
    let abandoned: RestoreTestResult | null = null;
    // Steps number on from a test this one replaces, so a late message of that test is behind
    // the new state (ignored), never ahead of it (which would read as a state put back).
    let firstStep = 1;
    try {
      const existing = await readTestState(this.store, master, a);
      if (existing) {
        firstStep = existing.step + 1;
        const idle = now.getTime() - new Date(existing.updatedAt).getTime();
        if (idle < this.plan.abandonAfterMinutes * 60_000) return null;
        if (!existing.result) abandoned = await this.finish(a, existing, null, `the restore test of backup ${existing.backupId} stopped in ${existing.phase} at step ${existing.step} and was abandoned after ${Math.round(idle / 60_000)} min idle`);
      }
    } catch (err) {
      if (!(err instanceof StateSealError)) throw err;
      abandoned = await this.record(a, this.failed(a, now, `the restore test's state was refused (${err.message}); it was altered or forged through the bucket's token`));
    }
    const resolved = await resolveBackup(this.store, master, ref(a), "latest").catch((err: Error) => err);
    if (resolved instanceof Error) {
      await dropTestState(this.store, a);
      return this.record(a, this.failed(a, now, `no backup to test: ${resolved.message}`));
    }
    // A newer manifest that does not verify is the newest backup, and it does not restore;
    // testing the older one behind it would report a pass for a backup nobody would get back.
    if (resolved.skipped.length) {
      await dropTestState(this.store, a);
      const refused = resolved.skipped.map((x) => `${x.key} (${x.reason})`).join("; ");
      return this.record(a, this.failed(a, now, `the newest backup(s) of ${a.kind}/${a.name} were refused: ${refused}; the newest that verifies is ${resolved.manifest.backupId}`));
    }
    const countKey = MANIFEST_COUNT[a.kind];
    const manifestCount = typeof resolved.manifest.counts[countKey] === "number" ? (resolved.manifest.counts[countKey] as number) : null;
    const seed: RestoreTestState = {
      version: 1,
      asset: `${a.kind}/${a.name}`,
      phase: "empty-before",
      backupId: resolved.manifest.backupId,
      manifestKey: resolved.key,
      sourcePointInTime: resolved.manifest.sourcePointInTime,
      manifestCount,
      startedAt: now.toISOString(),
      restoreStartedAt: null,
      updatedAt: now.toISOString(),
      step: firstStep,
      firstStep,
      skip: 0,
      restored: 0,
      details: {},
      expected: EMPTY_DIGEST,
      actual: EMPTY_DIGEST,
      verifyCursor: null,
      resume: null,
      cutoff: Math.floor(now.getTime() / 1000) + EXPIRY_HORIZON_SECONDS,
      result: null,
    };
    await saveTestState(this.store, master, a, seed);
    await this.enqueue({ asset: seed.asset, backupId: seed.backupId, step: firstStep, purpose: "restore-test" });
    return abandoned;
  }

  /** One step. Returns the result when this step finished the test's checks. */
  async continue(a: PlanAsset & { kind: TestKind }, msg: StepMessage): Promise<RestoreTestResult | null> {
    const master = await this.master();
    let s: RestoreTestState | null;
    try {
      s = await readTestState(this.store, master, a);
    } catch (err) {
      if (!(err instanceof StateSealError)) throw err;
      return this.refuse(a, msg, `the restore test's state was refused (${err.message}); it was altered or forged through the bucket's token`);
    }
    // The message comes from the queue, which the bucket's token cannot reach: a state behind
    // it is an older copy put back (the seal binds the asset, not how fresh the state is).
    if (s && (s.backupId < msg.backupId || (s.backupId === msg.backupId && s.step < msg.step))) {
      return this.refuse(a, msg, `the restore test's state (backup ${s.backupId}, step ${s.step}) is older than its queued step (backup ${msg.backupId}, step ${msg.step}): an older copy was put back through the bucket's token`);
    }
    // A duplicate or late message of a test that moved on (queues deliver at least once).
    if (!s || s.backupId !== msg.backupId || s.step !== msg.step) return null;
    const budget = new StepBudget(this.plan.limits);
    const scratch = scratchFor(this.env, a.kind);
    try {
      const { next, result } = await this.phase(a, s, scratch, budget, master);
      if (next) {
        await saveTestState(this.store, master, a, { ...next, step: s.step + 1, updatedAt: this.now().toISOString() });
        await this.enqueue({ asset: s.asset, backupId: s.backupId, step: s.step + 1, purpose: "restore-test" });
      } else await dropTestState(this.store, a);
      return result;
    } catch (err) {
      if (s.result || !DEFINITIVE.has((err as Error).name)) {
        // Kept for the message if the first part keeps failing (best effort: the step fails anyway).
        if (s.phase === "restore" && s.skip === 0 && !s.result) await saveTestState(this.store, master, a, { ...s, firstPartTried: true, lastError: (err as Error).message.slice(0, 500) }).catch(() => undefined);
        throw err;
      }
      return this.fail(a, s, (err as Error).message);
    }
  }

  /** The state cannot be followed: the test fails, and the scratch resource, which may hold what
   * earlier steps restored, is emptied in steps of a fresh state the queued message leads to. */
  private async refuse(a: PlanAsset & { kind: TestKind }, msg: StepMessage, error: string): Promise<RestoreTestResult> {
    const now = this.now();
    const result = await this.record(a, { ...this.failed(a, now, error), backupId: msg.backupId });
    const at = now.toISOString();
    const step = msg.step + 1;
    const cleanup: RestoreTestState = { version: 1, asset: `${a.kind}/${a.name}`, phase: "empty-after", backupId: msg.backupId, manifestKey: "", sourcePointInTime: "", startedAt: at, restoreStartedAt: null, updatedAt: at, step, skip: 0, restored: 0, details: {}, expected: EMPTY_DIGEST, actual: EMPTY_DIGEST, verifyCursor: null, cutoff: 0, result };
    await saveTestState(this.store, await this.master(), a, cleanup);
    await this.enqueue({ asset: cleanup.asset, backupId: msg.backupId, step, purpose: "restore-test" });
    return result;
  }

  /** The test failed for good (a definitive error, or the queue's retries ran out): record it
   * and empty the scratch resource in further steps. */
  async fail(a: PlanAsset & { kind: TestKind }, s: RestoreTestState | null, error: string): Promise<RestoreTestResult | null> {
    const master = await this.master();
    const state = s ?? (await readTestState(this.store, master, a).catch(() => null));
    if (!state || state.result) {
      await dropTestState(this.store, a);
      return state ? null : this.record(a, this.failed(a, this.now(), error));
    }
    const result = await this.finish(a, state, null, error);
    await saveTestState(this.store, master, a, { ...state, phase: "empty-after", result, step: state.step + 1, updatedAt: this.now().toISOString() });
    await this.enqueue({ asset: state.asset, backupId: state.backupId, step: state.step + 1, purpose: "restore-test" });
    return result;
  }

  private async phase(a: PlanAsset & { kind: TestKind }, s: RestoreTestState, scratch: ScratchTarget, budget: StepBudget, master: MasterKey): Promise<{ next: RestoreTestState | null; result: RestoreTestResult | null }> {
    if (s.phase === "empty-before") return { next: (await scratch.empty(budget)) ? { ...s, phase: "restore" } : s, result: null };
    if (s.phase === "empty-after") return { next: (await scratch.empty(budget)) ? null : s, result: null };
    if (s.phase === "restore") {
      if (s.skip === 0) {
        // A retry of the first part: the failed attempt may have written; empty again first.
        if (s.firstPartTried) {
          const tries = (s.firstPartTries ?? 1) + 1;
          if (tries > FIRST_PART_TRIES) throw new RestoreTestError(`the first part of the restore failed ${FIRST_PART_TRIES} times${s.lastError ? `, last: ${s.lastError}` : ""}`);
          return { next: { ...s, phase: "empty-before", firstPartTried: false, firstPartTries: tries }, result: null };
        }
        await saveTestState(this.store, master, a, { ...s, firstPartTried: true });
      }
      const store = countedStorage(this.store, budget);
      const resolved = await resolveBackup(store, master, ref(a), s.manifestKey);
      const expected = new MultisetDigest(s.expected);
      const restoreStartedAt = s.restoreStartedAt ?? this.now().toISOString();
      const { report, resume } = await scratch.restore({ store, master, resolved, skip: s.skip, budget, expected, cutoff: s.cutoff, resume: s.resume ?? null });
      const details = { ...s.details };
      for (const [k, v] of Object.entries(report.details)) details[k] = (details[k] ?? 0) + v;
      const moved = { ...s, restoreStartedAt, expected: expected.state, restored: s.restored + report.restored, details, resume };
      return { next: report.next !== undefined ? { ...moved, skip: report.next } : { ...moved, phase: "verify" }, result: null };
    }
    const actual = new MultisetDigest(s.actual);
    const cursor = await scratch.verify(s.verifyCursor, budget, actual, s.cutoff);
    if (cursor !== null) return { next: { ...s, actual: actual.state, verifyCursor: cursor }, result: null };
    const integrity = scratch.integrity ? await scratch.integrity(declaredChecks(this.env, a)) : [];
    const result = await this.finish(a, { ...s, actual: actual.state }, integrity);
    return { next: { ...s, actual: actual.state, phase: "empty-after", result }, result };
  }

  /** The result of a test that got this far, recorded. */
  private async finish(a: PlanAsset & { kind: TestKind }, s: RestoreTestState, integrity: RestoreTestResult["integrity"] | null, error?: string): Promise<RestoreTestResult> {
    // Read at the start (a failure to re-read the manifest here must not make the count check
    // vacuous: lost items leave both digests equal, only the count shows them).
    const counted = s.manifestCount !== undefined ? s.manifestCount : await this.manifestCountOf(a, s.manifestKey);
    const manifestCount = counted ?? null;
    if (counted === undefined) error ??= `the manifest ${s.manifestKey} could not be read again to check the item count`;
    // KV keys that had expired by the test are not restored (KV would refuse them).
    const accounted = s.restored + (a.kind === "kv" ? (s.details.expired ?? 0) : 0);
    const finishedAt = this.now();
    const base = {
      asset: s.asset,
      backupId: s.backupId,
      sourcePointInTime: s.sourcePointInTime,
      restoredCount: s.restored,
      manifestCount,
      countMatches: error ? false : manifestCount === null || manifestCount === accounted,
      digestMatches: !error && sameDigest(s.expected, s.actual),
      seconds: s.restoreStartedAt ? (finishedAt.getTime() - new Date(s.restoreStartedAt).getTime()) / 1000 : 0,
      rtoTargetSeconds: a.rtoMinutes !== undefined ? a.rtoMinutes * 60 : null,
      integrity: integrity ?? [],
      startedAt: s.startedAt,
      finishedAt: finishedAt.toISOString(),
      steps: s.step - (s.firstStep ?? 1) + 1,
      ...(this.env.WORKER_VERSION ? { workerVersion: this.env.WORKER_VERSION } : {}),
    };
    const why = failureOf(base, error);
    return this.record(a, { ...base, passed: why === null, ...(why ? { error: why } : {}) });
  }

  /** A state saved before manifestCount was kept: the manifest read again (undefined: unreadable). */
  private async manifestCountOf(a: PlanAsset & { kind: TestKind }, manifestKey: string): Promise<number | null | undefined> {
    const manifest = (await resolveBackup(this.store, await this.master(), ref(a), manifestKey).catch(() => null))?.manifest;
    if (!manifest) return undefined;
    const n = manifest.counts[MANIFEST_COUNT[a.kind]];
    return typeof n === "number" ? n : null;
  }

  private failed(a: PlanAsset, now: Date, error: string): RestoreTestResult {
    const at = now.toISOString();
    return { asset: `${a.kind}/${a.name}`, passed: false, backupId: null, sourcePointInTime: null, restoredCount: 0, manifestCount: null, countMatches: false, digestMatches: false, seconds: 0, rtoTargetSeconds: a.rtoMinutes !== undefined ? a.rtoMinutes * 60 : null, integrity: [], error, startedAt: at, finishedAt: at, steps: 0 };
  }

  /** Seals the result into _reports/restore-tests/. */
  async record(a: PlanAsset, r: RestoreTestResult): Promise<RestoreTestResult> {
    await this.store.put(restoreTestReportKey(a, r), await sealState(await this.master(), restoreTestPurpose(r.asset), r), { contentType: "application/json" });
    return r;
  }
}
