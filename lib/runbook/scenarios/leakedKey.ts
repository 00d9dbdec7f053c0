/**
 * Leaked key or token: rotate (each credential is a Pulumi resource: `pulumi up --replace`),
 * hand the new values to whatever holds copies (the nightly GitHub workflows), then audit.
 */
import { restorerLogin } from "../commands";
import type { Ctx } from "../context";
import { sh } from "../markdown";
import { requireVar, shq } from "../shellQuote";
import type { Scenario } from "./scenario";

/** The `credentialUrns` output's entries, one per DR identity. */
const CREDENTIALS = ["s3Writer", "s3Verifier", "s3Restorer", "r2Writer", "r2Reader"] as const;

/** The secrets of .github/workflows/pg-backup.yml and pg-restore-test.yml that come from stack
 * outputs (a test keeps this list equal to the workflows'). */
export const WORKFLOW_SECRETS_FROM_OUTPUTS: ReadonlyArray<{ secret: string; output: string; sensitive: boolean }> = [
  { secret: "R2_WRITER_ACCESS_KEY_ID", output: "r2WriterAccessKeyId", sensitive: false },
  { secret: "R2_WRITER_SECRET_ACCESS_KEY", output: "r2WriterSecretAccessKey", sensitive: true },
  { secret: "S3_WRITER_ACCESS_KEY_ID", output: "writerAccessKeyId", sensitive: false },
  { secret: "S3_WRITER_SECRET_ACCESS_KEY", output: "writerSecretAccessKey", sensitive: true },
  { secret: "S3_RESTORER_ACCESS_KEY_ID", output: "restorerAccessKeyId", sensitive: false },
  { secret: "S3_RESTORER_SECRET_ACCESS_KEY", output: "restorerSecretAccessKey", sensitive: true },
];
/** The workflows' other secrets: set by hand from where they are made. */
export const WORKFLOW_SECRETS_BY_HAND = ["NEON_DATABASE_URL", "DRPOSTURE_ENCRYPTION_KEY", "ALERT_WEBHOOK_URL"] as const;

/** The stack the workflows back up and test (`--stack prod` in both). */
const WORKFLOW_STACK = "prod";

function rotateIdentities(c: Ctx): string[] {
  const stack = shq(c.p.stack);
  return [
    "Rotate first, investigate second. Each DR credential is a Pulumi resource; replacing it issues a new one and revokes the old. The stack output `credentialUrns` names each one. Replace the leaked one (or all, if unsure):",
    "",
    sh(CREDENTIALS.map((k) => `pulumi up --stack ${stack} --replace "$(pulumi stack output credentialUrns --stack ${stack} --json | jq -r .${k})"`)),
    "",
    "The Neon API key (used by `pulumi up` for the restore window and snapshots): create a new key in the Neon console, revoke the old one, then:",
    "",
    sh([requireVar("NEW_NEON_API_KEY", "the new Neon API key"), `pulumi config set --secret drposture:neonApiKey "$NEW_NEON_API_KEY" --stack ${stack}`, `pulumi up --stack ${stack}`]),
    "",
    `The data-encryption key (escrowed at \`${c.n.escrow}/<keyId>\`): replacing it makes new backups use a new key id; old backups keep needing the old key, which stays in its own secret. Make a new offline copy afterwards (*Before any disaster: the offline key copy*):`,
    "",
    sh([
      `DATA_KEY_URN=$(pulumi stack export --stack ${stack} | jq -r '.deployment.resources[] | select(.type == "random:index/randomBytes:RandomBytes" and (.urn | endswith("-data-key"))) | .urn')`,
      `pulumi up --stack ${stack} --replace "$DATA_KEY_URN"`,
    ]),
    "",
  ];
}

/** The nightly pg_dump and weekly restore-test workflows hold copies of the rotated values. */
function workflowSecrets(c: Ctx): string[] {
  if (c.p.stack !== WORKFLOW_STACK) return [`The GitHub workflows (pg-backup.yml, pg-restore-test.yml) back up and test the ${WORKFLOW_STACK} stack; ${c.p.stack}'s rotations need nothing there.`, ""];
  const stack = shq(c.p.stack);
  const escrowId = `${c.n.escrow}/`;
  return [
    "The nightly pg_dump workflow (`.github/workflows/pg-backup.yml`) and the weekly restore test (`pg-restore-test.yml`) hold copies as repository secrets: set the new values, or the next run fails (or, worse, keeps using a leaked key). `gh secret set` reads the value from stdin, so it never appears on a command line:",
    "",
    sh([
      requireVar("GITHUB_REPO", "the repository running the workflows, as OWNER/NAME"),
      ...WORKFLOW_SECRETS_FROM_OUTPUTS.map((s) => `pulumi stack output ${s.output}${s.sensitive ? " --show-secrets" : ""} --stack ${stack} | gh secret set ${s.secret} --repo "$GITHUB_REPO"`),
      "# After replacing the data-encryption key: the new key, from the escrow, as the restorer.",
      ...restorerLogin(c.p),
      `KEY_ID=$(pulumi stack output encryptionKeyId --stack ${stack})`,
      `aws secretsmanager get-secret-value --region ${shq(c.p.vault.s3Region)} --secret-id ${shq(escrowId)}"$KEY_ID" --query SecretString --output text | jq -r .keyHex | gh secret set DRPOSTURE_ENCRYPTION_KEY --repo "$GITHUB_REPO"`,
      "# After resetting the Neon role's password (Neon console), and after a new alert webhook URL:",
      requireVar("NEW_NEON_DATABASE_URL", "the new connection string of the Neon database"),
      `printf '%s' "$NEW_NEON_DATABASE_URL" | gh secret set NEON_DATABASE_URL --repo "$GITHUB_REPO"`,
      `pulumi config get drposture:alertWebhookUrl --stack ${stack} | gh secret set ALERT_WEBHOOK_URL --repo "$GITHUB_REPO"`,
    ]),
    "",
  ];
}

export const leakedKey: Scenario = {
  slug: "leaked-key",
  title: "leaked key or token",
  body: (c) => [
    ...rotateIdentities(c),
    ...workflowSecrets(c),
    "The application's own secrets are not in the DR stack; rotate each that may have leaked, in its own system, then `npx wrangler secret put NAME` on the application's Worker:",
    "",
    "- [ ] the database role's password (Neon console: reset password), then Hyperdrive (`npx wrangler hyperdrive update ID --origin-password`) and any `DATABASE_URL` secret",
    "- [ ] session and JWT signing keys (every session is signed out)",
    "- [ ] third-party API keys (payments, email, storage) and webhook signing secrets",
    "- [ ] Cloudflare API tokens used by CI to deploy (dashboard: My Profile > API Tokens: roll)",
    "- [ ] OAuth client secrets",
    "",
    `Then audit: AWS CloudTrail for the IAM users (\`${c.n.writer}\`, \`${c.n.verifier}\`, \`${c.n.restorer}\`) and the key escrow's GetSecretValue calls; Cloudflare audit logs for the account tokens and the Workers; GitHub's audit log for the repository's secrets. The writer cannot delete or unlock backups: a leak of it cannot destroy them, but check for backups it wrote that the Worker did not (\`drposture verify\`).`,
    "",
  ],
};
