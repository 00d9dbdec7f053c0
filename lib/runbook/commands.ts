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

/** Which copy a command reads and where its key comes from: the S3 copy with the AWS-hosted
 * escrow, or (AWS lost) the R2 copy with the offline key file. */
export interface CopySource {
  readonly store: string;
  readonly key: string;
}

/** The variable holding the path of the offline key copy (see the aws-lost scenario). */
export const OFFLINE_KEY_FILE = "OFFLINE_KEY_FILE";

export const s3Copy = (p: Posture, n: RunbookNames): CopySource => ({ store: n.s3, key: keyOptions(p, n) });
export const r2Copy = (n: RunbookNames): CopySource => ({ store: n.r2, key: `--key-file "$${OFFLINE_KEY_FILE}"` });

export interface RestoreOptions {
  /** Which backup: "latest" or a variable holding a time (BEFORE_DELETION). */
  readonly from?: { variable: string; what: string };
  /** Extra options, already quoted. */
  readonly extra?: string;
  /** The Postgres target's variable (default NEW_DATABASE_URL). */
  readonly postgresTarget?: string;
  /** Default: the S3 copy and the key escrow. */
  readonly source?: CopySource;
  /** Into the asset's own live resource (with --mode skip), not a new one. */
  readonly live?: boolean;
  /** The account of an R2 target, as a shell word (default: the stack's account). */
  readonly r2Account?: string;
}

/** The variable naming an asset's restore target: NEW_D1_DATABASE_APP_DB for d1/app-db. */
export function targetVariable(prefix: string, a: ProtectedAsset): string {
  return `${prefix}_${a.name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

interface Parts {
  readonly name: string;
  readonly from: string;
  readonly tail: string;
}

function d1Restore(a: ProtectedAsset, t: Parts, o: RestoreOptions): string[] {
  const file = shq(`${a.name}.sql`);
  // Live: the database the asset backs up, by its name looked up from the id in the config.
  const target = o.live ? targetVariable("D1_NAME", a) : targetVariable("NEW_D1_DATABASE", a);
  return [
    ...(o.live ? d1NameLookup(a, target) : [requireVar(target, "the name of the D1 database to restore into")]),
    `drposture restore d1 --asset ${t.name} --from ${t.from} --to ${shq(`file:${a.name}.sql`)} ${t.tail}`,
    `npx wrangler d1 execute "$${target}" --remote --file ${file}`,
  ];
}

function kvRestore(a: ProtectedAsset, t: Parts, o: RestoreOptions): string[] {
  const file = shq(`${a.name}.json`);
  if (o.live) {
    // A file cannot see the namespace: --present-keys lists what exists, so skip leaves it alone.
    const present = shq(`${a.name}-present.json`);
    return [
      `npx wrangler kv key list --remote --namespace-id ${shq(a.sourceId)} > ${present}`,
      `drposture restore kv --asset ${t.name} --from ${t.from} --to ${shq(`file:${a.name}.json`)} --present-keys ${present} ${t.tail}`,
      `npx wrangler kv bulk put --remote --namespace-id ${shq(a.sourceId)} ${file}`,
    ];
  }
  const target = targetVariable("NEW_KV_NAMESPACE_ID", a);
  return [
    requireVar(target, "the id of the KV namespace to restore into"),
    `drposture restore kv --asset ${t.name} --from ${t.from} --to ${shq(`file:${a.name}.json`)} ${t.tail}`,
    `npx wrangler kv bulk put --remote --namespace-id "$${target}" ${file}`,
  ];
}

/** An R2 target is written with R2_ACCESS_KEY_ID/R2_SECRET_ACCESS_KEY, the variables an r2://
 * store reads too, and no DR identity may write to the application's buckets: the command gets
 * a token of its own (Object Read & Write on the target, and Read on an r2:// store). */
function r2Restore(p: Posture, a: ProtectedAsset, t: Parts, o: RestoreOptions): string[] {
  const account = o.r2Account ?? word(`r2://${p.accountId}/`);
  const jurisdiction = o.live && a.jurisdiction && a.jurisdiction !== "default" ? shq(`?jurisdiction=${a.jurisdiction}`) : "";
  const target = o.live ? `${shq(a.sourceId)}${jurisdiction}` : `"$${targetVariable("NEW_R2_BUCKET", a)}"`;
  return [
    ...(o.live ? [] : [requireVar(targetVariable("NEW_R2_BUCKET", a), "the name of the R2 bucket to restore into")]),
    requireVar("R2_TARGET_ACCESS_KEY_ID", "the key id of an R2 API token with Object Read and Write on the target bucket (and Read on an r2 backup store)"),
    requireVar("R2_TARGET_SECRET_ACCESS_KEY", "that tokens secret access key"),
    `R2_ACCESS_KEY_ID="$R2_TARGET_ACCESS_KEY_ID" R2_SECRET_ACCESS_KEY="$R2_TARGET_SECRET_ACCESS_KEY" drposture restore r2 --asset ${t.name} --from ${t.from} --to ${account}${target} ${t.tail}`,
  ];
}

/** Lines that check the variables a restore command uses, then the command itself. */
export function restoreCommand(p: Posture, a: ProtectedAsset, n: RunbookNames, o: RestoreOptions = {}): string[] {
  const source = o.source ?? s3Copy(p, n);
  const t: Parts = { name: shq(a.name), from: o.from ? `"$${o.from.variable}"` : "latest", tail: `--store ${source.store} ${source.key}${o.extra ?? ""}` };
  const need = o.from ? [requireVar(o.from.variable, o.from.what)] : [];
  switch (a.kind) {
    case "neon": {
      const target = o.postgresTarget ?? "NEW_DATABASE_URL";
      return [...need, requireVar(target, "the target Postgres connection string"), `drposture restore postgres --asset ${t.name} --from ${t.from} --to "$${target}" ${t.tail}`];
    }
    case "d1":
      return [...need, ...d1Restore(a, t, o)];
    case "kv":
      return [...need, ...kvRestore(a, t, o)];
    case "r2":
      return [...need, ...r2Restore(p, a, t, o)];
  }
}

/** Shell lines that set `variable` to the D1 database's name, looked up by its id. Wrangler's D1
 * commands (time-travel restore, export, execute) take the database name, the stack config holds
 * the id (names can be changed, ids cannot). `wrangler d1 list --json` prints the objects of
 * Cloudflare's "List D1 Databases" API (`uuid`, `name`, ...), every page of them. */
export function d1NameLookup(a: ProtectedAsset, variable = targetVariable("D1_NAME", a)): string[] {
  return [
    `${variable}=$(npx wrangler d1 list --json | jq -r --arg id ${shq(a.sourceId)} '.[] | select(.uuid == $id) | .name')`,
    `: "\${${variable}:?no D1 database with id ${a.sourceId.replace(/[^A-Za-z0-9-]/g, "")} in this account (npx wrangler d1 list)}"`,
  ];
}

/** The on-demand backup of one asset through the deployed backup Worker (`drposture backup now`). */
export function backupNow(p: Posture, assets: readonly ProtectedAsset[]): string[] {
  const stack = shq(p.stack);
  if (!assets.length) return [];
  return [
    `DRPOSTURE_WORKER_URL=$(pulumi stack output backupWorkerUrl --stack ${stack})`,
    `DRPOSTURE_TRIGGER_KEY=$(pulumi stack output backupTriggerKey --show-secrets --stack ${stack})`,
    "export DRPOSTURE_WORKER_URL DRPOSTURE_TRIGGER_KEY",
    ...assets.map((a) => `drposture backup now --asset ${shq(a.id)} --stack ${stack}`),
  ];
}

/** The restorer's AWS credentials (reads the S3 copy and the key escrow). */
export const restorerLogin = (p: Posture): string[] => [
  `AWS_ACCESS_KEY_ID=$(pulumi stack output restorerAccessKeyId --stack ${shq(p.stack)})`,
  `AWS_SECRET_ACCESS_KEY=$(pulumi stack output restorerSecretAccessKey --show-secrets --stack ${shq(p.stack)})`,
  "export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY",
];

/** The R2 reader's credentials (reads the R2 copy through R2's S3 API). */
export const r2ReaderLogin = (p: Posture): string[] => [
  `R2_ACCESS_KEY_ID=$(pulumi stack output r2ReaderAccessKeyId --stack ${shq(p.stack)})`,
  `R2_SECRET_ACCESS_KEY=$(pulumi stack output r2ReaderSecretAccessKey --show-secrets --stack ${shq(p.stack)})`,
  "export R2_ACCESS_KEY_ID R2_SECRET_ACCESS_KEY",
];
