/**
 * `drposture check` end to end: the CLI runs a program under mocks and the real policy pack
 * process over gRPC. Our prod and staging stacks pass; a hand-written stack fails each policy
 * in turn, on the offending resource; a weakened Pulumi.prod.yaml is blocked.
 */
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/program";

const exec = promisify(execFile);
const FIXTURE = path.join(ROOT, "tests", "fixtures", "handwritten");
const PROD_CONFIG = path.join(ROOT, "policies", "config", "prod.json");

interface CheckJson {
  stack: string;
  resources: Array<{ urn: string; type: string; name: string }>;
  violations: Array<{ policy: string; level: string; urn: string; message: string }>;
}

async function check(args: string[]): Promise<{ code: number; json: CheckJson | null; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [path.join(ROOT, "cli", "bin.cjs"), "check", "--json", ...args], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, json: JSON.parse(stdout) as CheckJson, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, json: e.stdout ? (JSON.parse(e.stdout) as CheckJson) : null, stderr: e.stderr };
  }
}

/** Lets at most `n` jobs run at once, first come first served. */
function limiter(n: number): <R>(job: () => Promise<R>) => Promise<R> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (job) => {
    if (running >= n) await new Promise<void>((go) => waiting.push(go));
    else running++;
    try {
      return await job();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

/** Every check below is its own pair of processes (CLI, policy pack) and the tests are
 * independent: they run concurrently, sharing three slots, so a slow pack start overlaps others. */
const slot = limiter(3);
const checkInSlot = (args: string[]) => slot(() => check(args));
/** A test waits for its slot as well as for its checks. */
const QUEUED = 300_000;

describe("drposture check", () => {
  it.concurrent.each(["prod", "staging"])("passes on the %s stack with its policy config", { timeout: QUEUED }, async (stack) => {
    const r = await checkInSlot(["--stack", stack]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json?.violations).toEqual([]);
    expect(r.json?.stack).toBe(stack);
    expect(r.json?.resources.length).toBeGreaterThan(40);
    expect(r.json?.resources.every((x) => x.urn.startsWith(`urn:pulumi:${stack}::drposture::`))).toBe(true);
  });

  it.concurrent("passes on the compliant hand-written stack", { timeout: QUEUED }, async () => {
    const r = await checkInSlot(["--cwd", FIXTURE, "--stack", "compliant", "--policy-config", PROD_CONFIG]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json?.violations).toEqual([]);
  });

  const cases: Array<[policy: string, offender: string]> = [
    ["backup-frequency-meets-rpo", "orders-backup-crons"],
    ["neon-restore-window", "neon-window"],
    ["retention-minimums", "orders-backups-lifecycle"],
    ["s3-object-lock", "orders-backups-lock"],
    ["r2-bucket-lock", "orders-backups-r2-lock"],
    ["s3-versioning", "orders-backups-versioning"],
    ["s3-kms-encryption", "orders-backups-key"],
    ["s3-no-public-access", "orders-backups-pab"],
    ["backup-identity-least-privilege", "backup-writer-policy"],
    ["copies-in-two-providers", "orders-backups"],
    ["worker-secrets-are-secret", "orders-backup-worker"],
    ["assets-covered", "orders-backup-worker"],
    // Its scratch KV binding is the production carts namespace.
    ["restore-tests-scheduled", "orders-backup-worker"],
  ];

  it.concurrent("rejects a hand-written stack that breaks each policy, with a violation on the offending resource", { timeout: QUEUED }, async () => {
    const results = await Promise.all(cases.map(([policy]) => checkInSlot(["--cwd", FIXTURE, "--stack", policy, "--policy-config", PROD_CONFIG])));
    cases.forEach(([policy, offender], i) => {
      const r = results[i] as Awaited<ReturnType<typeof check>>;
      expect(r.code, `${policy}: ${r.stderr}`).toBe(1);
      const vs = r.json?.violations ?? [];
      expect(new Set(vs.map((v) => v.policy)), policy).toEqual(new Set([policy]));
      expect(vs.every((v) => v.level === "mandatory")).toBe(true);
      const urn = r.json?.resources.find((x) => x.name === offender)?.urn;
      expect(urn, `${policy}: no resource ${offender}`).toBeDefined();
      expect(vs.map((v) => v.urn), policy).toContain(urn);
      for (const v of vs) expect(v.message.length, policy).toBeGreaterThan(20);
    });
  });

  it.concurrent("blocks a weakened Pulumi.prod.yaml: shorter Neon window, fewer days, slower cron", { timeout: QUEUED }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "drposture-weak-"));
    copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    const prod = readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8");
    const weakened = prod
      .replace("restoreWindowDays: 14", "restoreWindowDays: 7")
      .replace("daily: 35", "daily: 14")
      .replace(/(name: sessions\n\s+namespaceId: \w+\n\s+)rpoMinutes: 15/, "$1rpoMinutes: 60");
    expect(weakened).not.toBe(prod);
    writeFileSync(path.join(dir, "Pulumi.prod.yaml"), weakened);
    writeFileSync(path.join(dir, "index.ts"), `export * from ${JSON.stringify(path.join(ROOT, "index"))};\n`);
    const r = await checkInSlot(["--cwd", dir, "--stack", "prod", "--policy-config", PROD_CONFIG]);
    expect(r.code).toBe(1);
    const byPolicy = new Map((r.json?.violations ?? []).map((v) => [v.policy, v.message]));
    expect(byPolicy.get("neon-restore-window")).toMatch(/7 days; the minimum is 14/);
    expect(byPolicy.get("retention-minimums")).toMatch(/daily backups after 14 days; the minimum is 30/);
    expect(byPolicy.get("backup-frequency-meets-rpo")).toMatch(/kv\/sessions is backed up at most every 60 min .* allowed RPO is 15 min/);
  });

  it.concurrent.each([
    ["restore testing disabled in prod", (y: string) => y.replace(/drposture:restoreTesting:\n    everyDays: 7/, "drposture:restoreTesting:\n    enabled: false"), /never restore-tests its 5 assets \(d1\/app-db, neon\/app, kv\/feature-flags, kv\/sessions, r2\/user-uploads\): its plan has no restoreTesting\. Set drposture:restoreTesting\.enabled to true .* at most 7/],
    ["everyDays 30 against the prod pack's 7", (y: string) => y.replace(/(drposture:restoreTesting:\n    )everyDays: 7/, "$1everyDays: 30"), /allows 30 days between restore tests of an asset \(restoreTesting\.everyDays\); the organisation allows at most 7\. Set drposture:restoreTesting\.everyDays to 7 or less/],
  ] as const)("blocks Pulumi.prod.yaml with %s (restore-tests-scheduled)", { timeout: QUEUED }, async (_case, weaken, message) => {
    const dir = mkdtempSync(path.join(tmpdir(), "drposture-rt-"));
    copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    const prod = readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8");
    const weakened = weaken(prod);
    expect(weakened).not.toBe(prod);
    writeFileSync(path.join(dir, "Pulumi.prod.yaml"), weakened);
    writeFileSync(path.join(dir, "index.ts"), `export * from ${JSON.stringify(path.join(ROOT, "index"))};\n`);
    const r = await checkInSlot(["--cwd", dir, "--stack", "prod", "--policy-config", PROD_CONFIG]);
    expect(r.code, r.stderr).toBe(1);
    const vs = r.json?.violations ?? [];
    expect(vs.map((v) => v.policy)).toEqual(["restore-tests-scheduled"]);
    expect(vs[0]?.level).toBe("mandatory");
    expect(vs[0]?.message).toMatch(message);
  });

  it.concurrent("exits 2 with the config path when the program's config is invalid", { timeout: QUEUED }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "drposture-bad-"));
    copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    writeFileSync(path.join(dir, "Pulumi.prod.yaml"), readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8").replace("daily: 35", "daily: 0"));
    writeFileSync(path.join(dir, "index.ts"), `export * from ${JSON.stringify(path.join(ROOT, "index"))};\n`);
    const r = await checkInSlot(["--cwd", dir, "--stack", "prod"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("drposture:retention.daily: must be >= 1, got 0");
  });

  it.concurrent("exits 2 for a stack that does not exist", { timeout: QUEUED }, async () => {
    const r = await checkInSlot(["--stack", "nope"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no stack config .*Pulumi\.nope\.yaml/);
  });
});
