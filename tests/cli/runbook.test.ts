/** The runbook is generated from the posture and names what the program really creates. */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import YAML from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { drposture } from "../helpers/cli";
import { ofType, one, ROOT, runStack } from "../helpers/program";

const exec = promisify(execFile);

describe("drposture runbook", () => {
  it("holds the RTO/RPO table, every scenario with its commands, and the templates", async () => {
    const { stdout } = await exec(process.execPath, [path.join(ROOT, "cli", "bin.cjs"), "runbook", "--stack", "prod"], { cwd: ROOT });
    expect(stdout).toContain("| 2 | kv/sessions | `0f6b1e2d3c4a5b69788776655443322a` | 15 min | 30 min | `*/15 * * * *` |");
    expect(stdout).toContain("| 1 | neon/app | `spring-example-302709` | 1 d | 1 h |");
    for (const heading of ["Neon outage", "bad migration", "accidental deletion", "leaked key or token", "AWS lost", "Cloudflare account lost", "Incident record", "Post-incident review"]) expect(stdout).toContain(heading);
    expect(stdout).toContain("drposture restore neon --project spring-example-302709 --to br-wispy-meadow-a5k2x9qe --from");
    expect(stdout).toContain("--only user:1234: --mode skip");
    // Bad migration: look first on a new branch (integrity-checked), then cut over in place.
    const migration = stdout.slice(stdout.indexOf("## Scenario: bad migration"), stdout.indexOf("## Scenario: accidental deletion"));
    expect(migration).toMatch(/--from "\$BEFORE_MIGRATION" --new-branch "before-migration-[^"]*" --show-password\)\ndrposture integrity --stack prod --postgres "\$INSPECT_URL"/);
    expect(migration.indexOf("--new-branch")).toBeLessThan(migration.indexOf('--from "$BEFORE_MIGRATION" --validate-only'));
    // One user's rows: a branch at the time before the deletion, rows copied back without touching what exists.
    const deletion = stdout.slice(stdout.indexOf("## Scenario: accidental deletion"), stdout.indexOf("## Scenario: leaked"));
    expect(deletion).toContain('--from "$BEFORE_DELETION" --new-branch "recover-');
    expect(deletion).toContain("INSERT INTO $TABLE SELECT * FROM recovered ON CONFLICT DO NOTHING");
    expect(stdout).toContain("Neon restore window: 14 days");

    // Names in the runbook are the names the program gives the resources.
    const run = await runStack("prod");
    const users = ofType(run.mocks.resources, "aws:iam/user:User").map((u) => u.inputs.name as string);
    for (const u of ["drp-drposture-prod-writer", "drp-drposture-prod-verifier", "drp-drposture-prod-restorer"]) {
      expect(users).toContain(u);
      expect(stdout).toContain(u);
    }
    const escrow = one(run.mocks.resources, "aws:secretsmanager/secret:Secret").inputs.name as string;
    expect(stdout).toContain(`--key-escrow ${escrow.slice(0, escrow.lastIndexOf("/"))} `);
    expect(stdout).toContain(one(run.mocks.resources, "cloudflare:index/workersScript:WorkersScript").inputs.scriptName as string);
    // The rotation commands read URNs from the `credentialUrns` output, which names the real resources.
    expect(stdout).toContain(`--replace "$(pulumi stack output credentialUrns --stack prod --json | jq -r .s3Writer)"`);
    expect(stdout).toContain(`--replace "$(pulumi stack output credentialUrns --stack prod --json | jq -r .r2Writer)"`);
    const urns = run.outputs.credentialUrns as Record<string, string>;
    const urnOf = (type: string, suffix: string) => run.registrations.find((r) => r.type === type && r.name.endsWith(suffix))?.urn;
    expect(urns.s3Writer).toBe(urnOf("aws:iam/accessKey:AccessKey", "-access-writer-key"));
    expect(urns.r2Writer).toBe(urnOf("cloudflare:index/accountToken:AccountToken", "-access-r2-writer"));
    expect(urns.s3Restorer).toBe(urnOf("aws:iam/accessKey:AccessKey", "-access-restorer-key"));
  });

  it("the nightly pg_dump workflow runs on the prod Neon asset's backup cron", async () => {
    const wf = YAML.parse(readFileSync(path.join(ROOT, ".github", "workflows", "pg-backup.yml"), "utf8"));
    const run = await runStack("prod");
    const table = run.outputs.rpoRtoTable as Array<{ asset: string; backupCron: string }>;
    expect(wf.on.schedule[0].cron).toBe(table.find((r) => r.asset === "neon/app")?.backupCron);
    // ...and writes to the prod S3 bucket's region.
    expect(JSON.stringify(wf.jobs["pg-backup"].steps)).toContain(`?region=${run.outputs.s3Region as string}`);
  });
});

/** The text of one `## ` section, from its heading to the next. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}`);
  expect(start, `no section ${heading}`).toBeGreaterThanOrEqual(0);
  const end = markdown.indexOf("\n## ", start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

const shBlocks = (markdown: string) => [...markdown.matchAll(/^```sh\n([\s\S]*?)\n```$/gm)].map((m) => m[1] as string);

const SLUGS = ["neon-outage", "bad-migration", "accidental-deletion", "leaked-key", "aws-lost", "cloudflare-lost", "workers-outage", "verification-failure", "partial-restore", "bad-deploy"];

describe("drposture runbook: incident response and every scenario (issue 11)", () => {
  let prod: string;
  beforeAll(async () => {
    const r = await drposture(["runbook", "--stack", "prod"]);
    expect(r.code, r.stderr).toBe(0);
    prod = r.stdout;
  });

  it("renders the stack's drposture:incident: severities, contacts per role, escalation, status page in the templates", () => {
    const incident = section(prod, "Incident response");
    expect(incident).toContain("| **SEV1** | All users down, or data lost or exposed | 15 min |");
    expect(incident).toContain("| **SEV4** | No user impact now | 1 d |");
    expect(incident).toMatch(/\| \*\*incident-commander\*\* \| owns the incident[^|]*\| Platform on-call \\\(primary\\\) \| PagerDuty service "platform-prod" \|/);
    expect(incident).toContain("| incident-commander (backup) |  | Dana Whitfield | +1 555 0100, Slack @dana |");
    expect(incident).toContain("| **security** |  | Security on-call | security@example.com |");
    expect(incident).toContain("| T+10 min | Secondary on-call and the incident commander |");
    expect(incident).toContain("| T+1 h | CTO |");
    for (const status of ["Investigating", "Identified", "Monitoring", "Resolved"]) expect(incident).toMatch(new RegExp(`\\[${status}\\][^\\n]* Follow updates at https://status\\.example\\.com\\.`));
    expect(incident).not.toContain("default levels");
    const review = section(prod, "Post-incident review");
    expect(review).toContain("within **48 hours**");
    for (const part of ["Timeline", "Impact", "Root cause", "RTO and RPO achieved vs target", "Follow-ups"]) expect(review).toContain(part);
    expect(review).toContain("| kv/sessions | 30 min |  | 15 min |  |  |");
  });

  it("staging, with only a commander declared: the default P0-P3 levels and T+0/10/30/60 escalation, the missing roles said so", async () => {
    const r = await drposture(["runbook", "--stack", "staging"]);
    expect(r.code, r.stderr).toBe(0);
    const incident = section(r.stdout, "Incident response");
    expect(incident).toContain("| **P0** | Critical path down for all users, or data lost or exposed | 15 min |");
    expect(incident).toContain("| **P3** | Minor issue without user impact now | 1 d |");
    expect([...incident.matchAll(/^\| (T\+[^|]*) \|/gm)].map((m) => m[1]?.trim())).toEqual(["T+0", "T+10 min", "T+30 min", "T+1 h"]);
    expect(incident).toMatch(/\| \*\*scribe\*\* \|[^\n]*not declared/);
    expect(incident).toContain("declare the page in `drposture:incident.statusPage`");
  });

  it("every scenario has its stable slug, and --scenario prints the header and that scenario alone", async () => {
    const headings = [...prod.matchAll(/^## Scenario: .*\n\n`drposture runbook --scenario ([a-z-]+)`$/gm)].map((m) => m[1]);
    expect(headings).toEqual(SLUGS);
    for (const slug of ["aws-lost", "partial-restore"]) {
      const r = await drposture(["runbook", "--stack", "prod", "--scenario", slug]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain("## Targets and restore order");
      expect(r.stdout).toContain("### Before any disaster: the offline key copy");
      expect([...r.stdout.matchAll(/^`drposture runbook --scenario ([a-z-]+)`$/gm)].map((m) => m[1])).toEqual([slug]);
      expect(r.stdout).not.toContain("## Incident response");
    }
  });

  it("an unknown --scenario is exit 2 naming the valid ones (and the likely one), before reading the stack", async () => {
    const r = await drposture(["runbook", "--stack", "no-such-stack", "--scenario", "aws-lots"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`drposture: --scenario aws-lots: unknown scenario (did you mean aws-lost?); scenarios: ${SLUGS.join(", ")}\n`);
    expect(r.stdout).toBe("");
  });

  it("D1 Time Travel restores the database by the name looked up from its id, not by the asset name", () => {
    const migration = section(prod, "Scenario: bad migration");
    expect(migration).toContain(`D1_NAME_APP_DB=$(npx wrangler d1 list --json | jq -r --arg id 6f1c2b7e-2d4a-4c1e-9b3f-8a7d6c5e4f31 '.[] | select(.uuid == $id) | .name')`);
    expect(migration).toContain('npx wrangler d1 time-travel restore "$D1_NAME_APP_DB" --timestamp="$BEFORE_MIGRATION"');
    expect(migration).not.toMatch(/time-travel restore app-db/);
    // An on-demand backup first, through the documented interface.
    expect(migration.indexOf("drposture backup now --asset d1/app-db --stack prod")).toBeLessThan(migration.indexOf("npx wrangler d1 time-travel restore"));
  });

  it("one user's Postgres rows from the dump: the backup before the deletion, not the latest", () => {
    const deletion = section(prod, "Scenario: accidental deletion");
    expect(deletion).toMatch(/drposture restore postgres --asset app --from "\$BEFORE_DELETION" --to "\$SCRATCH_DATABASE_URL" [^\n]* --only "\$TABLE"/);
    expect(deletion).not.toMatch(/restore \w+ [^\n]*--from latest/);
    // ...and D1, KV and R2 go back into the live resources with --mode skip.
    expect(deletion).toContain('npx wrangler d1 execute "$D1_NAME_APP_DB" --remote --file app-db.sql');
    expect(deletion).toContain("--to r2://4b3f2f0e9c1d4a7e8f6a5b4c3d2e1f09/acme-user-uploads ");
  });

  it("aws-lost reads only the R2 copy with the offline key file: no s3:// store, no key escrow, no AWS call", () => {
    const blocks = shBlocks(section(prod, "Scenario: AWS lost"));
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    const text = blocks.join("\n");
    expect(text).not.toContain("s3://");
    expect(text).not.toContain("--key-escrow");
    expect(text).not.toMatch(/\baws /);
    for (const line of text.split("\n").filter((l) => /^(R2_ACCESS_KEY_ID=\S+ R2_SECRET_ACCESS_KEY=\S+ )?drposture (restore|list|verify)/.test(l))) {
      expect(line).toMatch(/--store r2:\/\/4b3f2f0e9c1d4a7e8f6a5b4c3d2e1f09\/"\$\(pulumi stack output r2BackupBucket --stack prod\)" --key-file "\$OFFLINE_KEY_FILE"/);
    }
    expect(text).toContain("drposture restore postgres --asset app");
    // The copy it needs is made beforehand, from the escrow, and checked against R2.
    const copy = prod.slice(prod.indexOf("### Before any disaster: the offline key copy"), prod.indexOf("## Incident response"));
    expect(copy).toMatch(/aws secretsmanager get-secret-value [^\n]*\| jq -r \.keyHex > "\$KEY_FILE"/);
    expect(copy).toContain('--key-file "$KEY_FILE" --read-data 1');
  });

  it("cloudflare-lost restores from S3 with the escrow into the new account", () => {
    const text = shBlocks(section(prod, "Scenario: Cloudflare account lost")).join("\n");
    expect(text).toContain("pulumi stack init prod-rebuild");
    expect(text).toContain('--to r2://"$NEW_ACCOUNT_ID"/"$NEW_R2_BUCKET_USER_UPLOADS"');
    for (const line of text.split("\n").filter((l) => / drposture restore |^drposture restore /.test(l))) expect(line).toContain("--key-escrow drposture/prod/data-encryption-key");
    expect(text).not.toContain("--store r2://");
  });

  it("neon-outage updates Hyperdrive and the app's secret; bad-deploy rolls back with wrangler and pulumi", () => {
    const neon = section(prod, "Scenario: Neon outage");
    expect(neon).toContain('npx wrangler hyperdrive update "$HYPERDRIVE_ID" --connection-string="$NEW_DATABASE_URL"');
    expect(neon).toContain(`printf '%s' "$NEW_DATABASE_URL" | npx wrangler secret put DATABASE_URL --name "$APP_WORKER"`);
    const deploy = section(prod, "Scenario: bad deploy");
    expect(deploy).toContain('npx wrangler deployments list --name "$APP_WORKER"');
    expect(deploy).toContain('npx wrangler rollback --name "$APP_WORKER"');
    expect(deploy).toContain("pulumi up --stack prod");
  });

  it("leaked-key sets every secret of the nightly workflows that a rotation changes, by the names the workflows read", () => {
    const secretsOf = (file: string) => [...readFileSync(path.join(ROOT, ".github", "workflows", file), "utf8").matchAll(/secrets\.([A-Z0-9_]+)/g)].map((m) => m[1] as string);
    const used = new Set([...secretsOf("pg-backup.yml"), ...secretsOf("pg-restore-test.yml")]);
    const leaked = section(prod, "Scenario: leaked key");
    const set = new Set([...leaked.matchAll(/gh secret set ([A-Z0-9_]+) --repo "\$GITHUB_REPO"/g)].map((m) => m[1]));
    expect(set).toEqual(used);
    for (const urn of ["s3Writer", "s3Verifier", "s3Restorer", "r2Writer", "r2Reader"]) expect(leaked).toContain(`jq -r .${urn})"`);
    expect(leaked).toContain("- [ ] session and JWT signing keys");
  });

  it("workers-outage and verification-failure: manual copies, backup now, the other copy, backup-shrank and backup-slow", () => {
    const workers = section(prod, "Scenario: Workers outage");
    expect(workers).toContain('npx wrangler d1 export "$D1_NAME_APP_DB" --remote --output app-db-manual.sql');
    expect(workers).toMatch(/drposture backup postgres --stack prod --url "\$NEON_DATABASE_URL" --store r2:[^\n]* --store s3:/);
    expect(workers).toContain("DRPOSTURE_TRIGGER_KEY=$(pulumi stack output backupTriggerKey --show-secrets --stack prod)");
    for (const a of ["d1/app-db", "kv/feature-flags", "kv/sessions", "r2/user-uploads"]) expect(workers).toContain(`drposture backup now --asset ${a} --stack prod`);
    const verification = section(prod, "Scenario: backup fails verification");
    expect(verification).toMatch(/drposture verify --asset "\$ASSET" --store s3:[^\n]*--read-data 100/);
    expect(verification).toMatch(/drposture verify --asset "\$ASSET" --store r2:[^\n]*--read-data 100/);
    for (const alert of ["`backup-shrank`", "`backup-slow`", "more than 50%", "3x the median"]) expect(verification).toContain(alert);
  });
});
