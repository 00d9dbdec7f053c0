/**
 * lib/policy/lazySdk.cjs defers the Pulumi SDK modules a check never calls (Automation API,
 * closure serializer) to their first use, in the check's process and in the pack's. Each test
 * runs a fresh Node process (this one has the SDK loaded already). What must hold: the heavy
 * modules are not loaded; the deferred ones still work when used; the stand-ins export what the
 * real modules export; and the check's verdicts are the same with the deferral off.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
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
        console.log(JSON.stringify({ deferred: deferred.map((f) => f.replace(/.*@pulumi\\/pulumi\\//, "")), before, workspace, serialized: s.text.includes("42"), after: ${loaded} }));
      });
    `);
    expect(r).toEqual({
      deferred: ["automation/index.js", "runtime/closure/serializeClosure.js", "runtime/closure/codePaths.js"],
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
      const root = require("path").dirname(require.resolve("@pulumi/pulumi/package.json"));
      const out = {};
      for (const [rel, kind] of DEFERRED) if (kind === "functions") out[rel] = Object.keys(require.cache[require("path").join(root, rel)].exports).filter((k) => k !== "__esModule").sort();
      console.log(JSON.stringify(out));
    `);
    const real = await node(`
      const { DEFERRED } = require(${JSON.stringify(LAZY)});
      const out = {};
      for (const [rel, kind] of DEFERRED) if (kind === "functions") {
        const m = require("@pulumi/pulumi/" + rel);
        out[rel] = Object.keys(m).filter((k) => k !== "__esModule").sort();
        if (out[rel].some((k) => typeof m[k] !== "function")) out[rel].push("(not all functions)");
      }
      console.log(JSON.stringify(out));
    `);
    expect(standIns).toEqual(real);
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
