/**
 * What the cost estimate needs to know about a stack: plain data, built from the posture model
 * by the CLI (fromPosture.ts) and from a program's resources by the policy pack. No imports
 * beyond lib/cost, so the pack can load it.
 */
export type CostAssetKind = "d1" | "kv" | "r2" | "neon";
export type Tier = "daily" | "weekly" | "monthly";

export interface CostAsset {
  readonly kind: CostAssetKind;
  readonly name: string;
  /** The asset's backup cron (backups a day follow from it). */
  readonly cron: string;
}

export interface KvSizes { readonly keys: number; readonly averageValueBytes: number; readonly averageKeyBytes: number; readonly dailyChangedKeys: number }
export interface D1Sizes { readonly bytes: number; readonly rows: number }
export interface R2Sizes { readonly objects: number; readonly bytes: number; readonly dailyChangedObjects: number; readonly dailyChangedBytes: number }
export interface NeonSizes { readonly databaseBytes: number; readonly dailyChangeBytes: number; readonly dumpBytes?: number }

export interface DeclaredSizes {
  readonly kv?: Readonly<Record<string, KvSizes>>;
  readonly d1?: Readonly<Record<string, D1Sizes>>;
  readonly r2?: Readonly<Record<string, R2Sizes>>;
  readonly neon?: NeonSizes;
  readonly alertsPerMonth?: number;
}

/** The Worker's per-step budget (lib/backup/plan.ts StepLimits). */
export interface StepBudget {
  readonly opsPerStep: number;
  readonly bytesPerStep: number;
  readonly d1PageRows: number;
  readonly d1SnapshotBytes: number;
}

export interface CostInput {
  readonly stack: string;
  readonly assets: readonly CostAsset[];
  /** Days each tier is kept (lifecycle expiry = lock period). */
  readonly tierDays: Readonly<Record<Tier, number>>;
  readonly s3Region: string;
  /** Days an expired S3 version stays as a noncurrent version (lifecycle). */
  readonly noncurrentVersionDays: number;
  readonly alertEmails: number;
  readonly restoreTesting: { readonly periodHours: number; readonly cron: string; readonly rotation: readonly string[] } | null;
  readonly neon: { readonly plan: string; readonly restoreWindowDays: number; readonly snapshots: Readonly<Record<Tier, number>> } | null;
  readonly limits: StepBudget;
  /** Parts a streamed upload is cut into (lib/storage/types.ts UPLOAD_PART_BYTES). */
  readonly uploadPartBytes: number;
  readonly sizes: DeclaredSizes;
}

export const assetKey = (a: Pick<CostAsset, "kind" | "name">) => `${a.kind}/${a.name}`;

export class MissingSizesError extends Error {
  override readonly name = "MissingSizesError";
}

/** Assets of the stack with no declared size ("kind/name"). */
export function assetsWithoutSizes(input: Pick<CostInput, "assets" | "sizes">): string[] {
  return input.assets.filter((a) => (a.kind === "neon" ? !input.sizes.neon : !input.sizes[a.kind]?.[a.name])).map(assetKey);
}
