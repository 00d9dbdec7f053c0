/**
 * The runbook's ```sh blocks as they are really used: pasted into an interactive terminal. There
 * a failed `: "${VAR:?...}"` check prints its message and the shell goes on with the next line,
 * and a failing command does not stop the ones after it: the protection the blocks get under
 * `bash -eu` (runbook-shell.test.ts) is gone. Each block run in an interactive bash must make
 * exactly the calls the same block makes under `bash -eu`: with any one placeholder unset,
 * nothing after its check runs; with a validation that fails, the in-place restore after it
 * does not run. The same in an interactive zsh, where `#` is not a comment by default.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { drposture } from "../helpers/cli";

// `date` too: two runs of a block naming a branch after $(date -u ...) must not straddle a
// second boundary (a CI run failed on before-migration-...13Z vs ...14Z).
const STUBS = ["drposture", "pulumi", "npx", "jq", "aws", "psql", "gh", "git", "npm", "date"];
// Installed by `npm test`'s setup (scripts/setup.mjs), as shellcheck is.
const HAS_ZSH = spawnSync("zsh", ["--version"]).status === 0;
type Shell = "bash -eu" | "bash -i" | "zsh -i";

let dir: string;
let markdown: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "drposture-runbook-paste-"));
  const r = await drposture(["runbook", "--stack", "prod"]);
  expect(r.code, r.stderr).toBe(0);
  markdown = r.stdout;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const shBlocks = (md: string): string[] => [...md.matchAll(/^```sh\n([\s\S]*?)\n```$/gm)].map((m) => m[1] as string);

/** Placeholders the operator sets (not the ones a block looks up itself). */
const placeholders = (block: string): string[] => [...new Set([...block.matchAll(/\$\{([A-Z][A-Z0-9_]*):\?set /g)].map((m) => m[1] as string))];

let runs = 0;
/** Runs a block with stubs first on PATH (drposture fails on --validate-only when `failValidation`);
 * `interactive`: fed to an interactive bash on its standard input, as a paste is. Returns the calls. */
function run(block: string, vars: Record<string, string>, o: { shell: Shell; failValidation?: boolean }): string[] {
  const tag = String(runs++);
  const bin = path.join(dir, `bin-${tag}`);
  const work = path.join(dir, `work-${tag}`);
  const log = path.join(dir, `calls-${tag}.log`);
  mkdirSync(bin, { recursive: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(log, "");
  const fail = o.failValidation ? `for a in "$@"; do [ "$a" = --validate-only ] && [ "\${0##*/}" = drposture ] && exit 1; done\n` : "";
  const stub = `#!/bin/bash\nprintf '%s\\n' "\${0##*/} $*" >> "$STUB_LOG"\n${fail}[ "\${0##*/}" = date ] && echo 20260101T000000Z\n[ "$1 $2" = "stack output" ] || [ "\${0##*/}" = jq ] && echo stub-output\nexit 0\n`;
  for (const s of STUBS) {
    writeFileSync(path.join(bin, s), stub);
    chmodSync(path.join(bin, s), 0o755);
  }
  const env = { PATH: `${bin}:/usr/bin:/bin`, STUB_LOG: log, HOME: work, ...vars };
  const r =
    o.shell === "bash -eu"
      ? spawnSync("bash", ["-eu", "-c", block], { cwd: work, encoding: "utf8", env })
      : o.shell === "bash -i"
        ? spawnSync("bash", ["--norc", "--noprofile", "-i"], { cwd: work, encoding: "utf8", env, input: `${block}\n` })
        : spawnSync("zsh", ["-f", "-i"], { cwd: work, encoding: "utf8", env, input: `${block}\n` });
  expect(r.error).toBeUndefined();
  expect(existsSync(path.join(work, "PWNED"))).toBe(false);
  // Sorted: both ends of a pipe run at once, so their order in the log is not fixed.
  return readFileSync(log, "utf8").split("\n").filter(Boolean).sort();
}

describe("runbook blocks pasted into an interactive shell", () => {
  it("with every placeholder set, a paste makes the same calls as bash -eu", () => {
    for (const block of shBlocks(markdown)) {
      const vars = Object.fromEntries(placeholders(block).map((v) => [v, `value-of-${v}`]));
      expect(run(block, vars, { shell: "bash -i" }), block).toEqual(run(block, vars, { shell: "bash -eu" }));
    }
  });

  it.skipIf(!HAS_ZSH)("pasted into an interactive zsh (macOS's shell, comments off): the same calls, set or unset", () => {
    for (const block of shBlocks(markdown)) {
      const names = placeholders(block);
      for (const missing of [null, ...names]) {
        const vars = Object.fromEntries(names.filter((v) => v !== missing).map((v) => [v, `value-of-${v}`]));
        expect(run(block, vars, { shell: "zsh -i" }), `${missing ?? "nothing"} unset:\n${block}`).toEqual(run(block, vars, { shell: "bash -eu" }));
      }
    }
  });

  it("with one placeholder unset, nothing after its check runs: the same calls as bash -eu", () => {
    let checked = 0;
    for (const block of shBlocks(markdown)) {
      const names = placeholders(block);
      for (const missing of names) {
        const vars = Object.fromEntries(names.filter((v) => v !== missing).map((v) => [v, `value-of-${v}`]));
        const pasted = run(block, vars, { shell: "bash -i" });
        expect(pasted, `${missing} unset:\n${block}`).toEqual(run(block, vars, { shell: "bash -eu" }));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it("a failed --validate-only stops the paste before the in-place Neon restore", () => {
    const block = shBlocks(markdown).find((b) => b.includes("--validate-only")) as string;
    const vars = Object.fromEntries(placeholders(block).map((v) => [v, `value-of-${v}`]));
    const pasted = run(block, vars, { shell: "bash -i", failValidation: true });
    expect(pasted.filter((c) => c.startsWith("drposture restore neon"))).toEqual([expect.stringContaining("--validate-only")]);
  });
});

describe("the credentials block and the blocks after it, pasted into one terminal", () => {
  it("every block that reads the S3 copy or the escrow sees the restorer's credentials set by the header's block (blocks are subshells of that shell)", () => {
    const blocks = shBlocks(markdown);
    const login = blocks.find((b) => b.startsWith("AWS_ACCESS_KEY_ID=$(pulumi stack output restorerAccessKeyId"));
    expect(login, "the header sets the restorer's credentials in the operator's shell").toBeDefined();
    expect(login).not.toMatch(/^\(/m);
    const readers = blocks.filter((b) => b !== login && b.includes("--key-escrow") && !b.includes("restorerAccessKeyId"));
    expect(readers.length).toBeGreaterThan(3);
    const bin = mkdtempSync(path.join(dir, "creds-"));
    const log = path.join(bin, "calls.log");
    writeFileSync(path.join(bin, "drposture"), `#!/bin/bash\nprintf 'drposture key=%s %s\\n' "\${AWS_ACCESS_KEY_ID:-}" "$1" >> "$STUB_LOG"\nexit 0\n`);
    for (const s of STUBS.filter((x) => x !== "drposture")) writeFileSync(path.join(bin, s), `#!/bin/bash\n[ "$1 $2" = "stack output" ] && echo "output-of-$3"\nexit 0\n`);
    for (const s of STUBS) chmodSync(path.join(bin, s), 0o755);
    const vars = Object.fromEntries(readers.flatMap(placeholders).map((v) => [v, `value-of-${v}`]));
    const r = spawnSync("bash", ["--norc", "--noprofile", "-i"], { cwd: bin, encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin`, STUB_LOG: log, HOME: bin, ...vars }, input: `${[login, ...readers].join("\n")}\n` });
    expect(r.error).toBeUndefined();
    const calls = readFileSync(log, "utf8").split("\n").filter(Boolean);
    expect(calls.length).toBeGreaterThan(readers.length);
    for (const c of calls) expect(c).toMatch(/^drposture key=output-of-restorerAccessKeyId /);
  });
});
