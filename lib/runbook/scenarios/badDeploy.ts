/** Bad deploy: the application Worker rolled back by Wrangler; the backup Worker by Pulumi. */
import { backupNow } from "../commands";
import type { Ctx } from "../context";
import { sh } from "../markdown";
import { requireVar, shq } from "../shellQuote";
import type { Scenario } from "./scenario";

function body(c: Ctx): string[] {
  const { p, n } = c;
  return [
    "The application's Worker: roll back to the last version that served all traffic (`wrangler rollback` without a version id picks it, and shows it before asking). A rollback does not roll back D1, KV, R2 or Neon: if the deploy ran a migration or wrote bad data, continue with *bad migration* or *accidental deletion*.",
    "",
    sh([
      requireVar("APP_WORKER", "the name of the application's Worker"),
      'npx wrangler deployments list --name "$APP_WORKER"',
      'npx wrangler rollback --name "$APP_WORKER" --message "incident: rollback of a bad deploy"',
      "# Or to a given version (ids from the list above):",
      requireVar("GOOD_VERSION_ID", "the id of the version to go back to"),
      'npx wrangler rollback "$GOOD_VERSION_ID" --name "$APP_WORKER" --message "incident: rollback of a bad deploy"',
    ]),
    "",
    `The backup Worker (\`${n.worker}\`) is deployed by Pulumi from this repository: roll it back by deploying the previous commit, not with wrangler (Pulumi would put the bad version back at the next \`pulumi up\`). Then take a backup at once to check it works:`,
    "",
    sh([
      requireVar("GOOD_COMMIT", "the last commit whose backup Worker worked"),
      'git switch --detach "$GOOD_COMMIT"',
      "npm ci",
      `pulumi preview --stack ${shq(p.stack)}`,
      `pulumi up --stack ${shq(p.stack)}`,
      ...backupNow(p, p.assets.filter((a) => a.kind !== "neon").slice(0, 1)),
    ]),
    "",
    "Then revert the bad commit on the main branch and return to it (`git switch -`).",
    "",
  ];
}

export const badDeploy: Scenario = { slug: "bad-deploy", title: "bad deploy", body };
