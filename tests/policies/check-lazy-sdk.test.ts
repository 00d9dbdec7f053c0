/**
 * lib/policy/lazySdk.cjs defers the Pulumi SDK modules a check never calls (Automation API,
 * closure serializer) to their first use, in the check's process and in the pack's. Each test
 * runs a fresh Node process (this one has the SDK loaded already). What must hold: the heavy
 * modules are not loaded; the deferred ones still work when used; the stand-ins export what the
 * real modules export; and the check's verdicts are the same with the deferral off.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { drposture } from "../helpers/cli";
import { ROOT } from "../helpers/program";

const exec = promisify(execFile);
const LAZY = path.join(ROOT, "lib", "policy", "lazySdk.cjs");

async function node(script: string, env: NodeJS.ProcessEnv = {}): Promise<unknown> {
  const { stdout } = await exec(process.execPath, ["-e", script], { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout);
}

const loaded = `Object.keys(require.cache).filter((f) => /node_modules\\/(typescript|@npmcli\\/arborist|sigstore)\\//.test(f)).map((f) => f.replace(/.*node_modules\\//, "").split("/")[0]).filter((v, i, a) => a.indexOf(v) === i).sort()`;

describe("the deferred Pulumi SDK parts", () => {
  it("are not loaded by require('@pulumi/pulumi'), and load when first used", async () => {
    const r = await node(`
      const deferred = require(${JSON.stringify(LAZY)}).deferUnusedSdkParts([process.cwd()]);
      const pulumi = require("@pulumi/pulumi");
      require("@pulumi/aws"); require("@pulumi/cloudflare");
      const before = ${loaded};
      const workspace = typeof pulumi.automation.LocalWorkspace;
      pulumi.runtime.serializeFunction(() => 42).then((s) => {
        console.log(JSON.stringify({ deferred: deferred.map((f) => f.replace(/.*node_modules\\//, "")), before, workspace, serialized: s.text.includes("42"), after: ${loaded} }));
      });
    `);
    expect(r).toEqual({
      deferred: ["@pulumi/pulumi/automation/index.js", "@pulumi/pulumi/runtime/closure/serializeClosure.js", "@pulumi/pulumi/runtime/closure/codePaths.js", "zod/v4/locales/index.cjs"],
      before: [],
      workspace: "function",
      serialized: true,
      after: ["typescript"], // the closure serializer parses functions with it
    });
  });

  it("stand in with the real modules' exports", async () => {
    const standIns = await node(`
      const { DEFERRED, deferUnusedSdkParts } = require(${JSON.stringify(LAZY)});
      deferUnusedSdkParts([process.cwd()]);
      const out = {};
      for (const [pkg, rel, kind] of DEFERRED) if (kind === "functions") {
        const root = require("path").dirname(require.resolve(pkg + "/package.json"));
        out[rel] = Object.keys(require.cache[require("path").join(root, rel)].exports).filter((k) => k !== "__esModule").sort();
      }
      console.log(JSON.stringify(out));
    `);
    const real = await node(`
      const { DEFERRED } = require(${JSON.stringify(LAZY)});
      const out = {};
      for (const [pkg, rel, kind] of DEFERRED) if (kind === "functions") {
        const m = require(pkg + "/" + rel);
        out[rel] = Object.keys(m).filter((k) => k !== "__esModule").sort();
        if (out[rel].some((k) => typeof m[k] !== "function")) out[rel].push("(not all functions)");
      }
      console.log(JSON.stringify(out));
    `);
    expect(standIns).toEqual(real);
  });

  it("include zod's locales: not loaded by require('zod'), the same English messages, any locale on first use", async () => {
    const script = (defer: boolean) => `
      ${defer ? `require(${JSON.stringify(LAZY)}).deferUnusedSdkParts([process.cwd()]);` : ""}
      const { z } = require("zod");
      const locales = () => Object.keys(require.cache).filter((f) => /zod\\/v4\\/locales\\/(?!index)/.test(f)).length;
      const before = locales();
      const schema = z.object({ rpoMinutes: z.number().int().min(5), name: z.string().regex(/^[a-z]+$/), mode: z.enum(["full", "incremental"]) });
      const en = schema.safeParse({ rpoMinutes: 2.5, name: "A B", mode: "x" }).error.issues.map((i) => i.message);
      z.config(z.locales.de());
      const de = schema.safeParse({ rpoMinutes: 1 }).error.issues.map((i) => i.message);
      console.log(JSON.stringify({ before, en, de, after: locales() > 1 }));
    `;
    const deferred = (await node(script(true))) as { before: number; en: string[]; de: string[]; after: boolean };
    const whole = (await node(script(false))) as typeof deferred;
    expect(deferred.before).toBe(1); // English only, which zod configures itself
    expect(whole.before).toBeGreaterThan(30);
    expect(deferred.en).toEqual(whole.en);
    expect(deferred.de).toEqual(whole.de);
    expect(deferred.en[0]).toMatch(/expected int/);
    expect(deferred.after).toBe(true);
  });

  it("are not loaded by drposture check's own process (the deferral comes before anything loads them)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "drposture-lazy-"));
    try {
      // At exit, what the check's process loaded (the pack's process has its own test above).
      const probe = path.join(dir, "probe.cjs");
      writeFileSync(probe, `if (!process.argv.some((a) => a.includes("run-policy-pack"))) process.on("exit", () => process.stderr.write("LOADED " + JSON.stringify({ heavy: ${loaded}, locales: Object.keys(require.cache).filter((f) => /zod\\/v4\\/locales\\/(?!index)/.test(f)).length }) + "\\n"));`);
      const r = await drposture(["check", "--json", "--stack", "prod"], { env: { NODE_OPTIONS: `--require ${probe}` } });
      expect(r.code).toBe(0);
      const line = r.stderr.split("\n").find((l) => l.startsWith("LOADED "));
      expect(JSON.parse((line ?? "LOADED null").slice(7))).toEqual({ heavy: [], locales: 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("are loaded whole with DRPOSTURE_CHECK_LAZY_SDK=0", async () => {
    const r = await node(`
      const lazy = require(${JSON.stringify(LAZY)});
      if (lazy.lazySdk()) lazy.deferUnusedSdkParts([process.cwd()]);
      require("@pulumi/pulumi");
      console.log(JSON.stringify(${loaded}));
    `, { DRPOSTURE_CHECK_LAZY_SDK: "0" });
    expect(r).toEqual(["@npmcli", "sigstore", "typescript"]);
  });

  it.each(["backup-frequency-meets-rpo", "compliant"])("give the same check verdicts as the whole SDK (hand-written stack %s)", async (stack) => {
    const run = async (lazy: string) => {
      try {
        const { stdout } = await exec(process.execPath, [path.join(ROOT, "cli", "bin.cjs"), "check", "--json", "--cwd", path.join(ROOT, "tests", "fixtures", "handwritten"), "--stack", stack, "--policy-config", path.join(ROOT, "policies", "config", "prod.json")], { cwd: ROOT, env: { ...process.env, DRPOSTURE_CHECK_LAZY_SDK: lazy } });
        return { code: 0, out: stdout };
      } catch (err) {
        const e = err as { code: number; stdout: string };
        return { code: e.code, out: e.stdout };
      }
    };
    const [whole, deferred] = await Promise.all([run("0"), run("1")]);
    expect(deferred).toEqual(whole);
    expect(whole.code).toBe(stack === "compliant" ? 0 : 1);
  });
});
