/**
 * Bad stack config as an operator meets it: every command that loads a stack (posture, check,
 * runbook, drill, backup postgres, backup now) refuses it with exit 2, the config path and what is allowed, and
 * writes nothing. Covers unknown top-level `drposture:` keys (once silently ignored) and names
 * that reach commands, object keys and resource names (once unvalidated: `$(touch ...)` reached
 * the runbook).
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { drposture } from "../helpers/cli";
import { ROOT } from "../helpers/program";

let dir: string;
const marker = () => path.join(dir, "pwned");

/** Writes Pulumi.<stack>.yaml: the prod config with `edit` applied to its `config:` map. */
function stackFile(stack: string, edit: (config: Record<string, any>) => void): void {
  const doc = YAML.parse(readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, any> };
  edit(doc.config);
  writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), YAML.stringify(doc));
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "drposture-stackcfg-"));
  copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  // `check` runs the program itself: the project's, through a link (modules resolve from ROOT).
  symlinkSync(path.join(ROOT, "index.ts"), path.join(dir, "index.ts"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const loaders: Array<[string, (stack: string) => string[]]> = [
  ["posture", (s) => ["posture", "--cwd", dir, "--stack", s]],
  ["check", (s) => ["check", "--cwd", dir, "--stack", s, "--policy-config", path.join(ROOT, "policies", "config", "prod.json")]],
  ["runbook", (s) => ["runbook", "--cwd", dir, "--stack", s, "--out", path.join(dir, `runbook-${s}.md`)]],
  ["drill", (s) => ["drill", "--cwd", dir, "--stack", s, "--report", path.join(dir, `report-${s}`)]],
  ["backup postgres", (s) => ["backup", "postgres", "--cwd", dir, "--stack", s, "--url", "postgres://nobody@127.0.0.1:1/x", "--store", path.join(dir, `store-${s}`)]],
  // The posture is read first: a bad config is named before any request is signed or sent.
  ["backup now", (s) => ["backup", "now", "--cwd", dir, "--stack", s, "--asset", "d1/app-db", "--url", "https://drposture.invalid"]],
];

describe("unknown top-level drposture: keys", () => {
  beforeAll(() =>
    stackFile("typo", (c) => {
      c["drposture:retension"] = c["drposture:retention"];
      delete c["drposture:retention"];
      c["drposture:alertz"] = { emails: [] };
    }),
  );

  it.each(loaders)("%s refuses them with exit 2, naming each key, the likely one and the known ones", async (_name, args) => {
    const r = await drposture(args("typo"));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("drposture:retension: unknown key (did you mean drposture:retention?); known keys: environment, primaryRegion, cloudflare, targets, assets, neon, retention, vault, alerts, alertWebhookUrl, integrity, incident, restoreTesting, sizes, neonApiKey");
    expect(r.stderr).toContain("drposture:alertz: unknown key (did you mean drposture:alerts?)");
    expect(r.stderr).toContain("drposture:retention: is required");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe("");
    expect(existsSync(path.join(dir, "runbook-typo.md"))).toBe(false);
    expect(existsSync(path.join(dir, "report-typo"))).toBe(false);
    expect(existsSync(path.join(dir, "store-typo"))).toBe(false);
  });

  it("a mistyped nested key gets the same hint", async () => {
    stackFile("nested", (c) => {
      c["drposture:neon"].restoreWindowDay = 14;
    });
    const r = await drposture(["posture", "--cwd", dir, "--stack", "nested"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("drposture:neon.restoreWindowDay: unknown key (did you mean drposture:neon.restoreWindowDays?); known keys: projectId, branchId, databaseName,");
  });

  it("keys of other namespaces (aws:region) are not ours to judge", async () => {
    stackFile("other-ns", (c) => {
      c["aws:profile"] = "ops";
    });
    const r = await drposture(["posture", "--cwd", dir, "--stack", "other-ns"]);
    expect(r.code, r.stderr).toBe(0);
  });
});

describe("names that reach commands, object keys and resource names", () => {
  const hostile = "$(touch pwned)";
  const cases: Array<[field: string, edit: (c: Record<string, any>) => void, expected: string]> = [
    ["neon.databaseName", (c) => (c["drposture:neon"].databaseName = hostile), `drposture:neon.databaseName: must be 1-40 characters of a-z, 0-9 and '-', starting with a letter: it also names the pg_dump backup asset (neon/<name> in object keys, --asset), got "$(touch pwned)"`],
    ["neon.databaseName reserved", (c) => (c["drposture:neon"].databaseName = "template1"), `drposture:neon.databaseName: must not be one of Neon's reserved database names (postgres, template0, template1), got "template1"`],
    ["neon.projectId", (c) => (c["drposture:neon"].projectId = "-rf"), `drposture:neon.projectId: must be a Neon project id: 1-60 of a-z, 0-9 and '-', not starting with '-'`],
    ["neon.branchId", (c) => (c["drposture:neon"].branchId = `br-x;${hostile}`), "drposture:neon.branchId: must be a Neon branch id: br- then a-z, 0-9 and '-', at most 60 characters"],
    ["assets.r2[0].bucketName", (c) => (c["drposture:assets"].r2[0].bucketName = `b;${hostile}`), "drposture:assets.r2[0].bucketName: must be a valid R2 bucket name (3-63 of a-z, 0-9, '-', not starting or ending with '-')"],
    ["assets.r2[0].bucketName ending in '-'", (c) => (c["drposture:assets"].r2[0].bucketName = "uploads-"), "drposture:assets.r2[0].bucketName: must be a valid R2 bucket name"],
    ["assets.kv[0].name", (c) => (c["drposture:assets"].kv[0].name = "../sessions"), "drposture:assets.kv[0].name: must be 1-40 characters of a-z, 0-9 and '-', starting with a letter"],
    ["assets.kv[0].namespaceId", (c) => (c["drposture:assets"].kv[0].namespaceId = hostile), "drposture:assets.kv[0].namespaceId: must be the 32-hex KV namespace id"],
    ["assets.d1[0].databaseId", (c) => (c["drposture:assets"].d1[0].databaseId = hostile), "drposture:assets.d1[0].databaseId: must be the D1 database UUID"],
    ["cloudflare.accountId", (c) => (c["drposture:cloudflare"].accountId = hostile), "drposture:cloudflare.accountId: must be the 32-hex Cloudflare account id"],
    ["alerts.emails[0]", (c) => (c["drposture:alerts"].emails = [`a@b.com;${hostile}`]), "drposture:alerts.emails[0]: must be an email address"],
    ["vault.s3Region", (c) => (c["drposture:vault"].s3Region = `eu-west-1;${hostile}`), "drposture:vault.s3Region: must be an AWS region name"],
  ];

  it.each(cases)("%s: runbook exits 2 with the path and what is allowed, runs and writes nothing", async (_field, edit, expected) => {
    stackFile("hostile", edit);
    const out = path.join(dir, "runbook-hostile.md");
    const r = await drposture(["runbook", "--cwd", dir, "--stack", "hostile", "--out", out], { cwd: dir });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(expected);
    expect(r.stdout).toBe("");
    expect(existsSync(out)).toBe(false);
    expect(existsSync(marker())).toBe(false);
  });

  it.each([["../../etc/passwd"], ["-rf"], ["prod;id"], ["a".repeat(101)]])("--stack %s is refused before a file is opened", async (stack) => {
    const r = await drposture(["runbook", "--cwd", dir, "--stack", stack]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--stack ${JSON.stringify(stack)}: must be 1-100 characters of A-Z, a-z, 0-9, '_', '.' and '-', not starting with '-'`);
    expect(r.stdout).toBe("");
  });
});
