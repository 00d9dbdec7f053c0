/**
 * The runbook's ```sh blocks are pasted into a terminal during an incident, so every one of them
 * must parse (bash -n, always), lint clean (shellcheck -S warning, when installed: `npm test`'s
 * setup installs it) and pass each value from the stack config to its command as one literal
 * argument, whatever that value holds. Renderings: the CLI for prod and staging, the CLI on a
 * stack with odd-but-valid names and hostile-but-valid incident free text, and the generator on
 * a posture that skipped validation and holds shell metacharacters (quoting must hold on its
 * own). Blocks are then run with stub commands on PATH that record their arguments: nothing is
 * executed but the stubs, every placeholder is checked before use, and the values arrive intact.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { derivePosture, parsePosture } from "../../lib/posture/model";
import type { PostureConfig } from "../../lib/posture/schema";
import { generateRunbook } from "../../lib/runbook/runbook";
import { shq } from "../../lib/runbook/shellQuote";
import { drposture } from "../helpers/cli";
import { ROOT } from "../helpers/program";

const HAS_SHELLCHECK = spawnSync("shellcheck", ["--version"]).status === 0;
// Every command a block may run besides shell builtins, date and printf.
const STUBS = ["drposture", "pulumi", "npx", "jq", "aws", "psql", "gh", "git", "npm"];

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
  expect(blocks.length).toBeGreaterThanOrEqual(25);
  for (const block of blocks) {
    expect(bashParses(block), block).toBe("");
    if (HAS_SHELLCHECK) expect(shellcheckFindings(block), block).toBe("");
  }
}

/** Runs every block under `bash -eu` with stubs first on PATH, every placeholder a block checks
 * (`: "${VAR:?...}"`) set as an operator would; returns each stub call's argv. */
function runWithStubs(markdown: string, tag: string): string[][] {
  const bin = path.join(dir, `bin-${tag}`);
  const log = path.join(dir, `calls-${tag}.log`);
  const work = path.join(dir, `work-${tag}`);
  mkdirSync(bin, { recursive: true });
  mkdirSync(work, { recursive: true });
  // Stubs log their argv in one write (both ends of a pipe run at once); `pulumi stack output`
  // and jq print a value, as the real ones would.
  const stub = `#!/bin/bash\nrec="\${0##*/}"; for a in "$@"; do rec+=$'\\x1f'"$a"; done\nprintf '%s\\x1e' "$rec" >> "$STUB_LOG"\n[ "$1 $2" = "stack output" ] || [ "\${0##*/}" = jq ] && echo stub-output\nexit 0\n`;
  for (const s of STUBS) {
    writeFileSync(path.join(bin, s), stub);
    chmodSync(path.join(bin, s), 0o755);
  }
  for (const block of shBlocks(markdown)) {
    const vars = Object.fromEntries([...block.matchAll(/\$\{([A-Z][A-Z0-9_]*):\?/g)].map((m) => [m[1] as string, `value-of-${m[1]}`]));
    const r = spawnSync("bash", ["-eu", "-c", block], { cwd: work, encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin`, STUB_LOG: log, ...vars } });
    expect(r.status, `${r.stderr}\n${block}`).toBe(0);
  }
  expect(existsSync(path.join(work, "PWNED"))).toBe(false);
  return readFileSync(log, "utf8").split("\x1e").filter(Boolean).map((c) => c.split("\x1f"));
}

/** Cells of a Markdown table row, split at the pipes that are not backslash-escaped. */
const cells = (line: string) => line.replace(/\\\\/g, "").split(/(?<!\\)\|/).length - 2;

/** Every table keeps as many cells per row as its header: free text cannot add or end one. */
function tablesIntact(markdown: string): void {
  let width: number | undefined;
  for (const line of markdown.split("\n")) {
    if (!line.startsWith("| ")) {
      width = undefined;
      continue;
    }
    width ??= cells(line);
    expect(cells(line), line).toBe(width);
  }
}

describe("runbook sh blocks", () => {
  it.skipIf(HAS_SHELLCHECK)("shellcheck is not installed: only bash -n runs (apt-get install shellcheck)", () => undefined);

  it.each(["prod", "staging"])("the CLI's runbook for %s: every block parses, lints clean and runs, each placeholder checked before use", async (stack) => {
    const r = await drposture(["runbook", "--stack", stack]);
    expect(r.code, r.stderr).toBe(0);
    checkBlocks(r.stdout);
    tablesIntact(r.stdout);
    const calls = runWithStubs(r.stdout, stack);
    expect(calls.some((c) => c[0] === "npx" && c[1] === "wrangler" && c[2] === "d1" && c[3] === "time-travel")).toBe(true);
  });

  it("the CLI's runbook for odd-but-valid names and hostile-but-valid incident text: every block parses and lints clean, tables intact", async () => {
    const project = path.join(dir, "project");
    mkdirSync(project);
    copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
    const doc = YAML.parse(readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, any> };
    doc.config["drposture:neon"].databaseName = "x-1";
    doc.config["drposture:assets"].kv[0].name = "a";
    // The declared sizes follow the asset's new name (a size for an asset the stack lacks is refused).
    const kvSizes = doc.config["drposture:sizes"].kv;
    kvSizes.a = kvSizes.sessions;
    delete kvSizes.sessions;
    const hostile = `"; $(touch PWNED) \`touch PWNED\` | <script>alert(1)</script> **x** [y](javascript:alert(1)) \\ '`;
    doc.config["drposture:incident"] = {
      severities: [{ name: "SEV-1_a", meaning: hostile, respondWithinMinutes: 5 }],
      contacts: [{ role: "scribe", name: hostile, reach: hostile }, { role: "x-team", name: "| a | b |", reach: "```" }],
      escalation: [{ afterMinutes: 0, to: hostile }],
      statusPage: "https://status.example.com/a_b*c(d)",
    };
    const stack = "Odd_Stack.v2-";
    writeFileSync(path.join(project, `Pulumi.${stack}.yaml`), YAML.stringify(doc));
    const out = path.join(dir, "odd.md");
    const r = await drposture(["runbook", "--cwd", project, "--stack", stack, "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(out, "utf8");
    expect(text).toContain(`--stack ${stack} `);
    checkBlocks(text);
    tablesIntact(text);
    // Free text is in tables only, escaped; never in a shell block.
    expect(text).toContain("\\<script\\>alert\\(1\\)\\</script\\>");
    for (const block of shBlocks(text)) expect(block).not.toContain("alert(1)");
  });

  it("a stack with one KV namespace and no Neon: every scenario still renders, blocks parse, lint clean and run", () => {
    const p = parsePosture(
      { environment: "dev", primaryRegion: "us-east-1", cloudflare: { accountId: "4b3f2f0e9c1d4a7e8f6a5b4c3d2e1f09" }, targets: { rpoMinutes: 60, rtoMinutes: 240 }, assets: { kv: [{ name: "flags", namespaceId: "9a8b7c6d5e4f30211203948576a6b7c8" }] }, retention: { daily: 7, weekly: 4, monthly: 3 }, vault: { s3Region: "us-west-2" } },
      "dev",
    );
    const text = generateRunbook(p, new Date("2026-01-01T00:00:00Z"));
    expect(text).toContain("This stack declares no Neon project.");
    const blocks = shBlocks(text);
    expect(blocks.length).toBeGreaterThanOrEqual(10);
    for (const block of blocks) {
      expect(bashParses(block), block).toBe("");
      if (HAS_SHELLCHECK) expect(shellcheckFindings(block), block).toBe("");
    }
    runWithStubs(text, "kv-only");
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
      incident: {
        contacts: [{ role: "scribe", name: `${evil("name")}\n| forged | row |`, reach: evil("reach") }],
        escalation: [{ afterMinutes: 0, to: `${evil("to")}\u2028\`\`\`sh\ntouch PWNED\n\`\`\`` }],
        statusPage: `https://x.example.com/"><script>alert(1)</script>\n\`\`\`sh\ntouch PWNED`,
      },
    } as unknown as PostureConfig;
    const markdown = () => generateRunbook(derivePosture(cfg, values.stack), new Date("2026-01-01T00:00:00Z"));

    it("every block parses and lints clean, and free text neither forges a table row nor opens a block", () => {
      checkBlocks(markdown());
      tablesIntact(markdown());
      expect(markdown()).not.toContain("https://x.example.com");
      for (const block of shBlocks(markdown())) expect(block).not.toMatch(/^touch PWNED$/m);
    });

    it("run with stub commands, every block executes nothing else and passes each value as one argument", () => {
      const calls = runWithStubs(markdown(), "hostile");
      const argsAfter = (flag: string) => calls.flatMap((c) => c.flatMap((a, i) => (a === flag ? [c[i + 1] as string] : [])));
      const upper = (v: string) => v.toUpperCase().replace(/[^A-Z0-9]/g, "_");
      expect(calls.length).toBeGreaterThan(40);
      expect(new Set(argsAfter("--stack"))).toEqual(new Set([values.stack, `${values.stack}-rebuild`]));
      expect(new Set(argsAfter("--asset").filter((a) => !a.startsWith("value-of-")))).toEqual(new Set([values.d1, values.kv, values.r2, values.neonDb, `d1/${values.d1}`, `kv/${values.kv}`, `r2/${values.r2}`]));
      expect(new Set(argsAfter("--key-escrow-region"))).toEqual(new Set([values.region]));
      expect(new Set(argsAfter("--region"))).toEqual(new Set([values.region]));
      expect(new Set(argsAfter("--store"))).toEqual(new Set([`s3://stub-output?region=${values.region}`, `r2://${values.account}/stub-output`]));
      expect(new Set(argsAfter("--project"))).toEqual(new Set([values.project]));
      expect(new Set(argsAfter("--to").filter((t) => !t.startsWith("file:") && !t.startsWith("value-of-")))).toEqual(
        new Set([
          values.branch,
          `r2://${values.account}/value-of-NEW_R2_BUCKET_${upper(values.r2)}`,
          `r2://${values.account}/acme-uploads`,
          `r2://value-of-NEW_ACCOUNT_ID/value-of-NEW_R2_BUCKET_${upper(values.r2)}`,
        ]),
      );
      expect(argsAfter("--namespace-id")).toContain(values.kvId);
      // jq --arg id <the D1 database id>: the lookup by id.
      expect(new Set(calls.flatMap((c) => c.flatMap((a, i) => (a === "--arg" ? [`${c[i + 1]}=${c[i + 2]}`] : []))))).toEqual(new Set(["id=6f1c2b7e-2d4a-4c1e-9b3f-8a7d6c5e4f31"]));
      // The D1 name comes from the lookup, never from the asset name.
      const timeTravel = calls.filter((c) => c.slice(0, 4).join(" ") === "npx wrangler d1 time-travel");
      expect(timeTravel.map((c) => c[5])).toEqual(["stub-output"]);
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
