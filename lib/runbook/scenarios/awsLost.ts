/**
 * AWS lost (a region or the whole account): the S3 copy, the key escrow in Secrets Manager and
 * the restorer identity are gone with it. Everything reads the R2 copy with the R2 reader's
 * credentials and the key from the offline copy (offlineKey.ts says where it lives).
 */
import { OFFLINE_KEY_FILE, r2Copy, r2ReaderLogin, restoreCommand } from "../commands";
import type { Ctx } from "../context";
import { sh } from "../markdown";
import { requireVar, shq } from "../shellQuote";
import { pointAppAt } from "./neonOutage";
import type { Scenario } from "./scenario";

function body(c: Ctx): string[] {
  const { p, n, neon } = c;
  const source = r2Copy(n);
  const keyVar = requireVar(OFFLINE_KEY_FILE, "the path of the offline key copy for the backups key id");
  return [
    `The S3 copy in ${p.vault.s3Region}, the key escrow and the restorer identity are unreachable: every command below reads the **R2 copy** with the R2 reader's credentials and the key from the **offline copy** (\`--key-file\`). Pulumi state must not live in the lost AWS account (use Pulumi Cloud or another backend); without it, read the bucket name from \`npx wrangler r2 bucket list\`.`,
    "",
    "1. Fetch the offline key file (made as in *Before any disaster: the offline key copy* above) for the key id the backups name (a rotation leaves several files: the newest backups need the newest), and check that it opens the R2 copy:",
    "",
    sh([...r2ReaderLogin(p), keyVar, `drposture list --store ${source.store} ${source.key}`, `drposture verify --store ${source.store} ${source.key} --read-data 10`]),
    "",
    ...(neon
      ? [
          `2. Neon runs on AWS (primary region ${p.primaryRegion}). If it is down with it, restore the nightly dump from R2 into a Postgres outside the lost region or provider, then point the application at it:`,
          "",
          sh([...r2ReaderLogin(p), keyVar, ...restoreCommand(p, neon, n, { source }), ...pointAppAt("NEW_DATABASE_URL")]),
          "",
        ]
      : []),
    "3. D1, KV and R2 live on Cloudflare and are untouched. If they were damaged as well, the same R2 copy restores them:",
    "",
    sh([...r2ReaderLogin(p), keyVar, ...p.assets.filter((a) => a.kind !== "neon").flatMap((a) => restoreCommand(p, a, n, { source }))]),
    "",
    `4. Re-establish the second copy: move the vault to a region (or account) that works, e.g. \`pulumi config set --path drposture:vault.s3Region <region> --stack ${shq(p.stack)}\` (it must differ from primaryRegion), \`pulumi up\`, then \`drposture backup now\` each asset so the new S3 copy holds a backup at once. Until then only R2 holds backups: say so in the incident record.`,
    "",
  ];
}

export const awsLost: Scenario = { slug: "aws-lost", title: "AWS lost (region or account): restore from R2", body };
