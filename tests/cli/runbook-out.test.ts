/** `runbook --out` into a place it cannot write: one line naming the flag, exit 2, nothing written.
 * `--out x.html` / `--format html`: a standalone page in which config text cannot be markup. */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { runbookHtml } from "../../lib/runbook/html";
import { drposture } from "../helpers/cli";
import { ROOT } from "../helpers/program";

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

  it("under a path whose directory part is a file: one line saying so (not 'does not exist'), exit 2, the file untouched", async () => {
    const file = path.join(dir, "notes.txt");
    writeFileSync(file, "keep me");
    const out = path.join(file, "runbook.md");
    const r = await drposture(["runbook", "--stack", "prod", "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`drposture: --out ${out}: ${file} is a file, not a directory\n`);
    expect(r.stdout).toBe("");
    expect(readFileSync(file, "utf8")).toBe("keep me");
    rmSync(file);
  });

  it("a name ending in a slash (a directory that does not exist): one line about --out, exit 2, nothing created", async () => {
    const out = `${path.join(dir, "newdir")}/`;
    const r = await drposture(["runbook", "--stack", "prod", "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`drposture: --out ${out}: names a directory; name a file, e.g. ${path.join(out, "runbook.md")}\n`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("an empty --out is refused (exit 2), not taken as 'no --out'", async () => {
    const r = await drposture(["runbook", "--stack", "prod", "--out", ""]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`drposture: --out: is empty; name a file, e.g. runbook.md\n`);
    expect(r.stdout).toBe("");
  });

  it("into an existing directory: the runbook, exit 0", async () => {
    const out = path.join(dir, "runbook.md");
    const r = await drposture(["runbook", "--stack", "prod", "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, "utf8")).toContain("# Disaster-recovery runbook: prod (prod)");
    rmSync(out);
  });
});

describe("runbook as HTML", () => {
  it("--out x.html writes a standalone page: tables, code blocks, nothing loaded from elsewhere", async () => {
    const out = path.join(dir, "runbook.html");
    const r = await drposture(["runbook", "--stack", "prod", "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(out, "utf8");
    expect(html.startsWith("<!doctype html>\n")).toBe(true);
    expect(html).toContain("<title>Disaster-recovery runbook: prod</title>");
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`);
    expect(html).toContain('<h2>Scenario: AWS lost (region or account): restore from R2</h2>');
    expect(html).toContain('<pre><code class="language-sh">');
    expect(html).toMatch(/<td><strong>SEV1<\/strong><\/td>\s*<td>All users down, or data lost or exposed<\/td>/);
    expect(html).toContain('<a href="https://status.example.com">https://status.example.com</a>');
    expect(html).not.toMatch(/<(script|img|iframe|link)\b/i);
    rmSync(out);
  });

  it("--format html --scenario prints one scenario's page on stdout; --format markdown wins over the .html name", async () => {
    const r = await drposture(["runbook", "--stack", "staging", "--format", "html", "--scenario", "bad-deploy"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("<title>Disaster-recovery runbook: staging (bad-deploy)</title>");
    expect(r.stdout).toContain("<h2>Scenario: bad deploy</h2>");
    expect(r.stdout).not.toContain("Scenario: Neon outage");
    const out = path.join(dir, "forced.html");
    const m = await drposture(["runbook", "--stack", "staging", "--format", "markdown", "--out", out]);
    expect(m.code, m.stderr).toBe(0);
    expect(readFileSync(out, "utf8").startsWith("# Disaster-recovery runbook: staging (staging)\n")).toBe(true);
    rmSync(out);
  });

  it("a <script> in a contact's name, markup in the other free text: printed as text, inert", async () => {
    const project = path.join(dir, "hostile");
    mkdirSync(project);
    copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
    const doc = YAML.parse(readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, any> };
    doc.config["drposture:incident"] = {
      severities: [{ name: "P0", meaning: '<img src=x onerror="alert(1)">', respondWithinMinutes: 15 }],
      contacts: [{ role: "incident-commander", name: "<script>alert(1)</script>", reach: "[call](javascript:alert(1)) <iframe src=//evil>" }],
      escalation: [{ afterMinutes: 0, to: "<a href=javascript:alert(1)>x</a> | </td></tr></table>" }],
    };
    writeFileSync(path.join(project, "Pulumi.h.yaml"), YAML.stringify(doc));
    const out = path.join(dir, "hostile.html");
    const r = await drposture(["runbook", "--cwd", project, "--stack", "h", "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(out, "utf8");
    expect(html).not.toMatch(/<(script|img|iframe)\b/i);
    expect(html).not.toMatch(/href="javascript:/i);
    expect(html).not.toContain("</td></tr></table> |");
    expect(html).toContain("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>");
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
  });

  it("raw HTML in the Markdown itself is printed as text; links only to http(s), mailto or an anchor; images as their alt text", async () => {
    const html = await runbookHtml(
      '<script>alert(1)</script>\n\nhi <b onclick="x()">b</b> [ok](https://example.com) [bad](javascript:alert(1)) [data](data:text/html,x) ![alt](https://evil.example/x.png)\n\n<div>block</div>',
      "t</title><script>",
    );
    expect(html).not.toMatch(/<(script|b|div|img)\b/i);
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain('<a href="https://example.com">ok</a>');
    expect(html).not.toMatch(/href="(javascript|data):/i);
    expect(html).toContain("<title>t&lt;/title&gt;&lt;script&gt;</title>");
  });

  it("an unknown --scenario with --out: exit 2, nothing written", async () => {
    const out = path.join(dir, "never.html");
    const r = await drposture(["runbook", "--stack", "prod", "--scenario", "region-loss", "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^drposture: --scenario region-loss: unknown scenario; scenarios: neon-outage, /);
    expect(readdirSync(dir)).not.toContain("never.html");
  });
});
