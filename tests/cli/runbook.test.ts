/** The runbook is generated from the posture and names what the program really creates. */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import YAML from "yaml";
import { describe, expect, it } from "vitest";
import { ofType, one, ROOT, runStack } from "../helpers/program";

const exec = promisify(execFile);

describe("drposture runbook", () => {
  it("holds the RTO/RPO table, every scenario with its commands, and the templates", async () => {
    const { stdout } = await exec(process.execPath, [path.join(ROOT, "cli", "bin.cjs"), "runbook", "--stack", "prod"], { cwd: ROOT });
    expect(stdout).toContain("| 2 | kv/sessions | `0f6b1e2d3c4a5b69788776655443322a` | 15 min | 30 min | `*/15 * * * *` |");
    expect(stdout).toContain("| 1 | neon/app | `spring-example-302709` | 1 d | 1 h |");
    for (const heading of ["Neon outage", "bad migration", "accidental deletion", "leaked key or token", "region or account loss", "Incident record", "Post-incident review"]) expect(stdout).toContain(heading);
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
