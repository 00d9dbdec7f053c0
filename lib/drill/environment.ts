/**
 * The drill's throwaway environment: a PostgreSQL cluster, a local S3 endpoint (the copy in
 * "the other provider"), an alert receiver, and the real backup Worker bundle in workerd
 * (Miniflare) with the fixture's D1/KV/R2 sources plus empty restore targets.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { sourceBindingName, type BackupPlan, type PlanAsset } from "../backup/plan";
import { localPlan } from "../local/localPlan";
import { randomBytes, toHex } from "../format/bytes";
import type { AssetKind } from "../format/layout";
import { LocalWorker } from "../local/localWorker";
import { startPgCluster, type PgCluster } from "../local/postgres";
import { startLocalS3, type LocalS3 } from "../local/s3Endpoint";
import { backupIntervalMinutes, cronForInterval } from "../posture/schedule";
import type { Posture } from "../posture/model";
import { S3Storage } from "../storage/s3Storage";
import type { Fixture } from "./fixture";

export const DRILL_S3_BUCKET = "drill-s3-copy";
export const DRILL_R2_BUCKET = "drill-r2-backups";

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
  readonly pg: PgCluster;
  readonly s3: LocalS3;
  readonly worker: LocalWorker;
  readonly assets: readonly DrillAsset[];
  readonly alerts: unknown[];
  s3Store(): S3Storage;
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

function plan(assets: readonly DrillAsset[], posture: Posture, s3: LocalS3): BackupPlan {
  const worker: PlanAsset[] = assets
    .filter((a) => a.kind !== "neon")
    .map((a) => ({
      kind: a.kind,
      name: a.name,
      sourceId: a.kind === "d1" ? `00000000-0000-4000-8000-${toHex(randomBytes(6))}` : a.kind === "kv" ? toHex(randomBytes(16)) : `src-${a.name}`,
      binding: a.source,
      rpoMinutes: a.rpoMinutes,
      cron: a.cron,
      priority: a.priority,
    }));
  return localPlan({
    stack: `${posture.stack}-drill`,
    environment: posture.environment,
    assets: worker,
    tiers: posture.tiers,
    destinations: { r2: { bucketName: DRILL_R2_BUCKET }, s3: { endpoint: s3.endpoint, bucket: DRILL_S3_BUCKET, region: s3.region, lockMode: posture.vault.objectLockMode, addressing: "path" } },
  });
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
  const dir = mkdtempSync(path.join(tmpdir(), "drposture-drill-"));
  const keyHex = toHex(randomBytes(32));
  const assets = drillAssets(fixture, posture);
  const alerts: unknown[] = [];
  const [pg, s3, receiver] = await Promise.all([startPgCluster(), startLocalS3([DRILL_S3_BUCKET], path.join(dir, "s3rver")), alertReceiver(alerts)]);
  const worker = await LocalWorker.start({
    plan: plan(assets, posture, s3),
    keyHex,
    s3Credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    alertWebhookUrl: receiver.url,
    extra: {
      d1: assets.filter((a) => a.kind === "d1").map((a) => a.target),
      kv: assets.filter((a) => a.kind === "kv").map((a) => a.target),
      r2: assets.filter((a) => a.kind === "r2").map((a) => a.target),
    },
  });
  return {
    dir,
    keyHex,
    pg,
    s3,
    worker,
    assets,
    alerts,
    s3Store: () => new S3Storage({ endpoint: s3.endpoint, bucket: DRILL_S3_BUCKET, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }),
    close: async () => {
      await worker.dispose().catch(() => undefined);
      await s3.close().catch(() => undefined);
      await pg.stop().catch(() => undefined);
      await new Promise<void>((r) => receiver.server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
