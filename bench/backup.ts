/**
 * bench/backup: what the backup engine costs, measured in one run on this machine.
 *  (a) encrypt + hash throughput in workerd on 256 MiB, against Node's raw crypto (one
 *      AES-256-GCM stream + SHA-256 of plaintext and ciphertext) on the same bytes;
 *  (b) peak memory (VmHWM of the workerd process) for 64 MiB and 512 MiB through the pipeline;
 *  (c) KV backup of 10,000 keys by the real Worker bundle (cron -> queue steps -> manifest),
 *      against a bare Worker loop that only lists and reads the same keys.
 * Run: npm run bench:backup -- [--mib 256] [--keys 10000]
 */
import { peakRssMiB, workerdPids } from "../lib/local/workerdMemory";
import { createCipheriv, createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { Miniflare } from "miniflare";
import { localPlan } from "../lib/local/localPlan";
import { readManifest } from "../lib/backup/catalog";
import { LocalWorker, localWorkerOptions, MiniflareR2Storage, WORKER_COMPATIBILITY_DATE } from "../lib/local/localWorker";
import { bundleModule } from "../lib/worker/bundle";

const args = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const MIB = arg("mib", 256);
const KEYS = arg("keys", 10_000);
const KEY_HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const mibs = (bytes: number, ms: number) => bytes / 1048576 / (ms / 1000);

async function pipelineWorker(): Promise<Miniflare> {
  const mf = new Miniflare({
    modules: [{ type: "ESModule", path: "index.js", contents: bundleModule("bench/workers/pipeline.ts").content }],
    compatibilityDate: WORKER_COMPATIBILITY_DATE,
    compatibilityFlags: ["nodejs_compat"],
  });
  await mf.ready;
  return mf;
}

async function timeFetch(mf: Miniflare, path: string): Promise<{ ms: number; body: any }> {
  const t = performance.now();
  const res = await mf.dispatchFetch(`http://bench${path}`);
  const body = await res.json();
  return { ms: performance.now() - t, body };
}

function nodeBaseline(mib: number): number {
  // Same generator as the bench Worker, same bytes.
  const piece = Buffer.alloc(256 * 1024);
  let x = 2463534242;
  for (let i = 0; i < piece.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    piece[i] = x & 0xff;
  }
  const t = performance.now();
  const cipher = createCipheriv("aes-256-gcm", randomBytes(32), randomBytes(12));
  const plain = createHash("sha256");
  const ct = createHash("sha256");
  for (let i = 0; i < (mib * 1048576) / piece.length; i++) {
    plain.update(piece);
    ct.update(cipher.update(piece));
  }
  ct.update(cipher.final());
  ct.update(cipher.getAuthTag());
  plain.digest();
  ct.digest();
  return performance.now() - t;
}

async function throughput(): Promise<void> {
  const mf = await pipelineWorker();
  await timeFetch(mf, "/encrypt?mib=16"); // warm up
  const enc: number[] = [];
  const floor: number[] = [];
  const node: number[] = [];
  for (let i = 0; i < 3; i++) {
    enc.push((await timeFetch(mf, `/encrypt?mib=${MIB}`)).ms);
    floor.push((await timeFetch(mf, `/drain?mib=${MIB}`)).ms);
    node.push(nodeBaseline(MIB));
  }
  await mf.dispose();
  const e = median(enc);
  const f = median(floor);
  const n = median(node);
  const bytes = MIB * 1048576;
  console.log(`(a) encrypt+hash pipeline, ${MIB} MiB, median of 3`);
  console.log(`    workerd pipeline       ${e.toFixed(0).padStart(7)} ms  ${mibs(bytes, e).toFixed(0).padStart(5)} MiB/s`);
  console.log(`    workerd generate+drain ${f.toFixed(0).padStart(7)} ms  (harness floor)`);
  console.log(`    node raw crypto        ${n.toFixed(0).padStart(7)} ms  ${mibs(bytes, n).toFixed(0).padStart(5)} MiB/s`);
  console.log(`    ratio workerd/node: ${(e / n).toFixed(2)}  (harness floor removed: ${((e - f) / n).toFixed(2)})`);
}

async function peakMemory(): Promise<void> {
  const peaks: Record<number, number> = {};
  for (const mib of [64, 512]) {
    const mf = await pipelineWorker();
    const pid = workerdPids()[0];
    if (!pid) throw new Error("workerd process not found");
    const before = peakRssMiB(pid);
    const r = await timeFetch(mf, `/encrypt?mib=${mib}`);
    if (r.body.stats.plaintextBytes !== mib * 1048576) throw new Error("pipeline did not process all bytes");
    peaks[mib] = peakRssMiB(pid);
    console.log(`(b) peak RSS of workerd, ${String(mib).padStart(3)} MiB through the pipeline: ${peaks[mib].toFixed(0)} MiB (idle after start: ${before.toFixed(0)} MiB)`);
    await mf.dispose();
  }
  console.log(`    ratio peak(512 MiB)/peak(64 MiB): ${((peaks[512] as number) / (peaks[64] as number)).toFixed(2)}`);
}

async function kvBackup(): Promise<void> {
  const plan = localPlan({
    stack: "bench",
    assets: [{ kind: "kv", name: "sessions", sourceId: "0000000000000000000000000000beef", binding: "KV_SESSIONS", rpoMinutes: 15, cron: "*/15 * * * *", priority: 1 }],
    destinations: { r2: { bucketName: "bench-backups" } },
  });
  const backup = localWorkerOptions({ plan, keyHex: KEY_HEX, alertWebhookUrl: "http://127.0.0.1:9/unused" });
  const mf = new Miniflare({
    workers: [
      { ...backup, d1Persist: undefined, kvPersist: undefined, r2Persist: undefined } as never,
      {
        name: "kv-floor",
        modules: [{ type: "ESModule", path: "index.js", contents: bundleModule("bench/workers/kvFloor.ts").content }],
        compatibilityDate: WORKER_COMPATIBILITY_DATE,
        kvNamespaces: { KV_SESSIONS: "0000000000000000000000000000beef" },
      },
    ],
  });
  await mf.ready;
  const kv = await mf.getKVNamespace("KV_SESSIONS", "drposture-backup");
  const value = new Uint8Array(200).map((_, i) => i);
  for (let i = 0; i < KEYS; i += 500) {
    await Promise.all(Array.from({ length: Math.min(500, KEYS - i) }, (_, j) => kv.put(`session:${String(i + j).padStart(6, "0")}`, value, { metadata: { n: i + j } })));
  }
  const floorWorker = await mf.getWorker("kv-floor");
  const floors: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const r = (await (await floorWorker.fetch("http://floor/")).json()) as { keys: number };
    floors.push(performance.now() - t);
    if (r.keys !== KEYS) throw new Error(`floor read ${r.keys} keys`);
  }
  const local = Object.assign(Object.create(LocalWorker.prototype), { mf, plan }) as LocalWorker;
  const runs: number[] = [];
  let previous: string | null = null;
  let steps = 0;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await (await mf.getWorker("drposture-backup")).scheduled({ cron: "*/15 * * * *", scheduledTime: new Date() });
    const p = await local.waitForBackup({ kind: "kv", name: "sessions" }, previous, 600_000);
    runs.push(performance.now() - t);
    previous = p.latest.backupId;
    const m = await readManifest(new MiniflareR2Storage(await mf.getR2Bucket("BACKUP_R2", "drposture-backup"), "bench"), p.latest.key);
    if (m?.counts.keys !== KEYS) throw new Error(`backup holds ${m?.counts.keys} keys`);
    steps = m.artifacts.filter((a) => a.role === "kv-index").length;
  }
  await mf.dispose();
  const b = median(runs);
  const f = median(floors);
  console.log(`(c) KV backup of ${KEYS} keys (200-byte values), median of 3`);
  console.log(`    backup Worker (cron -> ${steps} queue steps -> manifest) ${b.toFixed(0).padStart(6)} ms`);
  console.log(`    bare list+get loop (floor)                     ${f.toFixed(0).padStart(6)} ms`);
  console.log(`    ratio backup/floor: ${(b / f).toFixed(2)}`);
}

async function main(): Promise<void> {
  console.log(`bench/backup on ${process.version}, ${new Date().toISOString()}`);
  await throughput();
  await peakMemory();
  await kvBackup();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
