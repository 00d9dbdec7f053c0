/** Bad migration: look at a Neon branch as of before it, then cut over; D1 Time Travel. */
import { backupNow, d1NameLookup } from "../commands";
import type { Ctx } from "../context";
import { sh } from "../markdown";
import { requireVar, shq } from "../shellQuote";
import type { Scenario } from "./scenario";

const BEFORE = requireVar("BEFORE_MIGRATION", "a time just before the migration, e.g. 2026-01-01T12:00:00Z");

function neonPart(c: Ctx): string[] {
  const { p, neon } = c;
  if (!neon || !p.neon) return [];
  const project = shq(p.neon.projectId);
  const branch = shq(p.neon.branchId);
  return [
    `Neon keeps ${p.neon.restoreWindowDays} days of history. Pick a time just before the migration ran (the \`schema_migrations\` row's timestamp). First look, touching nothing: a new branch as of that time, with its own endpoint, checked with the integrity queries:`,
    "",
    sh([
      requireVar("NEON_API_KEY", "a Neon API key with access to the project"),
      BEFORE,
      "export NEON_API_KEY",
      `INSPECT_URL=$(drposture restore neon --project ${project} --to ${branch} --from "$BEFORE_MIGRATION" --new-branch "before-migration-$(date -u +%Y%m%dT%H%M%SZ)" --show-password)`,
      `drposture integrity --stack ${shq(p.stack)} --postgres "$INSPECT_URL"`,
    ]),
    "",
    "If that branch is the state to go back to, cut over: restore the production branch in place at the same time. Its current state is kept as a branch named `pre-restore-...`, so the cutover can be undone:",
    "",
    sh([
      requireVar("NEON_API_KEY", "a Neon API key with access to the project"),
      requireVar("BEFORE_MIGRATION", "the same time as above"),
      "export NEON_API_KEY",
      `drposture restore neon --project ${project} --to ${branch} --from "$BEFORE_MIGRATION" --validate-only`,
      `drposture restore neon --project ${project} --to ${branch} --from "$BEFORE_MIGRATION"`,
    ]),
    "",
    "Delete the inspection branch in the Neon console once it is no longer needed.",
    "",
  ];
}

function d1Part(c: Ctx): string[] {
  const { p, byKind } = c;
  const d1 = byKind("d1");
  if (!d1.length) return [];
  return [
    "D1: within 30 days, Cloudflare's Time Travel restores a database in place. `wrangler d1 time-travel restore` takes the database *name*, and the stack config holds its id, so the name is looked up by id first. Take an on-demand backup before, so the state being replaced stays restorable by drposture too (Time Travel also prints the bookmark to undo it):",
    "",
    ...d1.flatMap((a) => {
      const name = `D1_NAME_${a.name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
      return [`- ${a.id}:`, "", sh([BEFORE, ...backupNow(p, [a]), ...d1NameLookup(a, name), `npx wrangler d1 time-travel restore "$${name}" --timestamp="$BEFORE_MIGRATION"`]), ""];
    }),
    "Older than 30 days, or if the database is gone: restore the last backup before the migration (`--from <time>`) into a new database (see *Cloudflare account lost* for the commands).",
    "",
  ];
}

/** Prevention first: a backup of every Worker-backed asset just before a risky migration. */
function beforeRiskyChange(c: Ctx): string[] {
  const cf = c.p.assets.filter((a) => a.kind !== "neon");
  if (!cf.length) return [];
  return ["Before a risky migration, take a backup of each asset it touches (it waits for the committed backup and prints its id: note it, it is the `--from` to go back to):", "", sh(backupNow(c.p, cf)), ""];
}

export const badMigration: Scenario = {
  slug: "bad-migration",
  title: "bad migration (point-in-time restore)",
  body: (c) => [...beforeRiskyChange(c), ...neonPart(c), ...d1Part(c)],
};
