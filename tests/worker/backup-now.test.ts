/**
 * `backup now` as the Worker serves it (worker/trigger/): a signed start runs the asset's backup
 * through the real queue to a committed, verifying manifest; every request that is not signed
 * with the trigger key, is stale, altered or malformed is refused with a short JSON error, no
 * backup started and no storage operation at all (counted by the local Workers limits).
 */
import { env, reset } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { readManifest } from "../../lib/backup/catalog";
import type { PlanAsset } from "../../lib/backup/plan";
import type { InvocationStats } from "../../lib/local/limits/invocationBudget";
import { STATE_PREFIX } from "../../lib/format/layout";
import { verifyManifest } from "../../lib/format/manifest";
import { START_PATH, STATUS_PATH, type StatusResponse } from "../../lib/trigger/protocol";
import { importTriggerKey, MAX_BODY_BYTES, signedHeaders } from "../../lib/trigger/signature";
import { runQueue } from "../../worker/handlers";
import worker from "../../worker/index";
import type { Env, StepMessage } from "../../worker/env";
import { invocation, manifestKeys, master, r2, testEnv, until } from "./helpers";
import { seedAppDb, seedSessions } from "./seeds";

const TRIGGER_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";
const OTHER_KEY = "aa".repeat(32);
const ORIGIN = "https://drposture-prod-backup.example.workers.dev";

const triggerEnv = (extra: Parameters<typeof testEnv>[0] = {}): Env => testEnv({ ...extra, env: { TRIGGER_KEY, ...(extra.env ?? {}) } });

interface Signing {
  key?: string;
  timestamp?: number;
  /** Send these bytes instead of the signed ones (altered after signing). */
  sendBody?: string;
  headers?: Record<string, string>;
}

async function signed(method: string, pathAndQuery: string, body: string | undefined, s: Signing = {}): Promise<Request> {
  const bytes = new TextEncoder().encode(body ?? "");
  const headers = await signedHeaders(await importTriggerKey(s.key ?? TRIGGER_KEY), { method, pathAndQuery, timestamp: s.timestamp ?? Date.now(), body: bytes });
  const sent = s.sendBody ?? body;
  return new Request(`${ORIGIN}${pathAndQuery}`, { method, headers: { ...headers, ...(s.headers ?? {}) }, ...(sent !== undefined ? { body: sent } : {}) });
}

const start = (asset: string, s: Signing = {}) => signed("POST", START_PATH, JSON.stringify({ asset }), s);
const statusOf = (asset: string, backupId: string, s: Signing = {}) => signed("GET", `${STATUS_PATH}?${new URLSearchParams({ asset, backupId })}`, undefined, s);

/** One fetch invocation under the local Workers limits, with its binding operations counted. */
async function call(e: Env, request: Request): Promise<{ status: number; body: any; stats: InvocationStats }> {
  const stats: InvocationStats[] = [];
  const res = await invocation(e, "fetch", (limited) => worker.fetch(request, limited as never), stats);
  return { status: res.status, body: await res.json(), stats: stats[0] as InvocationStats };
}

/** Waits until the backup is committed and copied to S3 (its job gone), so nothing of it runs on into the next test. */
async function settled(e: Env, asset: string, backupId: string): Promise<StatusResponse> {
  return until(`backup ${backupId} to commit and replicate`, async () => {
    const s = (await call(e, await statusOf(asset, backupId))).body as StatusResponse;
    return s.state === "running" || s.replicating ? undefined : s;
  });
}

async function stateKeys(): Promise<string[]> {
  return (await env.BACKUP_R2.list({ prefix: STATE_PREFIX })).objects.map((o) => o.key);
}

const received = async () => (await (await fetch(`${inject("alertReceiver")}/received`)).json()) as Array<{ path: string; body: any }>;

describe("backup now: the signed start", () => {
  beforeEach(async () => {
    await reset();
    await fetch(`${inject("alertReceiver")}/received`, { method: "DELETE" });
  });
  afterEach(async () => void (await fetch(`${inject("alertReceiver")}/received`, { method: "DELETE" })));

  it("starts a backup that the queue runs to a committed manifest that verifies, and reports it committed", async () => {
    await seedAppDb(env.D1_APP_DB, 30);
    const e = triggerEnv();
    const started = await call(e, await start("d1/app-db"));
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ state: "running", asset: "d1/app-db" });
    const backupId = started.body.backupId as string;
    expect(backupId).toMatch(/^\d{8}T\d{9}Z-[0-9a-f]{8}$/);

    const done = await settled(e, "d1/app-db", backupId);
    expect(done).toMatchObject({ state: "committed", asset: "d1/app-db", backupId, replicating: false });
    const m = await readManifest(r2(), done.manifestKey as string);
    expect(m?.backupId).toBe(backupId);
    await verifyManifest(await master(), m!, "r2", done.manifestKey);
    expect(done.manifestKey).toBe(`${done.tier}/d1/app-db/${backupId}/manifest.json`);
  });

  it("answers a start while the asset's job runs with 409 and that job's id, starting nothing more", async () => {
    await seedSessions(env.KV_SESSIONS, 200); // 6 steps on the queue: it runs for a while
    const e = triggerEnv();
    const first = await call(e, await start("kv/sessions"));
    expect(first.status).toBe(202);
    const second = await call(e, await start("kv/sessions"));
    expect(second.status).toBe(409);
    expect(second.body).toEqual({ error: "a backup of kv/sessions is already running", code: "running", backupId: first.body.backupId });
    expect((await settled(e, "kv/sessions", first.body.backupId)).state).toBe("committed");
    expect((await manifestKeys(r2())).filter((k) => k.includes("/kv/sessions/"))).toHaveLength(1);
  });

  it("honours a signed start once: its replay is refused, even after the backup it started ended", async () => {
    await seedSessions(env.KV_SESSIONS, 5);
    const e = triggerEnv();
    const original = await start("kv/sessions");
    const replay = original.clone();
    const first = await call(e, original);
    expect(first.status).toBe(202);
    expect((await settled(e, "kv/sessions", first.body.backupId)).state).toBe("committed");
    const again = await call(e, replay);
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ error: "not newer than the last start honoured for this asset: a replay, or the signer's clock is behind", code: "replayed" });
    expect((await manifestKeys(r2())).filter((k) => k.includes("/kv/sessions/"))).toHaveLength(1);
  });

  it("a start that fails sends the backup-failed alert the cron path sends and answers 500 with the reason", async () => {
    const ghost: PlanAsset = { kind: "d1", name: "ghost-db", sourceId: "00000000-0000-4000-8000-00000000dead", binding: "D1_GHOST", rpoMinutes: 60, cron: "0 * * * *", priority: 4 };
    const e = triggerEnv({ plan: { assets: [...env.BACKUP_PLAN.assets, ghost] } });
    const r = await call(e, await start("d1/ghost-db"));
    expect(r.status).toBe(500);
    expect(r.body.code).toBe("start-failed");
    expect(r.body.error).toMatch(/^the backup of d1\/ghost-db did not start: /);
    const alerts = await received();
    expect(alerts.map((a) => a.body)).toEqual([expect.objectContaining({ kind: "backup-failed", asset: "d1/ghost-db", severity: "critical", lastGoodBackup: null })]);
    // The failed job left nothing running: the next start is not told "already running".
    expect((await stateKeys()).filter((k) => k.startsWith(`${STATE_PREFIX}jobs/`))).toEqual([]);
  });

  it("reports a backup whose steps failed (retries exhausted) as failed", async () => {
    await seedAppDb(env.D1_APP_DB, 5);
    const queued: StepMessage[] = [];
    // The step queue is held here, so the step runs when and how the test says.
    const e = triggerEnv({ env: { BACKUP_QUEUE: { send: async (m: StepMessage) => void queued.push(m) } as never } });
    const r = await call(e, await start("d1/app-db"));
    expect(r.status).toBe(202);
    expect((await call(e, await statusOf("d1/app-db", r.body.backupId))).body).toEqual({ state: "running", asset: "d1/app-db", backupId: r.body.backupId, phase: "backup" });
    // The source is gone when the step runs, on its last attempt: the queue handler gives up.
    const broken = { ...e, D1_APP_DB: undefined } as unknown as Env;
    const msg = { id: "m1", timestamp: new Date(), body: queued[0], attempts: 3, ack: () => undefined, retry: () => undefined };
    const alerts = await runQueue(broken, { queue: "q", messages: [msg] } as never);
    expect(alerts.map((a) => a.kind)).toEqual(["backup-failed"]);
    const s = (await call(e, await statusOf("d1/app-db", r.body.backupId))).body;
    expect(s).toMatchObject({ state: "failed", asset: "d1/app-db", backupId: r.body.backupId });
    expect(s.error).toMatch(/no job is running and no manifest/);
  });
});

describe("backup now: refusals start nothing and touch no storage", () => {
  beforeEach(async () => {
    await reset();
    await seedAppDb(env.D1_APP_DB, 5);
  });

  const cases: Array<[string, () => Promise<Request>, number, string]> = [
    ["signed with another key", () => start("d1/app-db", { key: OTHER_KEY }), 401, "unauthorized"],
    ["no signature", async () => new Request(`${ORIGIN}${START_PATH}`, { method: "POST", body: JSON.stringify({ asset: "d1/app-db" }) }), 401, "unauthorized"],
    ["a garbled signature", () => start("d1/app-db", { headers: { "x-drposture-signature": "zz-not-hex" } }), 401, "unauthorized"],
    ["a garbled timestamp", () => start("d1/app-db", { headers: { "x-drposture-timestamp": "yesterday" } }), 401, "unauthorized"],
    ["the body altered after signing", () => start("d1/app-db", { sendBody: JSON.stringify({ asset: "r2/user-uploads" }) }), 401, "unauthorized"],
    ["a timestamp 6 minutes old", () => start("d1/app-db", { timestamp: Date.now() - 6 * 60_000 }), 401, "unauthorized"],
    ["a timestamp 6 minutes ahead", () => start("d1/app-db", { timestamp: Date.now() + 6 * 60_000 }), 401, "unauthorized"],
    ["a GET on the start route", () => signed("GET", START_PATH, undefined), 405, "method not allowed"],
    ["an unknown route", () => signed("POST", "/v1/restore", JSON.stringify({ asset: "d1/app-db" })), 404, "not found"],
    ["a body over the cap", () => signed("POST", START_PATH, JSON.stringify({ asset: "d1/app-db", pad: "x".repeat(MAX_BODY_BYTES) })), 413, "request body too large"],
    ["an asset not in the plan (signed)", () => start("d1/no-such-db"), 404, "unknown asset"],
    ["a malformed asset (signed)", () => start("../../etc"), 400, "asset must be KIND/NAME"],
    ["a status of a malformed backup id (signed)", () => statusOf("d1/app-db", "../x"), 400, "backupId is not a backup id"],
  ];

  for (const [what, request, status, error] of cases) {
    it(`refuses ${what} with ${status}`, async () => {
      const r = await call(triggerEnv(), await request());
      expect(r.status).toBe(status);
      expect(r.body).toEqual({ error });
      expect(r.stats.counts).toMatchObject({ r2Operations: 0, kvOperations: 0, d1Queries: 0, subrequests: 0 });
      expect(await stateKeys()).toEqual([]);
      expect(await manifestKeys(r2())).toEqual([]);
    });
  }

  it("refuses a Neon asset (signed), pointing at `drposture backup postgres`", async () => {
    const neon: PlanAsset = { kind: "neon", name: "app", sourceId: "neondb", rpoMinutes: 1440, cron: "17 2 * * *", priority: 5 };
    const r = await call(triggerEnv({ plan: { assets: [...env.BACKUP_PLAN.assets, neon] } }), await start("neon/app"));
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ error: "Neon is backed up outside Cloudflare: use `drposture backup postgres`" });
    expect(r.stats.counts.r2Operations).toBe(0);
  });

  it("serves no route at all without a TRIGGER_KEY binding", async () => {
    const r = await call(testEnv(), await start("d1/app-db"));
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ error: "not found" });
    expect(r.stats.counts.r2Operations).toBe(0);
  });
});
