/**
 * `drposture backup now` as an operator runs it: the CLI child process against the real backup
 * Worker bundle in workerd, serving its signed routes on a loopback port, with the prod stack's
 * D1/KV/R2 assets bound. Bad input is a one-line usage error (exit 2) naming what to set and
 * starting nothing; the happy path prints the id of a backup whose manifest verifies.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { listTierObjects, readManifest } from "../../lib/backup/catalog";
import { sourceBindingName, type PlanAsset } from "../../lib/backup/plan";
import { importMasterKey } from "../../lib/format/keys";
import { STATE_PREFIX } from "../../lib/format/layout";
import { verifyManifest } from "../../lib/format/manifest";
import { localPlan } from "../../lib/local/localPlan";
import { LocalWorker } from "../../lib/local/localWorker";
import { decodeRawConfig } from "../../lib/posture/configKeys";
import { parsePosture } from "../../lib/posture/model";
import { readStackConfig } from "../../lib/pulumi/stackConfig";
import { drposture } from "../helpers/cli";
import { startCli, type Run } from "../helpers/interruptible";
import { ROOT } from "../helpers/program";

const KEY = "5a".repeat(32);
const TRIGGER_KEY = "c3".repeat(32);
const posture = parsePosture(decodeRawConfig(readStackConfig(ROOT, "prod").config), "prod");
const neonAsset = posture.assets.find((a) => a.kind === "neon");

let worker: LocalWorker;
let keyFile: string;
let env: Record<string, string>;

async function manifests(asset: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of listTierObjects(await worker.backupStorage())) if (o.key.includes(`/${asset}/`) && o.key.endsWith("/manifest.json")) keys.push(o.key);
  return keys;
}

async function stateKeys(): Promise<string[]> {
  const out: string[] = [];
  for await (const o of (await worker.backupStorage()).list(STATE_PREFIX)) out.push(o.key);
  return out;
}

/** Waits for every job of the Worker to end (nothing of one test runs on into the next). */
async function idle(): Promise<void> {
  const end = Date.now() + 60_000;
  while ((await stateKeys()).some((k) => k.startsWith(`${STATE_PREFIX}jobs/`))) {
    if (Date.now() > end) throw new Error("a backup job did not end");
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  const assets: PlanAsset[] = posture.assets
    .filter((a) => a.kind !== "neon")
    .map((a) => ({ kind: a.kind, name: a.name, sourceId: a.sourceId, binding: sourceBindingName(a.kind, a.name), rpoMinutes: a.rpoMinutes, cron: a.backupCron, priority: a.priority }));
  // Small steps, so a 300-key namespace takes several queue invocations (the timeout test).
  const plan = localPlan({ stack: "prod", assets, destinations: { r2: { bucketName: "backup-now-cli" } }, limits: { opsPerStep: 40, bytesPerStep: 256 * 1024, d1PageRows: 100, d1SnapshotBytes: 32 * 1024 * 1024 } });
  worker = await LocalWorker.start({ plan, keyHex: KEY, triggerKeyHex: TRIGGER_KEY, http: true, alertWebhookUrl: "http://127.0.0.1:9/nowhere" });
  const db = await worker.mf.getD1Database(sourceBindingName("d1", "app-db"));
  await db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)");
  await db.prepare("INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com')").run();
  const kv = await worker.mf.getKVNamespace(sourceBindingName("kv", "sessions"));
  for (let i = 0; i < 300; i++) await kv.put(`session:${i}`, `value ${i}`);
  // A namespace whose backup takes dozens of queue steps: it is still running when a second request comes.
  const flags = await worker.mf.getKVNamespace(sourceBindingName("kv", "feature-flags"));
  for (let i = 0; i < 1000; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => flags.put(`flag:${i + j}`, `on ${i + j}`)));
  const dir = mkdtempSync(path.join(tmpdir(), "drposture-backup-now-"));
  keyFile = path.join(dir, "trigger.key");
  writeFileSync(keyFile, `${TRIGGER_KEY}\n`, { mode: 0o600 });
  env = { DRPOSTURE_WORKER_URL: worker.url as string, DRPOSTURE_TRIGGER_KEY: TRIGGER_KEY };
}, 120_000);

afterAll(async () => {
  await worker?.dispose();
});

afterEach(idle);

describe("backup now: bad input starts nothing", () => {
  const cases: Array<[string, string[], Record<string, string | undefined>, string]> = [
    ["no Worker URL", ["--asset", "d1/app-db"], { DRPOSTURE_WORKER_URL: undefined }, "drposture: no Worker URL: export DRPOSTURE_WORKER_URL=$(pulumi stack output backupWorkerUrl --stack prod) or pass --url\n"],
    ["no trigger key", ["--asset", "d1/app-db"], { DRPOSTURE_TRIGGER_KEY: undefined }, "drposture: no trigger key: export DRPOSTURE_TRIGGER_KEY=$(pulumi stack output backupTriggerKey --show-secrets --stack prod) or pass --trigger-key-file FILE\n"],
    ["an unreadable key file", ["--asset", "d1/app-db", "--trigger-key-file", "/nonexistent/trigger.key"], { DRPOSTURE_TRIGGER_KEY: undefined }, "drposture: --trigger-key-file /nonexistent/trigger.key: cannot read it (ENOENT)\n"],
    ["a key that is not one", ["--asset", "d1/app-db"], { DRPOSTURE_TRIGGER_KEY: "hunter2" }, "drposture: DRPOSTURE_TRIGGER_KEY: not a trigger key (expected 64 hex characters, as `pulumi stack output backupTriggerKey --show-secrets` prints it)\n"],
    ["an asset the stack does not have", ["--asset", "d1/no-such-db"], {}, `drposture: --asset d1/no-such-db: stack prod has no such asset (it has: ${posture.assets.map((a) => a.id).join(", ")})\n`],
    ["a plain-http URL to another host", ["--asset", "d1/app-db", "--url", "http://backup.example.com"], {}, "drposture: --url http://backup.example.com: must be https:// (plain http only to 127.0.0.1 or localhost, the local world): the trigger key signs requests, but status answers travel in the clear\n"],
  ];
  if (neonAsset) cases.push(["a Neon asset", ["--asset", neonAsset.id], {}, `drposture: --asset ${neonAsset.id}: Neon is backed up from outside Cloudflare; use \`drposture backup postgres --stack prod\`\n`]);

  for (const [what, args, overrides, message] of cases) {
    it(`refuses ${what} (exit 2)`, async () => {
      const r = await drposture(["backup", "now", ...args], { env: { ...env, ...overrides } });
      expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ code: 2, stderr: message, stdout: "" });
      expect(await stateKeys()).toEqual([]);
    });
  }

  it("says why the Worker refused a request signed with another key (exit 1), and nothing started", async () => {
    const r = await drposture(["backup", "now", "--asset", "d1/app-db", "--json"], { env: { ...env, DRPOSTURE_TRIGGER_KEY: "d4".repeat(32) } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("the Worker refused the signature (401): check DRPOSTURE_TRIGGER_KEY against `pulumi stack output backupTriggerKey --show-secrets`, and this machine's clock");
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: "TriggerError", message: expect.stringContaining("refused the signature (401)") });
    expect(r.stderr).not.toContain("unexpected error");
    expect(await stateKeys()).toEqual([]);
  });
});

describe("backup now: against the Worker", () => {
  it("backs up the asset (a bare name unique in the stack) and prints the id of its committed, verifying manifest", async () => {
    const before = await manifests("d1/app-db");
    const r = await drposture(["backup", "now", "--asset", "app-db", "--stack", "prod"], { env });
    expect(r.code, r.stderr).toBe(0);
    const m = /^backup (\S+) \((daily|weekly|monthly)\) of d1\/app-db committed in \d+(\.\d)? s\n$/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(r.stderr).toContain(`drposture: backup ${m![1]} of d1/app-db started on the Worker; waiting for its manifest`);
    const added = (await manifests("d1/app-db")).filter((k) => !before.includes(k));
    expect(added).toEqual([`${m![2]}/d1/app-db/${m![1]}/manifest.json`]);
    const manifest = await readManifest(await worker.backupStorage(), added[0] as string);
    await verifyManifest(await importMasterKey(KEY), manifest!, "r2", added[0]);
    // Each request was one invocation of the Worker's fetch handler, under the local Workers limits.
    expect(worker.invocations.filter((i) => i.kind === "fetch").length).toBeGreaterThanOrEqual(2);
    expect(worker.violations()).toEqual([]);
  });

  it("--json prints {asset, backupId, tier, manifest, seconds} and nothing on stderr", async () => {
    const r = await drposture(["backup", "now", "--asset", "d1/app-db", "--json", "--trigger-key-file", keyFile], { env: { ...env, DRPOSTURE_TRIGGER_KEY: undefined as unknown as string } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out).sort()).toEqual(["asset", "backupId", "manifest", "seconds", "tier"]);
    expect(out.manifest).toBe(`${out.tier}/d1/app-db/${out.backupId}/manifest.json`);
    expect(await manifests("d1/app-db")).toContain(out.manifest);
  });

  it("--timeout: stops waiting (exit 1) and says the backup continues, which it does", async () => {
    // The 1,000-key namespace: dozens of queue steps, seconds of work, never done in 0.6 s (the
    // 300-key one committed inside the timeout once in CI, and a backup that commits in time is
    // reported as committed).
    const before = await manifests("kv/feature-flags");
    const r = await drposture(["backup", "now", "--asset", "kv/feature-flags", "--timeout", "0.01"], { env });
    expect(r.code).toBe(1);
    const m = /drposture: backup (\S+) of kv\/feature-flags was not committed within 0.01 min \(--timeout\); it continues on Cloudflare: `drposture list` shows it once committed\n$/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    await idle();
    const added = (await manifests("kv/feature-flags")).filter((k) => !before.includes(k));
    expect(added).toHaveLength(1);
    expect(added[0]).toContain(`/kv/feature-flags/${m![1]}/`);
  });

  it("--no-wait prints the id once the backup started", async () => {
    const r = await drposture(["backup", "now", "--asset", "d1/app-db", "--no-wait"], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^backup \d{8}T\d{9}Z-[0-9a-f]{8} of d1\/app-db started\n$/);
  });

  it("when the asset's backup is already running, waits for it to end and then takes a new one (a backup that starts after the request)", async () => {
    const before = await manifests("kv/feature-flags");
    const first = await drposture(["backup", "now", "--asset", "kv/feature-flags", "--no-wait", "--json"], { env });
    expect(first.code, first.stderr).toBe(0);
    const running = JSON.parse(first.stdout).backupId as string;
    const r = await drposture(["backup", "now", "--asset", "kv/feature-flags"], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`drposture: a backup of kv/feature-flags (${running}) is already running, started before this request: waiting for it to end, then starting a new one\n`);
    const id = /^backup (\S+) \(\w+\) of kv\/feature-flags committed in/.exec(r.stdout)?.[1];
    expect(id).toBeDefined();
    expect(id).not.toBe(running);
    expect(id! > running).toBe(true);
    await idle();
    const added = (await manifests("kv/feature-flags")).filter((k) => !before.includes(k)).map((k) => k.split("/")[3]).sort();
    expect(added).toEqual([running, id].sort());
  });

  describe("Ctrl-C while waiting", () => {
    let run: Run | undefined;
    afterEach(async () => run?.reap());

    it("exits 130 and says the backup keeps running, which it does", async () => {
      // The 1,000-key namespace: still running when the SIGINT lands (see the --timeout test).
      const before = await manifests("kv/feature-flags");
      run = startCli(["backup", "now", "--asset", "kv/feature-flags"], env);
      await run.waitForStderr(/started on the Worker; waiting for its manifest/);
      const id = /backup (\S+) of kv\/feature-flags started/.exec(run.stderr())![1];
      run.child.kill("SIGINT");
      const exit = await run.exited;
      expect(exit.code).toBe(130);
      expect(run.stderr()).toContain(`drposture: backup ${id} of kv/feature-flags keeps running on Cloudflare; stopping here does not stop it\n`);
      expect(run.stdout()).toBe("");
      await idle();
      expect((await manifests("kv/feature-flags")).filter((k) => !before.includes(k))).toEqual([expect.stringContaining(`/kv/feature-flags/${id}/manifest.json`)]);
    });
  });
});

describe("backup now: a Worker deployed without the trigger", () => {
  let bare: LocalWorker;
  beforeAll(async () => {
    bare = await LocalWorker.start({ plan: worker.plan, keyHex: KEY, http: true, alertWebhookUrl: "http://127.0.0.1:9/nowhere" });
  }, 120_000);
  afterAll(async () => bare?.dispose());

  it("says the Worker at the URL serves no backup-now routes and what to do (exit 1)", async () => {
    const r = await drposture(["backup", "now", "--asset", "d1/app-db"], { env: { ...env, DRPOSTURE_WORKER_URL: bare.url as string } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bare.url} serves no backup-now routes: the Worker there predates \`backup now\` or has no TRIGGER_KEY binding (run pulumi up), or the URL is not the backup Worker's`);
    expect(r.stdout).toBe("");
  });
});
