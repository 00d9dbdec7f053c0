/**
 * The weekly pg_dump restore test (.github/workflows/pg-restore-test.yml, issue #10 item 3).
 * GitHub Actions does not run here, so this holds the workflow to what can be checked: it runs
 * weekly on the prod stack's S3 copy and Neon asset, reads only with the restorer identity, its
 * shell steps parse and lint clean with no `${{ }}` spliced into them (script injection), every
 * drposture flag it uses exists, and a failure is posted to the alert webhook.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { drposture } from "../helpers/cli";
import { ROOT, runStack } from "../helpers/program";

interface Step {
  name?: string;
  run?: string;
  if?: string;
  uses?: string;
}
const FILE = path.join(ROOT, ".github", "workflows", "pg-restore-test.yml");
const wf = YAML.parse(readFileSync(FILE, "utf8")) as {
  on: { schedule: Array<{ cron: string }> };
  jobs: Record<string, { defaults?: { run?: { shell?: string } }; services: Record<string, { image: string }>; env: Record<string, string>; steps: Step[] }>;
};
const job = wf.jobs["pg-restore-test"]!;
const runs = job.steps.filter((s): s is Step & { run: string } => typeof s.run === "string");
let outputs: Record<string, unknown>;

beforeAll(async () => {
  outputs = (await runStack("prod")).outputs;
});

function hasShellcheck(): boolean {
  try {
    execFileSync("shellcheck", ["--version"]);
    return true;
  } catch {
    return false;
  }
}

describe("weekly pg_dump restore test workflow", () => {
  it("runs weekly on the prod stack's S3 copy, restoring its Neon asset into a PostgreSQL 15 service", () => {
    const [minute, hour, dom, month, dow] = wf.on.schedule[0]!.cron.split(" ");
    expect([minute, hour, dom, month].every((f) => f !== undefined)).toBe(true);
    expect(dow).toMatch(/^[0-6]$/);
    expect(job.services.postgres?.image).toBe("postgres:15");
    expect(job.env.S3_REGION).toBe(outputs.s3Region);
    const restore = runs.find((s) => s.run.includes("drposture restore postgres"))!.run;
    const neon = (outputs.rpoRtoTable as Array<{ asset: string }>).find((r) => r.asset.startsWith("neon/"))!.asset.slice("neon/".length);
    expect(restore).toContain(`--asset ${neon} --from latest`);
    expect(runs.find((s) => s.run.includes("drposture integrity"))!.run).toContain('--postgres "$RESTORE_URL"');
  });

  it("reads with the restorer identity only; no writer credential appears", () => {
    const text = readFileSync(FILE, "utf8");
    expect(job.env.AWS_ACCESS_KEY_ID).toBe("${{ secrets.S3_RESTORER_ACCESS_KEY_ID }}");
    expect(text).not.toMatch(/WRITER/i);
  });

  it("posts a failure to the alert webhook", () => {
    const report = job.steps.find((s) => s.if === "failure()");
    expect(report?.run).toMatch(/curl .*"\$ALERT_WEBHOOK_URL"/);
  });

  it("a failure anywhere in a pipeline fails its step (shell: bash runs with pipefail)", () => {
    expect(runs.some((s) => s.run.includes("| tee"))).toBe(true);
    expect(job.defaults?.run?.shell).toBe("bash");
  });

  it("every run step parses, lints clean and takes values from the environment, never from ${{ }}", () => {
    for (const s of runs) {
      expect(s.run, s.name).not.toContain("${{");
      execFileSync("bash", ["-n"], { input: s.run });
      if (hasShellcheck()) execFileSync("shellcheck", ["-S", "warning", "-s", "bash", "-"], { input: s.run });
    }
  });

  it("every drposture flag it uses exists", async () => {
    const commands = runs.flatMap((s) => [...s.run.replace(/\\\n/g, " ").matchAll(/npx drposture ([a-z]+(?: [a-z]+)?)\s([^|\n]*)/g)]);
    expect(commands.length).toBe(2);
    for (const [, command, args] of commands) {
      const help = (await drposture([...(command as string).split(" "), "--help"])).stdout;
      for (const flag of (args as string).match(/--[a-z-]+/g) ?? []) expect(help, `${command} ${flag}`).toContain(flag);
    }
  });
});
