/**
 * The main job, as the README runs it: `drposture drill` on the built-in sample passes with a
 * complete JSON report (and Markdown/HTML with the timeline); with a corrupted backup it fails.
 * `--keep` leaves the destinations, which `verify --local` then checks.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { writeCompactDrillFixture } from "../helpers/drillFixture";
import { ROOT } from "../helpers/program";

const exec = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [path.join(ROOT, "cli", "bin.cjs"), ...args], { cwd: ROOT, maxBuffer: 32 * 1024 * 1024 });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("drposture drill", () => {
  it("passes on the built-in sample, measuring RTO and RPO against the prod targets", async () => {
    const reports = mkdtempSync(path.join(tmpdir(), "drposture-drill-report-"));
    const keep = mkdtempSync(path.join(tmpdir(), "drposture-drill-keep-"));
    const r = await cli(["drill", "--local", "--json", "--report", reports, "--keep", keep]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.passed).toBe(true);
    expect(report.assets.map((a: { kind: string; name: string }) => `${a.kind}/${a.name}`)).toEqual(["d1/app-db", "postgres/app", "kv/sessions", "r2/user-uploads"]);
    for (const a of report.assets) {
      expect(Object.keys(a)).toEqual(expect.arrayContaining(["kind", "name", "verified", "sourceCount", "restoredCount", "sourceDigest", "restoredDigest", "rtoSeconds", "rpoSeconds", "rtoTargetSeconds", "rpoTargetSeconds"]));
      expect(a.verified).toBe(true);
      expect(a.restoredDigest).toBe(a.sourceDigest);
      expect(a.sourceCount).toBeGreaterThan(0);
      expect(a.rtoSeconds).toBeGreaterThan(0);
      expect(a.rpoSeconds).toBeGreaterThan(0);
      expect(a.rtoSeconds).toBeLessThanOrEqual(a.rtoTargetSeconds);
    }
    expect(report.assets.find((a: { name: string }) => a.name === "sessions").rpoTargetSeconds).toBe(15 * 60);
    // The Worker restore-tested the same backups: each D1/KV/R2 asset into its scratch binding, Neon by a PITR branch of the stand-in.
    expect(report.restoreTests.map((t: { asset: string }) => t.asset)).toEqual(["d1/app-db", "neon/app", "kv/sessions", "r2/user-uploads"]);
    for (const t of report.restoreTests) {
      expect(Object.keys(t)).toEqual(expect.arrayContaining(["asset", "passed", "restoredCount", "digestMatches", "seconds", "rtoTargetSeconds", "integrity"]));
      expect(t.passed, `${t.asset}: ${t.error}`).toBe(true);
      expect(t.seconds).toBeLessThanOrEqual(t.rtoTargetSeconds);
      if (t.asset.startsWith("neon/")) expect(t.integrity.map((i: { check: string }) => i.check)).toContain("postgres: foreign keys resolve");
      else expect(t).toMatchObject({ digestMatches: true, restoredCount: report.assets.find((a: { name: string }) => t.asset.endsWith(`/${a.name}`)).sourceCount });
    }
    // `backup now` through the Worker's signed routes, after the scheduled backups, committed a
    // new backup of d1/app-db: the one the restore then started from.
    expect(report.backupNow).toEqual({ asset: "d1/app-db", backupId: expect.stringMatching(/^\d{8}T\d{9}Z-[0-9a-f]{8}$/), seconds: expect.any(Number), committed: true });
    expect(report.assets.find((a: { name: string }) => a.name === "app-db").backupId).toBe(report.backupNow.backupId);
    expect(report.phases.map((p: { name: string }) => p.name)).toContain("backup now (signed request)");
    // Every Worker invocation stayed inside Cloudflare's per-invocation limits, and the report says how close it came.
    expect(report.workersLimits.violations).toEqual([]);
    expect(report.workersLimits.invocations).toBeGreaterThan(1);
    expect(report.workersLimits.peaks.r2Operations).toBeGreaterThan(0);
    expect(report.workersLimits.peaks.r2Operations).toBeLessThanOrEqual(report.workersLimits.limits.r2Operations);
    expect(JSON.parse(readFileSync(path.join(reports, "drill-report.json"), "utf8")).passed).toBe(true);
    expect(readFileSync(path.join(reports, "drill-report.md"), "utf8")).toMatch(/# Restore drill: PASSED[\s\S]*## Backup now \(signed request to the Worker\)\n\nd1\/app-db: backup \S+ committed in [\d.]+ s\.\n[\s\S]*## Workers limits\n\n\d+ invocations; most in one: subrequests \d+ of \d+/);
    expect(readFileSync(path.join(reports, "drill-report.html"), "utf8")).toContain(`<h2>Backup now</h2><p>d1/app-db: backup ${report.backupNow.backupId} committed in`);
    expect(readFileSync(path.join(reports, "drill-report.html"), "utf8")).toMatch(/<svg[^>]*>.*restore \+ verify/s);
    expect(existsSync(path.join(keep, "encryption-key.hex"))).toBe(true);
    const v = await cli(["verify", "--local", keep, "--read-data", "100", "--json"]);
    expect(v.code, v.stderr).toBe(0);
    const verified = JSON.parse(v.stdout);
    // One backup per asset from the cron runs and `backup postgres`, plus the one `backup now` took.
    expect(verified.results.map((x: { manifests: number }) => x.manifests)).toEqual([5, 5]);
  }, 240_000);

  // The two small drills below are independent (own servers, temp dirs, reports): they run together.
  it.concurrent("fails (exit 1) when a backup is corrupted, naming the asset and the artifact", async () => {
    // The compact fixture (every asset kind of the sample, a tenth of its rows): the failure, not the volume, is the point.
    const dir = mkdtempSync(path.join(tmpdir(), "drposture-drill-bad-"));
    const r = await cli(["drill", "--local", "--json", "--fixture", writeCompactDrillFixture(dir), "--corrupt", "kv/sessions", "--report", dir]);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.passed).toBe(false);
    expect(report.assets.map((a: { kind: string; name: string }) => `${a.kind}/${a.name}`)).toEqual(["d1/app-db", "postgres/app", "kv/sessions", "r2/user-uploads"]);
    const kv = report.assets.find((a: { name: string }) => a.name === "sessions");
    expect(kv.verified).toBe(false);
    expect(kv.error).toMatch(/kv\/sessions\/.*failed authentication/);
    expect(report.assets.filter((a: { verified: boolean }) => a.verified)).toHaveLength(3);
    // The Worker's restore test of the same backup fails too (the R2 copy was hit as well).
    const tests = Object.fromEntries(report.restoreTests.map((t: { asset: string }) => [t.asset, t]));
    expect(tests["kv/sessions"]).toMatchObject({ passed: false });
    expect(tests["kv/sessions"].error).toMatch(/failed authentication/);
    expect(Object.values(tests).filter((t) => (t as { passed: boolean }).passed)).toHaveLength(3);
  }, 240_000);

  it.concurrent("seeds from a fixture file, and rejects a malformed one with exit 2", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "drposture-fixture-"));
    const good = path.join(dir, "good.json");
    writeFileSync(
      good,
      JSON.stringify({
        d1: { "app-db": ["CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", "INSERT INTO t (v) VALUES ('a'), ('b')"] },
        kv: { sessions: [{ key: "k1", value: "v1", metadata: { a: 1 } }, { key: "k2", base64: "AAEC" }] },
        r2: { "user-uploads": [{ key: "a.txt", text: "hello", httpMetadata: { contentType: "text/plain" } }] },
      }),
    );
    const r = await cli(["drill", "--local", "--json", "--fixture", good, "--report", dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).assets.map((a: { sourceCount: number }) => a.sourceCount)).toEqual([2, 2, 1]);
    const bad = path.join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ kv: { sessions: [{ key: "k1" }] } }));
    const b = await cli(["drill", "--local", "--fixture", bad]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/kv\.sessions\.0: needs exactly one of value or base64/);
  }, 240_000);
});
