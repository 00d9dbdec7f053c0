/**
 * The deployable bundle itself (what BackupWorker uploads) in workerd via Miniflare, under the
 * local Workers limits: cron triggers fire, steps run on the queue, backups land in R2 and are
 * copied, with the writer identity the prod stack declares, to the local world's strict S3
 * endpoint, where the restorer verifies and decrypts them from Node with the S3 API alone.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openArtifact, readLines } from "../../lib/backup/artifacts";
import { readManifest } from "../../lib/backup/catalog";
import { DEFAULT_LIMITS, type BackupPlan } from "../../lib/backup/plan";
import { localPlan } from "../../lib/local/localPlan";
import { importMasterKey } from "../../lib/format/keys";
import { verifyManifest } from "../../lib/format/manifest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { objectExists } from "../../lib/backup/catalog";
import { backupR2Bucket } from "../../lib/local/declaredWorld";
import { LocalWorker } from "../../lib/local/localWorker";
import { startLocalWorld, type LocalWorld } from "../../lib/local/localWorld";
import { trustInThisProcess } from "../../lib/local/tls";

const KEY = "1f2e3d4c5b6a79880f1e2d3c4b5a69788f9eadbccbdae0f11f2e3d4c5b6a7988";

function plan(world: LocalWorld): BackupPlan {
  return localPlan({
    stack: "bundle-test",
    assets: [
      { kind: "d1", name: "app-db", sourceId: "00000000-0000-4000-8000-00000000000a", binding: "D1_APP_DB", rpoMinutes: 60, cron: "0 * * * *", priority: 1 },
      { kind: "kv", name: "sessions", sourceId: "0000000000000000000000000000000b", binding: "KV_SESSIONS", rpoMinutes: 15, cron: "*/15 * * * *", priority: 2 },
    ],
    destinations: { r2: { bucketName: world.r2BucketName }, s3: { endpoint: world.aws.url, bucket: world.s3BucketName, region: world.s3Region, lockMode: "COMPLIANCE", addressing: "path" } },
    limits: { ...DEFAULT_LIMITS, opsPerStep: 30 },
  });
}

describe("the deployable Worker bundle in workerd", () => {
  let world: LocalWorld;
  let worker: LocalWorker;
  let hook: Server;
  const alerts: Array<{ kind: string; asset: string }> = [];
  beforeAll(async () => {
    world = await startLocalWorld({ stack: "prod", dir: mkdtempSync(path.join(tmpdir(), "drposture-bundle-")) });
    await trustInThisProcess(world.tls.caPem);
    hook = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        alerts.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
    worker = await LocalWorker.start({
      plan: plan(world),
      keyHex: KEY,
      s3Writer: world.s3Keys("writer"),
      s3Verifier: world.s3Keys("verifier"),
      caPem: world.tls.caPem,
      r2Locks: backupR2Bucket(world.declared)?.lockRules ?? [],
      alertWebhookUrl: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`,
    });
  });
  afterAll(async () => {
    await worker?.dispose();
    await world?.close();
    hook?.close();
  });

  it("backs up D1 and a multi-step KV namespace from their cron triggers, to R2 and S3", async () => {
    const db = await worker.mf.getD1Database("D1_APP_DB");
    await db.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)");
    await db.prepare("INSERT INTO items (name) VALUES ('a'), ('b'), ('c')").run();
    const kv = await worker.mf.getKVNamespace("KV_SESSIONS");
    for (let i = 0; i < 100; i++) await kv.put(`k${String(i).padStart(3, "0")}`, `value ${i}`);

    expect((await worker.runCron("0 * * * *")).outcome).toBe("ok");
    expect((await worker.runCron("*/15 * * * *")).outcome).toBe("ok");
    const d1Backup = await worker.waitForBackup({ kind: "d1", name: "app-db" }, null);
    const kvBackup = await worker.waitForBackup({ kind: "kv", name: "sessions" }, null);

    const remote = world.s3Storage(world.s3Keys("restorer"));
    const master = await importMasterKey(KEY);
    // The copy to S3 follows the commit in R2.
    for (let i = 0; i < 200 && !((await objectExists(remote, kvBackup.latest.key)) && (await objectExists(remote, d1Backup.latest.key))); i++) await new Promise((r) => setTimeout(r, 50));
    const kvManifest = await readManifest(remote, kvBackup.latest.key);
    expect(kvManifest).not.toBeNull();
    await verifyManifest(master, kvManifest!);
    expect(kvManifest!.artifacts.filter((a) => a.role === "kv-entries").length).toBeGreaterThan(3); // 30 ops per step
    let keys = 0;
    for (const a of kvManifest!.artifacts.filter((x) => x.role === "kv-entries")) for await (const _ of readLines(await openArtifact(remote, master, a))) keys++;
    expect(keys).toBe(100);
    const d1Manifest = await readManifest(remote, d1Backup.latest.key);
    expect(d1Manifest?.counts.rows).toBe(3);
    expect(d1Manifest?.producer.name).toBe("drposture-worker");
    // The first cron runs found no backups yet, and said so on the webhook.
    expect(alerts.filter((a) => a.kind === "backup-stale").length).toBeGreaterThanOrEqual(2);
    // Every invocation stayed inside Cloudflare's limits, and each was accounted for.
    expect(worker.violations()).toEqual([]);
    expect(worker.invocations.filter((i) => i.kind === "queue").length).toBeGreaterThan(3);
    expect(worker.peaks().kvOperations).toBeLessThanOrEqual(31);
  });
});
