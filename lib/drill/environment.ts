/**
 * The drill's throwaway environment: a PostgreSQL cluster, the local world of the stack (the
 * strict S3 endpoint holding the vault bucket "in the other provider" and the R2 endpoint over
 * the backup Worker's own R2 bucket, each enforcing what the program declares), an alert
 * receiver, and the real backup Worker bundle in workerd (Miniflare, under Cloudflare's
 * per-invocation limits) with the fixture's D1/KV/R2 sources plus empty restore targets, its
 * signed backup-now routes on a loopback port.
 * Every actor uses the credentials the program declares for it: the Worker writes S3 with the
 * writer and checks it with the verifier, `backup postgres` writes with the writers of both
 * providers, restores read with the restorer.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { sourceBindingName, type BackupPlan, type PlanAsset } from "../backup/plan";
import { restoreTestRotation, restoreTestSchedule } from "../backup/restoreTestRotation";
import { startNeonStandin, type NeonStandin } from "../local/neonStandin";
import { localPlan } from "../local/localPlan";
import { randomBytes, toHex } from "../format/bytes";
import type { AssetKind } from "../format/layout";
import { LocalWorker } from "../local/localWorker";
import { startLocalWorld, type LocalWorld } from "../local/localWorld";
import type { R2BucketLike } from "../local/objectStore/r2S3";
import { startPgCluster, type PgCluster } from "../local/postgres";
import { trustInThisProcess } from "../local/tls";
import { cleanupPath, throwIfInterrupted } from "../process/cleanup";
import { backupIntervalMinutes, cronForInterval } from "../posture/schedule";
import type { Posture } from "../posture/model";
import type { S3Storage } from "../storage/s3Storage";
import type { Fixture } from "./fixture";

export interface DrillAsset {
  readonly kind: AssetKind;
  readonly name: string;
  readonly rpoMinutes: number;
  readonly rtoMinutes: number;
  readonly priority: number;
  /** Source binding (D1/KV/R2) or Postgres database name. */
  readonly source: string;
  /** Empty restore target binding, or Postgres database name. */
  readonly target: string;
  readonly cron: string;
}

export interface DrillEnvironment {
  readonly dir: string;
  readonly keyHex: string;
  /** Signs the local Worker's backup-now routes (its TRIGGER_KEY). */
  readonly triggerKeyHex: string;
  readonly pg: PgCluster;
  readonly world: LocalWorld;
  readonly worker: LocalWorker;
  readonly assets: readonly DrillAsset[];
  readonly alerts: unknown[];
  /** STAND-IN, NOT NEON: the Neon API the Worker's PITR restore test branches (drill_app
   * behind it), present when the drill has a Postgres asset and restore testing is on. */
  readonly neon: NeonStandin | null;
  /** The S3 copy as the restorer reads it. */
  s3Store(): S3Storage;
  /** The S3 copy as the writer writes it (the nightly pg_dump's identity). */
  s3Writer(): S3Storage;
  /** The R2 copy over R2's S3 API, as the reader token reads it / the writer token writes it. */
  r2Store(): S3Storage;
  r2Writer(): S3Storage;
  close(): Promise<void>;
}

const restoredBinding = (kind: AssetKind, name: string) => `RESTORED_${sourceBindingName(kind, name)}`;

/** Assets of the fixture with targets from the posture (by name), else its defaults. */
export function drillAssets(fixture: Fixture, posture: Posture): DrillAsset[] {
  const out: DrillAsset[] = [];
  const add = (kind: AssetKind, name: string, source: string, target: string) => {
    const declared = posture.assets.find((a) => a.kind === kind && a.name === name);
    const rpo = declared?.rpoMinutes ?? posture.defaults.rpoMinutes;
    out.push({
      kind,
      name,
      rpoMinutes: rpo,
      rtoMinutes: declared?.rtoMinutes ?? posture.defaults.rtoMinutes,
      priority: declared?.priority ?? { neon: 1, d1: 1, kv: 2, r2: 3 }[kind],
      source,
      target,
      cron: declared?.backupCron ?? cronForInterval(backupIntervalMinutes(rpo)),
    });
  };
  if (fixture.postgres) add("neon", posture.assets.find((a) => a.kind === "neon")?.name ?? "app", "drill_app", "drill_app_restored");
  for (const kind of ["d1", "kv", "r2"] as const) {
    for (const name of Object.keys(fixture[kind] ?? {})) add(kind, name, sourceBindingName(kind, name), restoredBinding(kind, name));
  }
  return out.sort((a, b) => a.priority - b.priority || `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`));
}

const NEON_PROJECT = "drill-project-000001";
const NEON_BRANCH = "br-drill-main";
const NEON_KEY = "drill-neon-key";

function plan(assets: readonly DrillAsset[], posture: Posture, world: LocalWorld, neonApiUrl: string | null): BackupPlan {
  const worker: PlanAsset[] = assets
    .filter((a) => a.kind !== "neon" || neonApiUrl)
    .map((a) => ({
      kind: a.kind,
      name: a.name,
      sourceId: a.kind === "d1" ? `00000000-0000-4000-8000-${toHex(randomBytes(6))}` : a.kind === "kv" ? toHex(randomBytes(16)) : a.kind === "neon" ? NEON_PROJECT : `src-${a.name}`,
      ...(a.kind === "neon" ? {} : { binding: a.source }),
      rpoMinutes: a.rpoMinutes,
      rtoMinutes: a.rtoMinutes,
      cron: a.cron,
      priority: a.priority,
    }));
  const base = localPlan({
    stack: `${posture.stack}-drill`,
    environment: posture.environment,
    assets: worker,
    tiers: posture.tiers,
    destinations: {
      r2: { bucketName: world.r2BucketName },
      s3: { endpoint: world.aws.url, bucket: world.s3BucketName, region: world.s3Region, lockMode: posture.vault.objectLockMode, addressing: "path" },
    },
  });
  const neon = neonApiUrl ? { neon: { projectId: NEON_PROJECT, branchId: NEON_BRANCH, apiUrl: neonApiUrl, restoreWindowDays: posture.neon?.restoreWindowDays ?? 7 } } : {};
  if (!posture.restoreTesting) return { ...base, ...neon };
  // The stack's interval, scheduled over the drill's own rotation.
  const everyDays = posture.restoreTesting.everyDays;
  const n = restoreTestRotation({ assets: worker, ...neon }).length;
  return { ...base, ...neon, restoreTesting: { everyDays, ...restoreTestSchedule(everyDays, n) } };
}

async function alertReceiver(alerts: unknown[]): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      alerts.push(JSON.parse(body || "null"));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`, server };
}

export async function startDrillEnvironment(fixture: Fixture, posture: Posture): Promise<DrillEnvironment> {
  throwIfInterrupted();
  const dir = mkdtempSync(path.join(tmpdir(), "drposture-drill-"));
  // PostgreSQL, workerd and the endpoints register their own stops; this is their data.
  const unregisterDir = cleanupPath(dir);
  const keyHex = toHex(randomBytes(32));
  const triggerKeyHex = toHex(randomBytes(32));
  const assets = drillAssets(fixture, posture);
  const alerts: unknown[] = [];
  // The R2 endpoint serves the Worker's own backup bucket, which exists once the Worker runs.
  let worker: LocalWorker | undefined;
  const r2Bucket = async (): Promise<R2BucketLike> => {
    if (!worker) throw new Error("the backup Worker is not running yet");
    return (await worker.mf.getR2Bucket("BACKUP_R2")) as unknown as R2BucketLike;
  };
  const [pg, world, receiver] = await Promise.all([startPgCluster(), startLocalWorld({ stack: posture.stack, dir: path.join(dir, "world"), r2Bucket }), alertReceiver(alerts)]);
  await trustInThisProcess(world.tls.caPem);
  const pgAsset = assets.find((a) => a.kind === "neon");
  // Retention as declared, so the Worker's window check finds no drift.
  const neon =
    pgAsset && posture.restoreTesting
      ? await startNeonStandin({ apiKey: NEON_KEY, projectId: NEON_PROJECT, branchId: NEON_BRANCH, historyRetentionSeconds: (posture.neon?.restoreWindowDays ?? 7) * 86_400, postgres: { url: (db) => pg.url(db), database: pgAsset.source } })
      : null;
  worker = await LocalWorker.start({
    plan: plan(assets, posture, world, neon?.url ?? null),
    ...(neon ? { neonApiKey: NEON_KEY, neonSqlEndpoint: neon.sqlEndpoint } : {}),
    keyHex,
    triggerKeyHex,
    http: true,
    s3Writer: world.s3Keys("writer"),
    s3Verifier: world.s3Keys("verifier"),
    caPem: world.tls.caPem,
    r2Locks: world.declared.r2Buckets.find((b) => b.name === world.r2BucketName)?.lockRules ?? [],
    alertWebhookUrl: receiver.url,
    extra: {
      d1: assets.filter((a) => a.kind === "d1").map((a) => a.target),
      kv: assets.filter((a) => a.kind === "kv").map((a) => a.target),
      r2: assets.filter((a) => a.kind === "r2").map((a) => a.target),
    },
  });
  const running = worker;
  return {
    dir,
    keyHex,
    triggerKeyHex,
    pg,
    world,
    worker: running,
    assets,
    alerts,
    neon,
    s3Store: () => world.s3Storage(world.s3Keys("restorer")),
    s3Writer: () => world.s3Storage(world.s3Keys("writer")),
    r2Store: () => world.r2Storage(world.r2Keys("reader")),
    r2Writer: () => world.r2Storage(world.r2Keys("writer")),
    close: async () => {
      await running.dispose().catch(() => undefined);
      await world.close().catch(() => undefined);
      await neon?.close().catch(() => undefined);
      await pg.stop().catch(() => undefined);
      await new Promise<void>((r) => receiver.server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
      unregisterDir();
    },
  };
}
