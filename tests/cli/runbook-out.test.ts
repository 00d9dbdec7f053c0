/** `runbook --out` into a place it cannot write: one line naming the flag, exit 2, nothing written. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { drposture } from "../helpers/cli";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "drposture-runbook-out-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("runbook --out", () => {
  it("into a missing directory: one line, exit 2, nothing created", async () => {
    const out = path.join(dir, "missing", "runbook.md");
    const r = await drposture(["runbook", "--stack", "prod", "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`drposture: --out ${out}: directory ${path.dirname(out)} does not exist (create it first)\n`);
    expect(r.stdout).toBe("");
    expect(readdirSync(dir)).toEqual([]);
  });

  it("onto a directory: one line, exit 2", async () => {
    const r = await drposture(["runbook", "--stack", "prod", "--out", dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`drposture: --out ${dir}: is a directory; name a file, e.g. ${path.join(dir, "runbook.md")}\n`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("into an existing directory: the runbook, exit 0", async () => {
    const out = path.join(dir, "runbook.md");
    const r = await drposture(["runbook", "--stack", "prod", "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, "utf8")).toContain("# Disaster-recovery runbook: prod (prod)");
    rmSync(out);
  });
});
