/**
 * `drposture restore kv|r2 --to local:DIR#ID` as an operator runs it, from a directory store of
 * real backups: the data lands in the `wrangler dev` state (read back through a fresh Miniflare,
 * as `wrangler dev --persist-to DIR` would open it), and nothing outlives the command on any
 * path — success, a refused restore, Ctrl-C: no workerd left in the command's process group,
 * nothing left in its TMPDIR (Miniflare used to leave `miniflare-*` there).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WORKER_COMPATIBILITY_DATE } from "../../lib/local/localWorker";
import { backupKvR2, KV_ASSET, R2_ASSET, type KvR2Store, type KvSeed, type R2Seed } from "../helpers/kvR2Backups";
import { ROOT } from "../helpers/program";

const KEY = "7e".repeat(32);
const enc = (s: string) => new TextEncoder().encode(s);
const FAR = Math.floor(Date.now() / 1000) + 30 * 86400;
const KV: KvSeed[] = [
  { key: "user:1", value: enc("alice"), metadata: { plan: "pro" } },
  { key: "user:2", value: new Uint8Array([0, 255, 1, 254]), expiration: FAR },
  { key: "a/b", value: enc("slash"), metadata: { n: 1 }, expiration: FAR },
  ...Array.from({ length: 400 }, (_, i) => ({ key: `bulk:${String(i).padStart(5, "0")}`, value: enc(`v${i}`) })),
];
const R2: R2Seed[] = [
  { key: "folder/", body: enc("marker"), http: { contentType: "application/x-directory" } },
  { key: "folder/child.txt", body: enc("child"), custom: { owner: "bob" } },
  { key: "x.meta.json", body: enc("{}"), http: { contentType: "application/json", cacheControl: "no-store" } },
];

let base: string;
let s: KvR2Store;

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Processes still in the command's process group after it exited (workerd, if orphaned). */
  readonly leftoverProcesses: string[];
  /** What the command left in its TMPDIR. */
  readonly leftoverTemp: string[];
}

function groupMembers(pgid: number): string[] {
  let pids: string[];
  try {
    pids = execFileSync("pgrep", ["-g", String(pgid)], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
  // A killed child whose parent exited is a zombie until init reaps it: stopped, not running.
  return pids.flatMap((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      return state === "Z" ? [] : [`${pid} ${readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ")}`];
    } catch {
      return []; // gone meanwhile
    }
  });
}

/** Runs the CLI in a process group of its own with a TMPDIR of its own; `interruptAfterMs`: SIGINT that long after workerd started. */
function restore(args: string[], o: { interruptAfterMs?: number } = {}): Promise<Run> {
  const temp = mkdtempSync(path.join(base, "tmpdir-"));
  const child = spawn(process.execPath, [path.join(ROOT, "cli", "bin.cjs"), "restore", ...args, "--store", s.store, "--key-file", s.keyFile], {
    cwd: ROOT,
    env: { ...process.env, TMPDIR: temp },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  let poll: NodeJS.Timeout | undefined;
  if (o.interruptAfterMs !== undefined) {
    poll = setInterval(() => {
      if (!groupMembers(child.pid as number).some((p) => p.includes("workerd"))) return;
      clearInterval(poll);
      setTimeout(() => child.kill("SIGINT"), o.interruptAfterMs);
    }, 50);
  }
  return new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      clearInterval(poll);
      // Give an orphan's parent-death a moment, as a shell would before the next command.
      setTimeout(() => resolve({ code, signal, stdout, stderr, leftoverProcesses: groupMembers(child.pid as number), leftoverTemp: readdirSync(temp) }), 300);
    });
  });
}

/** The wrangler dev state under DIR, opened as `wrangler dev --persist-to DIR` opens it. */
async function devState<T>(dir: string, bindings: { kv?: string; r2?: string }, read: (mf: Miniflare) => Promise<T>): Promise<T> {
  const mf = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response(null); } };",
    compatibilityDate: WORKER_COMPATIBILITY_DATE,
    ...(bindings.kv ? { kvNamespaces: { NS: bindings.kv }, kvPersist: path.join(dir, "v3", "kv") } : {}),
    ...(bindings.r2 ? { r2Buckets: { B: bindings.r2 }, r2Persist: path.join(dir, "v3", "r2") } : {}),
  });
  try {
    return await read(mf);
  } finally {
    await mf.dispose();
  }
}

beforeAll(async () => {
  base = mkdtempSync(path.join(tmpdir(), "drposture-restore-local-"));
  s = await backupKvR2(path.join(base, "backups"), KEY, { kv: KV, r2: R2 });
}, 120_000);

afterAll(() => undefined);

describe("restore kv|r2 --to local:DIR#ID", () => {
  it("restores KV into the wrangler dev state with values, metadata and expiration; leaves no workerd and no temp dir", async () => {
    const dev = path.join(base, "dev-kv");
    const r = await restore(["kv", "--asset", KV_ASSET, "--to", `local:${dev}#ns-restored`, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ kind: "kv", restored: KV.length, skipped: 0 });
    expect(r.leftoverProcesses).toEqual([]);
    expect(r.leftoverTemp).toEqual([]);
    const back = await devState(dev, { kv: "ns-restored" }, async (mf) => {
      const ns = await mf.getKVNamespace("NS");
      const out = [];
      for (const e of KV.slice(0, 3)) {
        const got = await ns.getWithMetadata(e.key, "arrayBuffer");
        out.push({ key: e.key, value: new Uint8Array(got.value as ArrayBuffer), metadata: got.metadata ?? undefined });
      }
      const listed = await ns.list({ prefix: "a/" });
      return { out, expiration: listed.keys[0]?.expiration, count: (await ns.list({ prefix: "bulk:" })).keys.length };
    });
    expect(back.out).toEqual(KV.slice(0, 3).map((e) => ({ key: e.key, value: e.value, metadata: e.metadata })));
    expect(back.expiration).toBe(FAR);
    expect(back.count).toBe(400);
  });

  it("restores R2 objects with their HTTP and custom metadata into the wrangler dev state", async () => {
    const dev = path.join(base, "dev-r2");
    const r = await restore(["r2", "--asset", R2_ASSET, "--to", `local:${dev}#restored-bucket`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^restored: \{"restored":3,/);
    expect(r.leftoverProcesses).toEqual([]);
    expect(r.leftoverTemp).toEqual([]);
    const back = await devState(dev, { r2: "restored-bucket" }, async (mf) => {
      const b = await mf.getR2Bucket("B");
      const out = [];
      for (const o of R2) {
        const got = await b.get(o.key);
        out.push({ key: o.key, body: new Uint8Array(await (got as NonNullable<typeof got>).arrayBuffer()), http: got?.httpMetadata, custom: got?.customMetadata });
      }
      return out;
    });
    expect(back).toEqual(R2.map((o) => ({ key: o.key, body: o.body, http: o.http ?? {}, custom: o.custom ?? {} })));
  });

  it("a refused restore (target not empty) exits 1 with the reason and leaves nothing running or behind", async () => {
    const dev = path.join(base, "dev-refused");
    expect((await restore(["r2", "--asset", R2_ASSET, "--to", `local:${dev}#b`])).code).toBe(0);
    const r = await restore(["r2", "--asset", R2_ASSET, "--to", `local:${dev}#b`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/local:.*#b already holds 3 object\(s\); refusing to overwrite/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // one line, no stack
    expect(r.leftoverProcesses).toEqual([]);
    expect(r.leftoverTemp).toEqual([]);
  });

  it("Ctrl-C during a restore exits 130, stops workerd and removes the temp dir", async () => {
    const dev = path.join(base, "dev-interrupted");
    mkdirSync(dev, { recursive: true });
    const r = await restore(["kv", "--asset", KV_ASSET, "--to", `local:${dev}#ns`], { interruptAfterMs: 0 });
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/SIGINT/);
    expect(r.leftoverProcesses).toEqual([]);
    expect(r.leftoverTemp).toEqual([]);
  });
});
