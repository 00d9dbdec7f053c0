/** Workers outage: the backup Worker does not run, so backups stop. What still protects the
 * data, what to take by hand, and how to see that backups are back. */
import { backupNow, d1NameLookup, s3Copy, targetVariable } from "../commands";
import type { Ctx } from "../context";
import { mins, sh } from "../markdown";
import { requireVar, shq } from "../shellQuote";
import type { Scenario } from "./scenario";

function stillProtected(c: Ctx): string[] {
  const { p } = c;
  const shortest = p.assets.filter((a) => a.kind !== "neon").sort((a, b) => a.rpoMinutes - b.rpoMinutes)[0];
  return [
    "Check https://www.cloudflarestatus.com. While Workers is down the backup Worker's crons do not fire: no D1, KV or R2 backup is taken and its own watchdog does not run. Still protecting the data meanwhile:",
    "",
    "- the committed backups in both buckets (locked; nothing the outage can touch);",
    "- D1 Time Travel (30 days, kept by D1 itself, not by a Worker);",
    ...(p.neon ? [`- Neon's point-in-time restore (${p.neon.restoreWindowDays} days) and the nightly pg_dump, which runs on GitHub Actions, not on Workers;`] : []),
    "- the S3 staleness alarms (CloudWatch, outside Cloudflare): they fire when an asset's newest backup is older than its RPO, so expect them, and they confirm the gap.",
    "",
    ...(shortest ? [`Every hour of outage adds to the data at risk of the shortest-RPO asset (${shortest.id}, RPO ${mins(shortest.rpoMinutes)}). If the outage outlasts the RPOs, take copies by hand:`, ""] : []),
  ];
}

function manualCopies(c: Ctx): string[] {
  const { p, n, byKind } = c;
  const d1 = byKind("d1");
  const lines: string[] = [];
  if (d1.length) {
    lines.push(
      "D1 exports through Cloudflare's API (not the Workers runtime); the file is plain SQL, unencrypted: keep it on an encrypted disk and delete it once the Worker's backups are back. It restores with `npx wrangler d1 execute NAME --remote --file FILE`:",
      "",
      sh(d1.flatMap((a) => {
        const name = targetVariable("D1_NAME", a);
        return [...d1NameLookup(a, name), `npx wrangler d1 export "$${name}" --remote --output ${shq(`${a.name}-manual.sql`)}`];
      })),
      "",
    );
  }
  if (c.neon) {
    lines.push(
      "An extra pg_dump into both buckets, as the nightly workflow does (writer identities, the key from the escrow):",
      "",
      sh([
        requireVar("NEON_DATABASE_URL", "the connection string of the Neon database"),
        requireVar("DRPOSTURE_ENCRYPTION_KEY", "the data-encryption key (hex), from the escrow or the offline copy"),
        `R2_ACCESS_KEY_ID=$(pulumi stack output r2WriterAccessKeyId --stack ${shq(p.stack)})`,
        `R2_SECRET_ACCESS_KEY=$(pulumi stack output r2WriterSecretAccessKey --show-secrets --stack ${shq(p.stack)})`,
        `AWS_ACCESS_KEY_ID=$(pulumi stack output writerAccessKeyId --stack ${shq(p.stack)})`,
        `AWS_SECRET_ACCESS_KEY=$(pulumi stack output writerSecretAccessKey --show-secrets --stack ${shq(p.stack)})`,
        "export DRPOSTURE_ENCRYPTION_KEY R2_ACCESS_KEY_ID R2_SECRET_ACCESS_KEY AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY",
        `drposture backup postgres --stack ${shq(p.stack)} --url "$NEON_DATABASE_URL" --store ${n.r2} --store ${n.s3}`,
      ]),
      "",
    );
  }
  lines.push("KV and R2 have no export that does not go through a Worker or their APIs key by key; their data stays in Cloudflare's storage, which a Workers outage does not touch.", "");
  return lines;
}

function recovered(c: Ctx): string[] {
  const { p, n } = c;
  const cf = p.assets.filter((a) => a.kind !== "neon");
  const src = s3Copy(p, n);
  return [
    "When Workers is back: take a backup of every asset at once rather than waiting for the crons, then confirm that each has a new committed backup and that the staleness alarms have cleared:",
    "",
    sh([...backupNow(p, cf), `drposture list --store ${src.store} ${src.key}`]),
    "",
    "Delete the manual D1 exports.",
    "",
  ];
}

export const workersOutage: Scenario = {
  slug: "workers-outage",
  title: "Workers outage (backups stop)",
  body: (c) => [...stillProtected(c), ...manualCopies(c), ...recovered(c)],
};
