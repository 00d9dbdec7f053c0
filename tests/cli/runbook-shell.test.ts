/**
 * The runbook's ```sh blocks are pasted into a terminal during an incident, so every one of them
 * must parse (bash -n, always), lint clean (shellcheck -S warning, when installed: `npm test`'s
 * setup installs it) and pass each value from the stack config to its command as one literal
 * argument, whatever that value holds. Two renderings: the CLI on a stack with odd-but-valid
 * names, and the generator on a posture that skipped validation and holds shell metacharacters
 * (quoting must hold on its own). The hostile blocks are then run with stub commands on PATH
 * that record their arguments: nothing is executed but the stubs, and the values arrive intact.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { derivePosture } from "../../lib/posture/model";
import type { PostureConfig } from "../../lib/posture/schema";
import { generateRunbook } from "../../lib/runbook/runbook";
import { shq } from "../../lib/runbook/shellQuote";
import { drposture } from "../helpers/cli";
import { ROOT } from "../helpers/program";

const HAS_SHELLCHECK = spawnSync("shellcheck", ["--version"]).status === 0;
const STUBS = ["drposture", "pulumi", "npx", "jq", "aws", "psql"];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "drposture-runbook-sh-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function shBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)\n```$/gm)].map((m) => m[1] as string);
}

function bashParses(block: string): string {
  const r = spawnSync("bash", ["-n"], { input: block, encoding: "utf8" });
  return r.status === 0 ? "" : r.stderr;
}

function shellcheckFindings(block: string): string {
  const r = spawnSync("shellcheck", ["-S", "warning", "-s", "bash", "-"], { input: block, encoding: "utf8" });
  return r.status === 0 ? "" : r.stdout;
}

function checkBlocks(markdown: string): void {
  const blocks = shBlocks(markdown);
  expect(blocks.length).toBeGreaterThanOrEqual(8);
  for (const block of blocks) {
    expect(bashParses(block), block).toBe("");
    if (HAS_SHELLCHECK) expect(shellcheckFindings(block), block).toBe("");
  }
}

describe("runbook sh blocks", () => {
  it.skipIf(HAS_SHELLCHECK)("shellcheck is not installed: only bash -n runs (apt-get install shellcheck)", () => undefined);

  it("the CLI's runbook for odd-but-valid names: every block parses and lints clean", async () => {
    const project = path.join(dir, "project");
    mkdirSync(project);
    copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
    const doc = YAML.parse(readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, any> };
    doc.config["drposture:neon"].databaseName = "x-1";
    doc.config["drposture:assets"].kv[0].name = "a";
    const stack = "Odd_Stack.v2-";
    writeFileSync(path.join(project, `Pulumi.${stack}.yaml`), YAML.stringify(doc));
    const out = path.join(dir, "odd.md");
    const r = await drposture(["runbook", "--cwd", project, "--stack", stack, "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(out, "utf8");
    expect(text).toContain(`--stack ${stack} `);
    checkBlocks(text);
  });

  describe("a posture holding shell metacharacters (validation bypassed)", () => {
    const evil = (tag: string) => `${tag}'$(touch PWNED)\`touch PWNED\`"; touch PWNED #&|<>*?~!{a,b}\\`;
    const values = {
      stack: evil("stack"),
      region: evil("region"),
      account: evil("acct"),
      d1: evil("d1"),
      kv: evil("kv"),
      kvId: evil("kvid"),
      r2: evil("r2"),
      neonDb: evil("db"),
      project: evil("proj"),
      branch: evil("br"),
    };
    const cfg = {
      environment: "prod",
      primaryRegion: "us-east-1",
      cloudflare: { accountId: values.account },
      targets: { rpoMinutes: 60, rtoMinutes: 240 },
      assets: {
        d1: [{ name: values.d1, databaseId: "6f1c2b7e-2d4a-4c1e-9b3f-8a7d6c5e4f31" }],
        kv: [{ name: values.kv, namespaceId: values.kvId }],
        r2: [{ name: values.r2, bucketName: "acme-uploads" }],
      },
      neon: { projectId: values.project, branchId: values.branch, databaseName: values.neonDb, restoreWindowDays: 14, snapshotHourUtc: 3, plan: "scale", snapshots: { daily: 7, weekly: 3, monthly: 0 }, rpoMinutes: 1440, priority: 1 },
      retention: { daily: 35, weekly: 12, monthly: 12 },
      vault: { s3Region: values.region, r2Jurisdiction: "default" },
      alerts: { emails: [], webhookFormat: "generic", cloudflareWebhook: false },
    } as unknown as PostureConfig;
    const markdown = () => generateRunbook(derivePosture(cfg, values.stack), new Date("2026-01-01T00:00:00Z"));

    it("every block parses and lints clean", () => {
      checkBlocks(markdown());
    });

    it("run with stub commands, every block executes nothing else and passes each value as one argument", () => {
      const bin = path.join(dir, "bin");
      const log = path.join(dir, "calls.log");
      mkdirSync(bin, { recursive: true });
      const stub = `#!/bin/bash\n{ printf '%s' "\${0##*/}"; for a in "$@"; do printf '\\x1f%s' "$a"; done; printf '\\x1e'; } >> "$STUB_LOG"\n[ "$1 $2" = "stack output" ] && echo stub-output\nexit 0\n`;
      for (const s of STUBS) {
        writeFileSync(path.join(bin, s), stub);
        chmodSync(path.join(bin, s), 0o755);
      }
      const work = path.join(dir, "work");
      mkdirSync(work, { recursive: true });
      for (const block of shBlocks(markdown())) {
        // Every placeholder the block checks (`: "${VAR:?...}"`) is set, as an operator would.
        const vars = Object.fromEntries([...block.matchAll(/\$\{([A-Z][A-Z0-9_]*):\?/g)].map((m) => [m[1] as string, `value-of-${m[1]}`]));
        const r = spawnSync("bash", ["-eu", "-c", block], { cwd: work, encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin`, STUB_LOG: log, ...vars } });
        expect(r.status, `${r.stderr}\n${block}`).toBe(0);
      }
      expect(existsSync(path.join(work, "PWNED"))).toBe(false);
      const calls = readFileSync(log, "utf8").split("\x1e").filter(Boolean).map((c) => c.split("\x1f"));
      const argsAfter = (flag: string) => calls.flatMap((c) => c.flatMap((a, i) => (a === flag ? [c[i + 1] as string] : [])));
      expect(calls.length).toBeGreaterThan(20);
      expect(new Set(argsAfter("--stack"))).toEqual(new Set([values.stack, `${values.stack}-rebuild`]));
      expect(new Set(argsAfter("--asset"))).toEqual(new Set([values.d1, values.kv, values.r2, values.neonDb]));
      expect(new Set(argsAfter("--key-escrow-region"))).toEqual(new Set([values.region]));
      expect(new Set(argsAfter("--store"))).toEqual(new Set([`s3://stub-output?region=${values.region}`]));
      expect(new Set(argsAfter("--project"))).toEqual(new Set([values.project]));
      expect(new Set(argsAfter("--to").filter((t) => !t.startsWith("file:") && !t.startsWith("value-of-")))).toEqual(
        new Set([values.branch, `r2://${values.account}/value-of-NEW_R2_BUCKET_${values.r2.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`]),
      );
      expect(argsAfter("--namespace-id")).toContain(values.kvId);
    });
  });
});

describe("shq", () => {
  it.each([["plain-name_1.2:/x@y%z+=,", "plain-name_1.2:/x@y%z+=,"], ["", "''"], ["it's", "'it'\\''s'"], ["$(x) `y` \"z\"", "'$(x) `y` \"z\"'"], ["a\nb", "'a\nb'"]])("%j -> %s", (input, quoted) => {
    expect(shq(input)).toBe(quoted);
    // ...and the shell reads it back as the same single argument.
    expect(execFileSync("bash", ["-c", `printf '%s' ${quoted}`], { encoding: "utf8" })).toBe(input);
  });
});
