/**
 * The commands the runbook prints, built from the posture with every value shell-quoted.
 * Placeholders the operator fills in are shell variables (NEW_D1_DATABASE, BEFORE_DELETION...),
 * each checked by a `: "${VAR:?...}"` line so that a block never runs with one left empty.
 */
import type { Posture, ProtectedAsset } from "../posture/model";
import { resourceNames } from "../posture/naming";
import { requireVar, shq, sub, word } from "./shellQuote";

export interface RunbookNames extends ReturnType<typeof resourceNames> {
  readonly escrow: string;
  /** The --store value of the S3 copy and of the R2 copy, as shell words. */
  readonly s3: string;
  readonly r2: string;
}

export function namesFor(p: Posture, project = "drposture"): RunbookNames {
  const names = resourceNames(project, p.stack);
  const output = (name: string) => sub(`pulumi stack output ${name} --stack ${shq(p.stack)}`);
  return {
    ...names,
    escrow: names.escrowSecret,
    s3: word("s3://", output("s3BackupBucket"), `?region=${p.vault.s3Region}`),
    r2: word(`r2://${p.accountId}/`, output("r2BackupBucket")),
  };
}

/** The --key-escrow options every restore and verify needs. */
export function keyOptions(p: Posture, n: RunbookNames): string {
  return `--key-escrow ${shq(n.escrow)} --key-escrow-region ${shq(p.vault.s3Region)}`;
}

export interface RestoreOptions {
  /** Which backup: "latest" or a variable holding a time (BEFORE_DELETION). */
  readonly from?: { variable: string; what: string };
  /** Extra options, already quoted. */
  readonly extra?: string;
  /** The Postgres target's variable (default NEW_DATABASE_URL). */
  readonly postgresTarget?: string;
}

/** The variable naming an asset's restore target: NEW_D1_DATABASE_APP_DB for d1/app-db. */
export function targetVariable(prefix: string, a: ProtectedAsset): string {
  return `${prefix}_${a.name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

/** Lines that check the variables a restore command uses, then the command itself. */
export function restoreCommand(p: Posture, a: ProtectedAsset, n: RunbookNames, o: RestoreOptions = {}): string[] {
  const name = shq(a.name);
  const from = o.from ? `"$${o.from.variable}"` : "latest";
  const tail = `--store ${n.s3} ${keyOptions(p, n)}${o.extra ?? ""}`;
  const need = o.from ? [requireVar(o.from.variable, o.from.what)] : [];
  switch (a.kind) {
    case "neon": {
      const target = o.postgresTarget ?? "NEW_DATABASE_URL";
      return [...need, requireVar(target, "the target Postgres connection string"), `drposture restore postgres --asset ${name} --from ${from} --to "$${target}" ${tail}`];
    }
    case "d1": {
      const file = shq(`${a.name}.sql`);
      const target = targetVariable("NEW_D1_DATABASE", a);
      return [
        ...need,
        requireVar(target, "the name of the D1 database to restore into"),
        `drposture restore d1 --asset ${name} --from ${from} --to ${shq(`file:${a.name}.sql`)} ${tail}`,
        `npx wrangler d1 execute "$${target}" --remote --file ${file}`,
      ];
    }
    case "kv": {
      const file = shq(`${a.name}.json`);
      if (o.extra?.includes("--mode skip")) {
        const present = shq(`${a.name}-present.json`);
        return [
          ...need,
          `npx wrangler kv key list --remote --namespace-id ${shq(a.sourceId)} > ${present}`,
          `drposture restore kv --asset ${name} --from ${from} --to ${shq(`file:${a.name}.json`)} --present-keys ${present} ${tail}`,
          `npx wrangler kv bulk put --remote --namespace-id ${shq(a.sourceId)} ${file}`,
        ];
      }
      const target = targetVariable("NEW_KV_NAMESPACE_ID", a);
      return [
        ...need,
        requireVar(target, "the id of the KV namespace to restore into"),
        `drposture restore kv --asset ${name} --from ${from} --to ${shq(`file:${a.name}.json`)} ${tail}`,
        `npx wrangler kv bulk put --remote --namespace-id "$${target}" ${file}`,
      ];
    }
    case "r2": {
      const target = targetVariable("NEW_R2_BUCKET", a);
      return [
        ...need,
        requireVar(target, "the name of the R2 bucket to restore into"),
        `drposture restore r2 --asset ${name} --from ${from} --to ${word(`r2://${p.accountId}/`)}"$${target}" ${tail}`,
      ];
    }
  }
}
