/**
 * The policy pack process of `drposture check`, started while the program runs: whatever
 * happens, it does not outlive the check. A pack that fails to load gives the same one error
 * and exit code as before it was started early; Ctrl-C while it loads, a program that fails
 * while it loads, and a pack that ignores SIGTERM all leave no pack process behind.
 * The pack here is a copy of policies/ (node_modules linked) with a prelude in index.ts that
 * misbehaves as each test asks.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/program";

const BIN = path.join(ROOT, "cli", "bin.cjs");
let work: string;
let pack: string;
/** Every pack seen, killed at the end should a test fail and leave one. */
const seen = new Set<number>();

/**
 * A copy of the policy pack whose behaviour the env var DRPOSTURE_TEST_PACK picks (the CLI's
 * environment reaches the pack): one copy, so ts-node compiles and type-checks it once.
 */
const PRELUDE = `declare const process: { env: Record<string, string | undefined>; on(s: string, f: () => void): void; exit(code: number): never };
declare const require: (m: string) => any;
import { drposturePolicies as judges } from "./src/all";
const mode = process.env.DRPOSTURE_TEST_PACK;
const busy = (ms: number) => { const until = Date.now() + ms; while (Date.now() < until) { /* working */ } };
if (mode === "explode") throw new Error("pack exploded at load");
if (mode === "slow-load") busy(20_000);
if (mode === "ignore-sigterm") process.on("SIGTERM", () => undefined);
// A resource policy that sees each Analyze: marks the one of "first", or dies at the first one.
const spy = (f: (a: any) => void) => (judges as any[]).push({ name: "test-analyze-spy", description: "test: sees each Analyze", enforcementLevel: "advisory", validateResource: f });
if (mode === "mark-analyze") spy((a) => a.name === "first" && require("fs").writeFileSync(process.env.DRPOSTURE_TEST_MARK as string, a.urn));
if (mode === "die-on-analyze") spy(() => process.exit(7));
if (mode === "slow-analysis") for (const p of judges as any[]) if (p.validateStack) { const v = p.validateStack; p.validateStack = (a: any, r: any) => (busy(20_000), v(a, r)); }
`;

function testPack(): string {
  const dir = path.join(work, "policies");
  for (const f of ["PulumiPolicy.yaml", "package.json", "tsconfig.json", "index.ts", "src", "config"]) cpSync(path.join(ROOT, "policies", f), path.join(dir, f), { recursive: true });
  // The pack imports the checkout's lib/ (the cost model) relatively, and its packages.
  for (const linked of ["node_modules", "lib"]) symlinkSync(path.join(ROOT, linked), path.join(work, linked));
  writeFileSync(path.join(dir, "index.ts"), `${PRELUDE}\n${readFileSync(path.join(dir, "index.ts"), "utf8")}`);
  return dir;
}

/** Processes whose parent is `pid` and whose command line mentions run-policy-pack. */
function packsOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid && readFileSync(`/proc/${e}/cmdline`, "utf8").includes("run-policy-pack")) out.push(Number(e));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** Alive, and not a zombie waiting for a parent that is gone. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] !== "Z";
  } catch {
    return false;
  }
}

interface Run {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  exit: Promise<number | null>;
  /** Pack pids seen while the CLI ran. */
  packs: Set<number>;
}

function drposture(mode: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Run {
  const env = { ...process.env, DRPOSTURE_TRACE: "1", DRPOSTURE_TEST_PACK: mode, ...extraEnv };
  const child = spawn(process.execPath, [BIN, "check", "--stack", "prod", "--policy-pack", pack, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const packs = new Set<number>();
  const poll = setInterval(() => packsOf(child.pid as number).forEach((p) => (packs.add(p), seen.add(p))), 10);
  const exit = new Promise<number | null>((resolve) =>
    child.once("close", (code) => {
      clearInterval(poll);
      resolve(code);
    }),
  );
  return { child, stderr: () => stderr, stdout: () => stdout, exit, packs };
}

async function until(what: string, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** No pack of this run is left, allowing the kernel a moment to reap it. */
async function expectNoPackLeft(r: Run): Promise<void> {
  const deadline = Date.now() + 2000;
  while ([...r.packs].some(alive) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  expect([...r.packs].filter(alive)).toEqual([]);
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), "drposture-pack-"));
  pack = testPack();
  // The first start compiles and type-checks the copy (seconds on a busy machine): not timed below.
  const warm = drposture("plain", []);
  expect(await warm.exit, warm.stderr()).toBe(0);
}, 120_000);

afterAll(() => {
  for (const pid of seen) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone, as it should be */
    }
  }
  if (work && existsSync(work)) rmSync(work, { recursive: true, force: true });
});

describe("the policy pack process of drposture check", () => {
  // Each run is its own CLI and pack, found by its own pid: the untimed cases run concurrently.
  it.concurrent("a pack that fails to load: one error naming why, exit 1, --json error document, no process left", { timeout: 120_000 }, async () => {
    const r = drposture("explode", ["--json"]);
    expect(await r.exit).toBe(1);
    // A named failure (PolicyPackError), not an "unexpected error" of the CLI itself.
    expect(r.stderr()).toMatch(/^drposture: policy pack exited with code 32 before serving:\n/m);
    expect(r.stderr()).not.toMatch(/unexpected error/);
    expect(r.stderr()).toContain("Error: pack exploded at load");
    const doc = JSON.parse(r.stdout()) as { error: { code: string; message: string } };
    expect(doc.error.code).toBe("PolicyPackError");
    expect(doc.error.message).toMatch(/^policy pack exited with code 32 before serving:\n[\s\S]*pack exploded at load/);
    expect(r.packs.size).toBe(1);
    await expectNoPackLeft(r);
  });

  it.concurrent("Ctrl-C while the pack loads (the program running): exit 130, the pack is stopped", { timeout: 120_000 }, async () => {
    // Slow to load (as a big pack on a busy machine is): the interrupt surely comes first.
    const r = drposture("slow-load", []);
    await until("the pack process", () => r.packs.size > 0);
    r.child.kill("SIGINT");
    expect(await r.exit).toBe(130);
    expect(r.stderr()).toContain("drposture: SIGINT: stopping; cleaning up");
    expect(r.stderr()).not.toContain("policy pack serving");
    await expectNoPackLeft(r);
  });

  it.concurrent("Ctrl-C during the analysis: exit 130, the pack is stopped", { timeout: 120_000 }, async () => {
    // Serves, then takes 20 s over AnalyzeStack: the interrupt comes mid-conversation.
    const r = drposture("slow-analysis", []);
    await until("the analysis", () => r.stderr().includes("stack request built"));
    r.child.kill("SIGINT");
    expect(await r.exit).toBe(130);
    expect(r.stderr()).not.toContain("stack analyzed");
    expect(r.packs.size).toBe(1);
    await expectNoPackLeft(r);
  });

  it.concurrent("a pack that ignores SIGTERM does not outlive a finished check", { timeout: 120_000 }, async () => {
    const r = drposture("ignore-sigterm", []);
    expect(await r.exit).toBe(0);
    expect(r.stderr()).toContain("stack analyzed");
    expect(r.packs.size).toBe(1);
    await expectNoPackLeft(r);
  });

  // Timed: it runs alone, after the others, so their processes do not slow it down.
  it("a program whose config fails while the pack loads: exit 2 at once, the pack is stopped", async () => {
    const started = Date.now();
    const r = drposture("slow-load", ["--cwd", path.join(ROOT, "tests", "fixtures", "handwritten")]);
    expect(await r.exit).toBe(2);
    expect(r.stderr()).toMatch(/drposture: the program or its config failed:\n.*Pulumi\.prod\.yaml/);
    // Not held up by the pack's 20 s of loading.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.packs.size).toBe(1);
    await expectNoPackLeft(r);
  });

  it("sends Analyze for each resource while the program still runs, as the engine does", async () => {
    // A program that registers "first", then waits (20 s at most) until the pack has analyzed
    // it before registering "second": it finishes only if Analyze is not held for its end.
    const project = path.join(work, "streaming");
    mkdirSync(project);
    symlinkSync(path.join(ROOT, "node_modules"), path.join(project, "node_modules"));
    writeFileSync(path.join(project, "Pulumi.yaml"), "name: streaming\nruntime: nodejs\n");
    writeFileSync(path.join(project, "Pulumi.test.yaml"), "config: {}\n");
    const mark = path.join(work, "first-analyzed");
    writeFileSync(
      path.join(project, "index.ts"),
      `import * as pulumi from "@pulumi/pulumi";
import { existsSync } from "node:fs";
new pulumi.ComponentResource("drposture:test:Thing", "first");
export const second = (async () => {
  for (const until = Date.now() + 20_000; !existsSync(${JSON.stringify(mark)}); await new Promise((r) => setTimeout(r, 20)))
    if (Date.now() > until) throw new Error("the pack saw no Analyze of 'first' while the program ran");
  return new pulumi.ComponentResource("drposture:test:Thing", "second").urn;
})();
`,
    );
    const r = drposture("mark-analyze", ["--cwd", project, "--stack", "test", "--json"], { DRPOSTURE_TEST_MARK: mark });
    const code = await r.exit;
    expect(r.stderr()).not.toContain("the program or its config failed");
    expect([0, 1]).toContain(code); // a verdict, whatever the pack thinks of two bare components
    const doc = JSON.parse(r.stdout()) as { resources: Array<{ name: string }> };
    expect(doc.resources.map((x) => x.name)).toEqual(["first", "second"]);
    expect(readFileSync(mark, "utf8")).toMatch(/drposture:test:Thing::first$/);
    await expectNoPackLeft(r);
  });

  it("a pack that dies during Analyze while the program runs: exit 1 naming the call, no process left", async () => {
    const r = drposture("die-on-analyze", ["--json"]);
    expect(await r.exit).toBe(1);
    const doc = JSON.parse(r.stdout()) as { error: { code: string; message: string } };
    expect(doc.error.code).toBe("PolicyPackError");
    expect(doc.error.message).toMatch(/^analyze failed: /);
    expect(r.stderr()).not.toMatch(/unexpected error/);
    await expectNoPackLeft(r);
  });

});
