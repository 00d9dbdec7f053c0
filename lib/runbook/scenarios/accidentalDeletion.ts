/** Accidental deletion, including one user's data: selective restores that touch nothing existing. */
import { restoreCommand } from "../commands";
import type { Ctx } from "../context";
import { sh } from "../markdown";
import { requireVar, shq } from "../shellQuote";
import type { Scenario } from "./scenario";

const FROM = { variable: "BEFORE_DELETION", what: "the time just before the deletion, e.g. 2026-01-01T12:00:00Z" };

function cloudflareAssets(c: Ctx): string[] {
  const { p, n } = c;
  return p.assets
    .filter((x) => x.kind !== "neon")
    .flatMap((a) => {
      const only = a.kind === "d1" ? "users" : a.kind === "kv" ? "user:1234:" : "avatars/1234";
      return [`- ${a.id} (\`--only\` ${a.kind === "d1" ? "a table" : "a key prefix"}):`, "", sh(restoreCommand(p, a, n, { from: FROM, extra: ` --only ${shq(only)} --mode skip`, live: true })), ""];
    });
}

function neonBranch(c: Ctx): string[] {
  const { p, neon } = c;
  if (!neon || !p.neon) return [];
  return [
    `- ${neon.id}, within Neon's ${p.neon.restoreWindowDays}-day window: a new branch as of just before the deletion, then only the lost rows copied back (\`ON CONFLICT DO NOTHING\`: rows that exist now are left as they are). Delete the branch in the Neon console afterwards:`,
    "",
    sh([
      requireVar("NEON_API_KEY", "a Neon API key with access to the project"),
      requireVar(FROM.variable, FROM.what),
      requireVar("TABLE", "the table, e.g. orders"),
      requireVar("ROWS", "the WHERE condition that selects the lost rows"),
      requireVar("DATABASE_URL", "the connection string of the production database"),
      "export NEON_API_KEY",
      `RECOVER_URL=$(drposture restore neon --project ${shq(p.neon.projectId)} --to ${shq(p.neon.branchId)} --from "$BEFORE_DELETION" --new-branch "recover-$(date -u +%Y%m%dT%H%M%SZ)" --show-password)`,
      ...copyRowsBack("RECOVER_URL"),
    ]),
    "",
  ];
}

/** The lost rows from a recovery database into production, leaving existing rows alone. */
function copyRowsBack(sourceVar: string): string[] {
  return [
    `psql "$${sourceVar}" -v ON_ERROR_STOP=1 -c "\\copy (SELECT * FROM $TABLE WHERE $ROWS) TO 'recovered.csv' WITH (FORMAT csv, HEADER)"`,
    `psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -c "CREATE TEMP TABLE recovered (LIKE $TABLE INCLUDING DEFAULTS)" -c "\\copy recovered FROM 'recovered.csv' WITH (FORMAT csv, HEADER)" -c "INSERT INTO $TABLE SELECT * FROM recovered ON CONFLICT DO NOTHING"`,
  ];
}

function neonDump(c: Ctx): string[] {
  const { p, n, neon } = c;
  if (!neon) return [];
  return [
    `- ${neon.id}, older than the window (or without Neon): the last dump before the deletion (\`--from "$BEFORE_DELETION"\`: the newest backup whose source point is at or before it) into a scratch database, then the rows copied back the same way (\`--only TABLE\` restores one table):`,
    "",
    sh([
      requireVar("TABLE", "the table to restore"),
      requireVar("ROWS", "the WHERE condition that selects the lost rows"),
      requireVar("DATABASE_URL", "the connection string of the production database"),
      ...restoreCommand(p, neon, n, { from: FROM, extra: ' --only "$TABLE"', postgresTarget: "SCRATCH_DATABASE_URL" }),
      ...copyRowsBack("SCRATCH_DATABASE_URL"),
    ]),
    "",
  ];
}

export const accidentalDeletion: Scenario = {
  slug: "accidental-deletion",
  title: "accidental deletion (including one user's data)",
  body: (c) => [
    "Restore only what was lost, into the live target with `--mode skip` (nothing existing is touched), from the last backup before the deletion:",
    "",
    ...cloudflareAssets(c),
    ...neonBranch(c),
    ...neonDump(c),
  ],
};
