/**
 * Ctrl-C during a drill (issue #9 item 11): SIGINT or SIGTERM at any phase stops PostgreSQL,
 * workerd and the local endpoints, deletes the drill's temporary data (decrypted dumps first)
 * and exits 130 within seconds; a second Ctrl-C exits at once. Each run gets a private TMPDIR
 * so that what it leaves behind (processes naming it, files under it) is visible. The drills
 * run on the compact fixture: every asset kind and phase of the sample at a tenth of its rows,
 * so a phase comes seconds, not a minute, after the start.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { writeCompactDrillFixture } from "../helpers/drillFixture";
import { filesBelow, isAlive, startCli, type Proc, type Run } from "../helpers/interruptible";

const runs: Run[] = [];
/** Where the reports would go (an interrupted drill writes none). */
const reports = mkdtempSync(path.join(tmpdir(), "drposture-intr-report-"));
const fixture = writeCompactDrillFixture(reports);
afterEach(async () => {
  for (const r of runs.splice(0)) await r.reap();
});
afterAll(() => rmSync(reports, { recursive: true, force: true }));

function drill(ownGroup = false): Run {
  const r = startCli(["drill", "--local", "--fixture", fixture, "--report", reports], {}, ownGroup);
  runs.push(r);
  return r;
}

/** Waits for the phase, notes the run's processes, sends the signal(s), waits for the exit. */
async function interruptAt(r: Run, phase: RegExp, signals: NodeJS.Signals[], gapMs = 0, group = false): Promise<{ before: Proc[]; code: number | null; seconds: number }> {
  await r.waitForStderr(phase);
  const before = r.processes();
  const sent = Date.now();
  for (const [i, s] of signals.entries()) {
    if (i) await new Promise((res) => setTimeout(res, gapMs));
    if (group) process.kill(-r.pid, s);
    else r.child.kill(s);
  }
  const exit = await r.exited;
  return { before, code: exit.code, seconds: (exit.at - sent) / 1000 };
}

async function expectNothingLeft(r: Run, before: Proc[]): Promise<void> {
  // Helpers that end when their parent's pipe closes (esbuild's service) get a moment.
  for (let i = 0; i < 30 && before.some(isAlive); i++) await new Promise((res) => setTimeout(res, 100));
  const alive = before.filter(isAlive);
  expect(alive.map((p) => `${p.pid} ${p.cmd}`)).toEqual([]);
  expect(r.processes()).toEqual([]);
  expect(filesBelow(r.tmp)).toEqual([]);
  expect(r.stderr()).not.toMatch(/^\s+at /m);
}

describe("interrupting a drill", () => {
  it("SIGINT while backing up: PostgreSQL and workerd stop, temp dirs go, exit 130", async () => {
    const r = drill();
    const { before, code, seconds } = await interruptAt(r, /^drill: backup/m, ["SIGINT"]);
    // The run had really started its servers (else this test proves nothing).
    expect(before.some((p) => /workerd/.test(p.cmd))).toBe(true);
    expect(before.some((p) => /postgres .*-D /.test(p.cmd))).toBe(true);
    expect(code).toBe(130);
    expect(seconds).toBeLessThan(15);
    expect(r.stderr()).toMatch(/drposture: SIGINT: stopping; cleaning up/);
    await expectNothingLeft(r, before);
  }, 180_000);

  it("SIGTERM while restoring: the same, and no decrypted dump survives", async () => {
    const r = drill();
    const { before, code, seconds } = await interruptAt(r, /^drill: restore \+ verify: neon\/app/m, ["SIGTERM"]);
    expect(code).toBe(130);
    expect(seconds).toBeLessThan(15);
    expect(r.stderr()).toMatch(/drposture: SIGTERM: stopping/);
    await expectNothingLeft(r, before);
  }, 180_000);

  it("SIGINT during setup, while the servers are still starting: nothing started survives", async () => {
    const r = drill();
    const { before, code, seconds } = await interruptAt(r, /^drill: setup/m, ["SIGINT"]);
    expect(code).toBe(130);
    expect(seconds).toBeLessThan(15);
    // Servers that were starting when the signal came must not outlive the run either.
    await new Promise((res) => setTimeout(res, 1500));
    await expectNothingLeft(r, before);
  }, 180_000);

  it("Ctrl-C in a terminal (SIGINT to the whole process group) while seeding: the same", async () => {
    const r = drill(true);
    const { before, code, seconds } = await interruptAt(r, /^drill: seed: neon\/app/m, ["SIGINT"], 0, true);
    expect(code).toBe(130);
    expect(seconds).toBeLessThan(15);
    await expectNothingLeft(r, before);
  }, 180_000);

  it("a second SIGINT exits at once, without waiting for the cleanup", async () => {
    const r = drill();
    const { before, code, seconds } = await interruptAt(r, /^drill: backup/m, ["SIGINT", "SIGINT"], 20);
    expect(code).toBe(130);
    expect(seconds).toBeLessThan(3);
    expect(r.stderr()).toMatch(/SIGINT again: exiting without finishing cleanup \(child processes killed, temporary data removed\)/);
    // Forced, yet nothing is orphaned: workerd is killed, PostgreSQL told to quit, temp data removed.
    await expectNothingLeft(r, before);
  }, 180_000);
});
