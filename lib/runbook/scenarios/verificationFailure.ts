/**
 * A backup fails verification (a REJECTED manifest, a hash mismatch), or the watchdog says a
 * backup shrank (item count or size down by more than half against the previous one:
 * `backup-shrank`) or slowed (more than 3x the median duration of the last 10: `backup-slow`).
 * Each is a possible attack as much as a bug: nothing is deleted, the other copy and older
 * backups are checked, and the source is looked at before the next backup replaces history.
 */
import { keyOptions, r2ReaderLogin, restorerLogin } from "../commands";
import type { Ctx } from "../context";
import { sh } from "../markdown";
import { requireVar } from "../shellQuote";
import type { Scenario } from "./scenario";

function verifyBoth(c: Ctx): string[] {
  const { p, n } = c;
  const esc = keyOptions(p, n);
  return [
    "**Verification failed** (`drposture verify` or `list` exit 1, a `REJECTED` row, a restore that skipped a manifest). Treat it as possible tampering until shown otherwise: do not delete or overwrite anything, note the backup ids and reasons in the incident record. Verify the same asset in the other copy, reading every byte:",
    "",
    sh([
      requireVar("ASSET", "the asset name, e.g. app-db"),
      ...restorerLogin(p),
      `drposture verify --asset "$ASSET" --store ${n.s3} ${esc} --read-data 100`,
      ...r2ReaderLogin(p),
      `drposture verify --asset "$ASSET" --store ${n.r2} ${esc} --read-data 100`,
      `drposture list --asset "$ASSET" --store ${n.r2} ${esc} --json`,
    ]),
    "",
    "- Only one copy fails: restore from the other (`--store` of the good copy); the bad objects stay as evidence. The lock keeps them until their retention ends.",
    "- Both fail for the newest backup only: pick the newest older one that verifies, by id or by time (`--from <backupId>` or `--from <ISO time>`: candidates are verified newest first and failures are named on stderr), and restore with `--validate-only` first.",
    "- A manifest whose MAC fails was not written with this key: someone wrote into the bucket with a writer identity. Rotate the writers (*leaked key*) and read CloudTrail / Cloudflare audit logs for who put the object.",
    "- Anti-rollback refusal (the store's newest verified backup is older than the Worker's sealed pointer): backups were deleted or hidden. Name a backup id to restore anyway (a warning is printed), and investigate as an attack.",
    "",
  ];
}

function shrankOrSlow(c: Ctx): string[] {
  const { p, n } = c;
  const esc = keyOptions(p, n);
  return [
    "**`backup-shrank`**: a backup's item count or size fell by more than 50% against the previous one (the alert names both numbers). Either the source really lost data (a bug, a bad migration, an attacker emptying it), or the backup read only part of it. Find out which before the next scheduled backups push the good ones down the tiers:",
    "",
    sh([requireVar("ASSET", "the asset name, e.g. app-db"), ...restorerLogin(p), `drposture list --asset "$ASSET" --store ${n.s3} ${esc} --json`]),
    "",
    "- Compare the counts of the last backups with the source now (`SELECT count(*)` per table, `wrangler kv key list`, `wrangler r2 object` listings). If the source is really smaller and should not be: it is *accidental deletion* (or *bad migration*): restore from the last backup before the drop, `--from` its backup id, with `--mode skip`.",
    "- If the source is intact: the backup is incomplete; verify it (`drposture verify --read-data 100`), look at the Worker's logs (`npx wrangler tail`) for errors or limits, and take a new backup with `drposture backup now`. Keep the short one as evidence.",
    "",
    "**`backup-slow`**: a backup took more than 3x the median duration of the last 10. Not data loss by itself, but a sign of a source that grew suddenly (bulk import, abuse), throttling, or queue retries. Check the source's size trend in `drposture list` and the Worker's logs; if it keeps growing, the RPO is at risk: raise it with the commander.",
    "",
  ];
}

export const verificationFailure: Scenario = {
  slug: "verification-failure",
  title: "backup fails verification, shrank or slowed",
  body: (c) => [...verifyBoth(c), ...shrankOrSlow(c)],
};
