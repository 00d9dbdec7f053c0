/**
 * The restore drill: seed the sources, take backups the way production does (the Worker's own
 * cron handlers and steps; `backup postgres` for Neon), destroy every source, rebuild empty
 * targets, restore each asset in priority order from the S3 copy (as if Cloudflare were gone),
 * verify (counts, digests, integrity queries), and measure per asset:
 *   RTO = restore start -> verified;  RPO = disaster time - the restored backup's source point.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { listTierObjects, objectExists } from "../backup/catalog";
import { backupPostgres } from "../backup/postgresBackup";
import { importMasterKey } from "../format/keys";
import type { Posture } from "../posture/model";
import { throwIfInterrupted } from "../process/cleanup";
import { resolveBackup } from "../restore/resolve";
import { DirStorage } from "../storage/dirStorage";
import type { BackupStorage } from "../storage/types";
import type { DrillAsset, DrillEnvironment } from "./environment";
import { startDrillEnvironment } from "./environment";
import type { Fixture } from "./fixture";
import type { IntegrityResult } from "../integrity/result";
import { runRestoreTests, type DrillRestoreTest } from "./restoreTests";
import { backupNowAsset, drillBackupNow, type DrillBackupNow } from "./backupNow";
import { destroy, integrity, measure, rebuildTarget, restoreInto, seed } from "./steps";

export interface AssetResult {
  kind: string;
  name: string;
  verified: boolean;
  withinTargets: boolean;
  sourceCount: number;
  restoredCount: number;
  sourceDigest: string;
  restoredDigest: string;
  rtoSeconds: number;
  rpoSeconds: number;
  rtoTargetSeconds: number;
  rpoTargetSeconds: number;
  backupId: string | null;
  restoredFrom: string;
  integrity: IntegrityResult[];
  error: string | null;
}

export interface Phase {
  name: string;
  asset?: string;
  startSeconds: number;
  endSeconds: number;
}

export interface DrillReport {
  passed: boolean;
  stack: string;
  startedAt: string;
  disasterAt: string;
  finishedAt: string;
  assets: AssetResult[];
  /** The Worker's restore tests of the same backups, one per asset of its rotation. */
  restoreTests: DrillRestoreTest[];
  /** `backup now` through the Worker's signed routes, after the scheduled backups (null: no D1/KV/R2 asset). */
  backupNow: DrillBackupNow | null;
  phases: Phase[];
  alertsDelivered: number;
  /** The Worker's invocations under Cloudflare's per-invocation limits (as enforced locally). */
  workersLimits: { invocations: number; peaks: Record<string, number>; limits: Record<string, number>; violations: string[] };
}

export interface DrillOptions {
  readonly fixture: Fixture;
  readonly posture: Posture;
  /** Leave the backup destinations (as directories) and the key here. */
  readonly keep?: string;
  /** Fault injection: flip a byte in both copies (R2, S3) of this asset's backup before restoring. */
  readonly corrupt?: string;
  readonly onPhase?: (phase: string) => void;
}

const id = (a: DrillAsset) => `${a.kind}/${a.name}`;

class Timeline {
  readonly phases: Phase[] = [];
  private readonly t0 = performance.now();
  constructor(private readonly onPhase?: (p: string) => void) {}
  now(): number {
    return (performance.now() - this.t0) / 1000;
  }
  async phase<T>(name: string, asset: string | undefined, fn: () => Promise<T>): Promise<T> {
    // Interrupted: no new phase starts while the cleanup stops everything.
    throwIfInterrupted();
    this.onPhase?.(asset ? `${name}: ${asset}` : name);
    const start = this.now();
    try {
      return await fn();
    } finally {
      this.phases.push({ name, ...(asset ? { asset } : {}), startSeconds: start, endSeconds: this.now() });
    }
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    throwIfInterrupted();
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function takeBackups(env: DrillEnvironment, tl: Timeline): Promise<void> {
  const master = await importMasterKey(env.keyHex);
  const s3 = env.s3Store();
  for (const cron of [...new Set(env.assets.filter((a) => a.kind !== "neon").map((a) => a.cron))]) {
    await tl.phase("backup (Worker cron)", cron, async () => {
      await env.worker.runCron(cron);
      for (const a of env.assets.filter((x) => x.cron === cron && x.kind !== "neon")) {
        const p = await env.worker.waitForBackup(a, null);
        await waitFor(`the S3 copy of ${id(a)}`, () => objectExists(s3, p.latest.key));
      }
    });
  }
  for (const a of env.assets.filter((x) => x.kind === "neon")) {
    await tl.phase("backup postgres (pg_dump)", id(a), () =>
      // As the nightly workflow runs it: R2 through its S3 API with the R2 writer token, then S3
      // with the S3 writer.
      backupPostgres({
        url: env.pg.url(a.source),
        stores: [env.r2Writer(), env.s3Writer()],
        master,
        stack: env.worker.plan.stack,
        asset: { kind: "neon", name: a.name },
        sourceId: "local-drill",
        tierDays: Object.fromEntries(env.worker.plan.tiers.map((t) => [t.tier, t.retentionDays])) as Record<"daily" | "weekly" | "monthly", number>,
        lockMode: env.worker.plan.destinations.s3?.lockMode ?? "GOVERNANCE",
      }),
    );
  }
}

/** Flips one byte in the middle of the asset's newest backup's first artifact, at rest, in
 * both copies (as storage corruption would: no API call can change a locked object): the S3
 * copy the drill restores from, and the R2 copy the Worker's restore test reads. */
async function corrupt(env: DrillEnvironment, assetId: string): Promise<void> {
  const a = env.assets.find((x) => id(x) === assetId);
  if (!a) throw new Error(`--corrupt ${assetId}: no such asset in the drill (${env.assets.map(id).join(", ")})`);
  const r = await resolveBackup(env.s3Store(), await importMasterKey(env.keyHex), a, "latest");
  const victim = r.manifest.artifacts[0];
  if (!victim) throw new Error(`${assetId}: backup has no artifact`);
  env.world.vault.corruptAtRest(victim.key);
  const bucket = await env.worker.mf.getR2Bucket("BACKUP_R2");
  const onR2 = await bucket.get(victim.key);
  if (onR2) {
    const bytes = new Uint8Array(await onR2.arrayBuffer());
    const at = Math.floor(bytes.length / 2);
    bytes[at] = (bytes[at] as number) ^ 0x20;
    await bucket.put(victim.key, bytes);
  }
}

async function restoreAndVerify(env: DrillEnvironment, a: DrillAsset, before: { digest: string; count: number }, disasterAt: Date, tl: Timeline): Promise<AssetResult> {
  const store = env.s3Store();
  const master = await importMasterKey(env.keyHex);
  const result: AssetResult = {
    kind: a.kind === "neon" ? "postgres" : a.kind,
    name: a.name,
    verified: false,
    withinTargets: false,
    sourceCount: before.count,
    restoredCount: 0,
    sourceDigest: before.digest,
    restoredDigest: "",
    rtoSeconds: 0,
    rpoSeconds: 0,
    rtoTargetSeconds: a.rtoMinutes * 60,
    rpoTargetSeconds: a.rpoMinutes * 60,
    backupId: null,
    restoredFrom: store.label,
    integrity: [],
    error: null,
  };
  const start = performance.now();
  try {
    await tl.phase("restore + verify", id(a), async () => {
      const r = await resolveBackup(store, master, a, "latest");
      result.backupId = r.manifest.backupId;
      result.rpoSeconds = (disasterAt.getTime() - Date.parse(r.manifest.sourcePointInTime)) / 1000;
      await restoreInto(env, a, store, master, r);
      const after = await measure(env, a, "target");
      result.restoredCount = after.count;
      result.restoredDigest = after.digest;
      result.integrity = await integrity(env, a);
      result.verified = after.digest === before.digest && after.count === before.count && result.integrity.every((i) => i.ok);
      if (!result.verified && !result.error) result.error = after.digest !== before.digest ? "restored data differs from the source" : "an integrity check failed";
    });
  } catch (err) {
    // An interrupt is not this asset's failure: the drill stops.
    throwIfInterrupted();
    result.error = (err as Error).message;
  }
  result.rtoSeconds = (performance.now() - start) / 1000;
  result.withinTargets = result.rtoSeconds <= result.rtoTargetSeconds && result.rpoSeconds <= result.rpoTargetSeconds;
  return result;
}

async function copyStore(from: BackupStorage, to: DirStorage): Promise<number> {
  let n = 0;
  for await (const o of listTierObjects(from)) {
    const body = await from.get(o.key);
    if (body) await to.put(o.key, body);
    n++;
  }
  return n;
}

export async function runDrill(o: DrillOptions): Promise<DrillReport> {
  const tl = new Timeline(o.onPhase);
  const startedAt = new Date();
  const env = await tl.phase("setup (PostgreSQL, S3 endpoint, workerd)", undefined, () => startDrillEnvironment(o.fixture, o.posture));
  try {
    const sources = new Map<string, { digest: string; count: number }>();
    for (const a of env.assets) {
      await tl.phase("seed", id(a), () => seed(env, a, o.fixture));
      const d = await measure(env, a, "source");
      sources.set(id(a), { digest: d.digest, count: d.count });
    }
    await takeBackups(env, tl);
    const nowAsset = backupNowAsset(env);
    const backupNow = nowAsset ? await tl.phase("backup now (signed request)", `${nowAsset.kind}/${nowAsset.name}`, () => drillBackupNow(env, nowAsset)) : null;
    if (o.corrupt) await tl.phase("fault injection", o.corrupt, () => corrupt(env, o.corrupt as string));
    const restoreTests = await runRestoreTests(env, (asset, fn) => tl.phase("restore test (Worker cron)", asset, fn));
    const disasterAt = new Date();
    await tl.phase("disaster: destroy every source", undefined, async () => {
      for (const a of env.assets) await destroy(env, a);
    });
    await tl.phase("rebuild empty targets", undefined, async () => {
      for (const a of env.assets) await rebuildTarget(env, a);
    });
    const assets: AssetResult[] = [];
    for (const a of env.assets) assets.push(await restoreAndVerify(env, a, sources.get(id(a)) as { digest: string; count: number }, disasterAt, tl));
    if (o.keep) {
      await tl.phase("keep backups", o.keep, async () => {
        mkdirSync(o.keep as string, { recursive: true });
        await copyStore(await env.worker.backupStorage(), new DirStorage(path.join(o.keep as string, "r2")));
        await copyStore(env.s3Store(), new DirStorage(path.join(o.keep as string, "s3")));
        writeFileSync(path.join(o.keep as string, "encryption-key.hex"), `${env.keyHex}\n`, { mode: 0o600 });
      });
    }
    return {
      // An invocation over a Workers limit would have failed on Cloudflare: the drill fails too.
      passed: assets.every((a) => a.verified && a.withinTargets) && restoreTests.every((t) => t.passed) && (backupNow?.committed ?? true) && env.worker.violations().length === 0,
      stack: o.posture.stack,
      startedAt: startedAt.toISOString(),
      disasterAt: disasterAt.toISOString(),
      finishedAt: new Date().toISOString(),
      assets,
      restoreTests,
      backupNow,
      phases: tl.phases,
      alertsDelivered: env.alerts.length,
      workersLimits: { invocations: env.worker.invocations.length, peaks: env.worker.peaks(), limits: { ...env.worker.limits }, violations: env.worker.violations() },
    };
  } finally {
    await env.close();
  }
}
