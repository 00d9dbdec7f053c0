/** Cloudflare account lost: rebuild in a new account from the S3 copy and the AWS key escrow. */
import { restoreCommand, restorerLogin, s3Copy } from "../commands";
import type { Ctx } from "../context";
import { sh } from "../markdown";
import { requireVar, shq } from "../shellQuote";
import type { Scenario } from "./scenario";

const NEW_ACCOUNT = requireVar("NEW_ACCOUNT_ID", "the id of the new Cloudflare account (32 hex)");

function body(c: Ctx): string[] {
  const { p, n } = c;
  const rebuilt = `${p.stack}-rebuild`;
  const cf = p.assets.filter((a) => a.kind !== "neon");
  return [
    `The Cloudflare account (\`${p.accountId}\`) is gone or locked: the R2 copy, the backup Worker and the application's D1, KV and R2 with it. The **S3 copy** in ${p.vault.s3Region} and the key escrow in AWS Secrets Manager are intact. Neon is not on Cloudflare: only Hyperdrive, which lived in the lost account, must be recreated in the new one.`,
    "",
    "1. A new Cloudflare account, with an API token for Wrangler and Pulumi. Then a new stack of the DR posture pointing at it (its backups go to a new R2 bucket; the S3 copy stays where it is):",
    "",
    sh([
      NEW_ACCOUNT,
      `pulumi stack init ${shq(rebuilt)}`,
      `pulumi config cp --stack ${shq(p.stack)} --dest ${shq(rebuilt)}`,
      `pulumi config set --path drposture:cloudflare.accountId "$NEW_ACCOUNT_ID" --stack ${shq(rebuilt)}`,
    ]),
    "",
    "2. Create the empty resources in the new account (`npx wrangler d1 create NAME`, `npx wrangler kv namespace create NAME`, `npx wrangler r2 bucket create NAME`), put their ids into the new stack's `drposture:assets`, and `pulumi up` it. Then restore each asset, in order, from S3 with the key escrow (Wrangler acts on the new account through `CLOUDFLARE_ACCOUNT_ID`):",
    "",
    sh([
      NEW_ACCOUNT,
      ...restorerLogin(p),
      `pulumi up --stack ${shq(rebuilt)}`,
      "export CLOUDFLARE_ACCOUNT_ID=\"$NEW_ACCOUNT_ID\"",
      ...cf.flatMap((a) => restoreCommand(p, a, n, { source: s3Copy(p, n), r2Account: 'r2://"$NEW_ACCOUNT_ID"/' })),
    ]),
    "",
    "3. Recreate Hyperdrive (`npx wrangler hyperdrive create NAME --connection-string=...` to the Neon database) and the application's secrets in the new account, deploy the application, move DNS, and run the integrity checks and smoke tests.",
    `4. Backups of the new stack start with its crons; \`drposture backup now\` each asset (with \`--stack ${shq(rebuilt)}\`) to have one at once.`,
    "",
  ];
}

export const cloudflareLost: Scenario = { slug: "cloudflare-lost", title: "Cloudflare account lost: rebuild from S3", body };
