/**
 * RestoreTesting: the scratch resources scheduled restore tests write into — a D1 database, a
 * KV namespace and an R2 bucket, each only if the stack protects assets of that kind. The
 * backup Worker binds them as RESTORE_TEST_D1/KV/R2 (lib/backup/plan.ts) and nothing else uses
 * them. Neon needs none: each Neon test creates its own short-lived branch.
 *
 * They live in the vault's jurisdiction: the data in them comes from the backups, which already
 * live there, so a restore test moves no data anywhere new.
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";

export type ScratchKind = "d1" | "kv" | "r2";

export interface RestoreTestingArgs {
  /** Cloudflare account of the scratch resources (the backup Worker's). */
  readonly accountId: pulumi.Input<string>;
  /** Name of every scratch resource: the stack's prefix and "restore-scratch". */
  readonly scratchName: string;
  /** Kinds the stack has assets of; one scratch resource per kind. */
  readonly kinds: readonly ScratchKind[];
  /** Jurisdiction of the backups ("default", "eu", "fedramp"); the scratch resources follow it. */
  readonly jurisdiction: string;
  /** Location hint of the backups' R2 bucket, used for the scratch D1 and R2 too. */
  readonly location?: string;
  /** Every asset is restore-tested at least this often, days (for the policy pack). */
  readonly everyDays: number;
  /** The restore-test cron and its period, hours (for the policy pack). */
  readonly cron: string;
  readonly periodHours: number;
  /** Asset ids in the order they are tested (for the policy pack). */
  readonly rotation: readonly string[];
}

export interface ScratchResources {
  readonly d1?: { readonly id: pulumi.Output<string> };
  readonly kv?: { readonly id: pulumi.Output<string> };
  readonly r2?: { readonly name: pulumi.Output<string>; readonly jurisdiction: string };
}

export class RestoreTesting extends pulumi.ComponentResource {
  static readonly __pulumiType = "drposture:testing:RestoreTesting";

  readonly scratch: ScratchResources;

  constructor(name: string, args: RestoreTestingArgs, opts?: pulumi.ComponentResourceOptions) {
    const { accountId, scratchName, kinds, jurisdiction, location, ...posture } = args;
    super(RestoreTesting.__pulumiType, name, { ...posture, kinds, scratchName, jurisdiction }, opts);
    const parent = { parent: this };
    // D1 and KV take "eu"/"fedramp"/"us" or nothing; R2 spells "no jurisdiction" as "default".
    const restricted = jurisdiction === "default" ? {} : { jurisdiction };
    const has = (k: ScratchKind) => kinds.includes(k);

    const d1 = has("d1")
      ? new cloudflare.D1Database(
          `${name}-d1`,
          {
            accountId,
            name: scratchName,
            ...restricted,
            ...(location ? { primaryLocationHint: location } : {}),
            // The integrity checks read what the restore just wrote: no replica may lag behind.
            readReplication: { mode: "disabled" },
          },
          parent,
        )
      : undefined;
    const kv = has("kv") ? new cloudflare.WorkersKvNamespace(`${name}-kv`, { accountId, title: scratchName, ...restricted }, parent) : undefined;
    // No lifecycle rule and no bucket lock, unlike the vault's buckets: the Worker empties this
    // bucket after every test, and a lock would stop it from doing so (a lifecycle expiry would
    // only race it). Nothing here is a backup.
    const r2 = has("r2")
      ? new cloudflare.R2Bucket(`${name}-r2`, { accountId, name: scratchName, jurisdiction, ...(location ? { location } : {}), storageClass: "Standard" }, parent)
      : undefined;

    this.scratch = {
      ...(d1 ? { d1: { id: d1.id } } : {}),
      ...(kv ? { kv: { id: kv.id } } : {}),
      ...(r2 ? { r2: { name: r2.name, jurisdiction } } : {}),
    };
    this.registerOutputs({ d1DatabaseId: d1?.id, kvNamespaceId: kv?.id, r2BucketName: r2?.name });
  }
}
