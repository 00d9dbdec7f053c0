/** Neon down: the independent pg_dump into any Postgres, then the application pointed at it. */
import { restoreCommand } from "../commands";
import type { Ctx } from "../context";
import { mins, sh } from "../markdown";
import { requireVar, shq } from "../shellQuote";
import type { Scenario } from "./scenario";

/** Hyperdrive and the app's own secret: where the application reads its database from. */
export function pointAppAt(urlVariable: string): string[] {
  return [
    requireVar("HYPERDRIVE_ID", "the id of the application's Hyperdrive config (npx wrangler hyperdrive list)"),
    requireVar("APP_WORKER", "the name of the application's Worker"),
    // wrangler hyperdrive update accepts --connection-string (or --origin-host/--origin-port/
    // --database/--origin-user/--origin-password), as hyperdrive create does.
    `npx wrangler hyperdrive update "$HYPERDRIVE_ID" --connection-string="$${urlVariable}"`,
    `npx wrangler hyperdrive get "$HYPERDRIVE_ID"`,
    "# Only if the app also reads the URL from a secret of its own (rename DATABASE_URL to yours):",
    `printf '%s' "$${urlVariable}" | npx wrangler secret put DATABASE_URL --name "$APP_WORKER"`,
  ];
}

function body(c: Ctx): string[] {
  const { p, n, neon } = c;
  if (!neon) return ["This stack declares no Neon project.", ""];
  return [
    "1. Check https://neonstatus.com and the project's console. If Neon is up but the branch is broken, see *bad migration*.",
    `2. If Neon is down beyond the RTO (${mins(neon.rtoMinutes)}): restore the newest independent pg_dump (RPO ${mins(neon.rpoMinutes)}) into any Postgres 15+ (another Neon region, RDS, a container):`,
    "",
    sh([...restoreCommand(p, neon, n), `drposture integrity --stack ${shq(p.stack)} --postgres "$NEW_DATABASE_URL"`]),
    "",
    "3. When the integrity checks pass, point the application at it. Hyperdrive keeps pointing at the old database until it is updated, so update it (its connection string holds the password: run this from a trusted machine, it is visible in the process list meanwhile):",
    "",
    sh([requireVar("NEW_DATABASE_URL", "the connection string of the database restored above"), ...pointAppAt("NEW_DATABASE_URL")]),
    "",
    "4. Run the application's smoke tests.",
    "5. Writes since the dump's source point are not in it (the restore prints the backup's source point): say so in the Identified update. When Neon is back, do not switch back blindly: the new database is now the primary; moving back is a planned migration.",
    "",
  ];
}

export const neonOutage: Scenario = { slug: "neon-outage", title: "Neon outage", body };
