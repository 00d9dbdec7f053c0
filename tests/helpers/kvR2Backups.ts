/**
 * A directory store holding real KV and R2 backups: the backup Worker bundle runs in workerd
 * (LocalWorker), backs up a KV namespace and an R2 bucket seeded by the caller, and its backup
 * bucket is copied into a directory, as `drill --keep` does. CLI tests restore from it.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { listTierObjects } from "../../lib/backup/catalog";
import { DEFAULT_LIMITS } from "../../lib/backup/plan";
import { localPlan } from "../../lib/local/localPlan";
import { LocalWorker } from "../../lib/local/localWorker";
import { DirStorage } from "../../lib/storage/dirStorage";

export const KV_ASSET = "sessions";
export const R2_ASSET = "uploads";

export interface KvSeed {
  readonly key: string;
  readonly value: Uint8Array;
  readonly metadata?: unknown;
  readonly expiration?: number;
}

export interface R2Seed {
  readonly key: string;
  readonly body: Uint8Array;
  readonly http?: Record<string, string>;
  readonly custom?: Record<string, string>;
}

export interface KvR2Store {
  /** The directory store (`--store`). */
  readonly store: string;
  /** The key file (`--key-file`). */
  readonly keyFile: string;
}

/** Backs up `kv` and `r2` through the Worker and writes the store and key file under `dir`. */
export async function backupKvR2(dir: string, keyHex: string, seeds: { kv: readonly KvSeed[]; r2: readonly R2Seed[] }): Promise<KvR2Store> {
  const plan = localPlan({
    stack: "kvr2-test",
    assets: [
      { kind: "kv", name: KV_ASSET, sourceId: "000000000000000000000000000000c1", binding: "KV_SRC", rpoMinutes: 60, cron: "0 * * * *", priority: 1 },
      { kind: "r2", name: R2_ASSET, sourceId: "uploads-src", binding: "R2_SRC", rpoMinutes: 60, cron: "0 * * * *", priority: 2 },
    ],
    destinations: { r2: { bucketName: "kvr2-test-backups" } },
    limits: { ...DEFAULT_LIMITS },
  });
  const w = await LocalWorker.start({ plan, keyHex, alertWebhookUrl: "http://127.0.0.1:9/nowhere" });
  try {
    const kv = await w.mf.getKVNamespace("KV_SRC");
    for (const e of seeds.kv) {
      await kv.put(e.key, e.value, { ...(e.metadata !== undefined ? { metadata: e.metadata } : {}), ...(e.expiration !== undefined ? { expiration: e.expiration } : {}) });
    }
    const r2 = await w.mf.getR2Bucket("R2_SRC");
    for (const o of seeds.r2) await r2.put(o.key, o.body, { ...(o.http ? { httpMetadata: o.http } : {}), ...(o.custom ? { customMetadata: o.custom } : {}) });
    await w.runCron("0 * * * *");
    for (const a of plan.assets) await w.waitForBackup(a, null);
    const store = path.join(dir, "store");
    const target = new DirStorage(store);
    const source = await w.backupStorage();
    for await (const o of listTierObjects(source)) {
      const body = await source.get(o.key);
      if (body) await target.put(o.key, body);
    }
    mkdirSync(dir, { recursive: true });
    const keyFile = path.join(dir, "key.hex");
    writeFileSync(keyFile, `${keyHex}\n`, { mode: 0o600 });
    return { store, keyFile };
  } finally {
    await w.dispose();
  }
}
