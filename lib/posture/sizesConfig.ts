/**
 * `drposture:sizes`: how big each protected asset is and how much of it changes a day. Only
 * `drposture cost` (and the policy pack's posture-monthly-cost) read it: the monthly cost of
 * the posture follows from these figures, the schedule and the published prices
 * (lib/cost/). Keys are asset names of the stack; a size for an asset the stack does not
 * have is refused (schema.ts), an asset without a size makes `drposture cost` exit 2.
 */
import { z } from "zod";
import { assetName } from "./identifiers";

const count = (description: string) => z.number().int().min(0).meta({ description });
const bytes = (description: string) => z.number().int().min(0).meta({ description });

export const kvSize = z.strictObject({
  keys: count("Keys in the namespace."),
  averageValueBytes: bytes("Average value size, bytes."),
  averageKeyBytes: z.number().int().min(1).max(512).default(32).meta({ description: "Average key length, bytes (KV allows 512). Default 32." }),
  dailyChangedKeys: count("Distinct keys added, changed or deleted a day."),
});

export const d1Size = z.strictObject({
  bytes: bytes("Database size, bytes (D1 reports it as size_after)."),
  rows: count("Rows in all tables."),
});

export const r2Size = z.strictObject({
  objects: count("Objects in the bucket."),
  bytes: bytes("Bytes in the bucket."),
  dailyChangedObjects: count("Distinct objects added or changed a day."),
  dailyChangedBytes: bytes("Bytes of those objects."),
});

export const neonSize = z.strictObject({
  databaseBytes: bytes("Logical size of the database, bytes."),
  dailyChangeBytes: bytes("WAL (change history) written a day, bytes."),
  dumpBytes: bytes("Size of one pg_dump -Fc of the database, bytes. Default: databaseBytes.").optional(),
});

export const sizesConfig = z
  .strictObject({
    kv: z.record(assetName, kvSize).optional().meta({ description: "Per KV asset (keys: asset names)." }),
    d1: z.record(assetName, d1Size).optional().meta({ description: "Per D1 asset (keys: asset names)." }),
    r2: z.record(assetName, r2Size).optional().meta({ description: "Per R2 asset (keys: asset names)." }),
    neon: neonSize.optional().meta({ description: "The Neon database." }),
    alertsPerMonth: z.number().int().min(0).default(0).meta({ description: "Alerts expected a month (SNS publishes and email deliveries). Default 0." }),
  })
  .optional()
  .meta({ description: "Declared sizes of the protected assets, for `drposture cost`: keys, rows, bytes, objects and daily change." });

export type SizesConfig = NonNullable<z.output<typeof sizesConfig>>;
export type KvSize = z.output<typeof kvSize>;
export type D1Size = z.output<typeof d1Size>;
export type R2Size = z.output<typeof r2Size>;
export type NeonSize = z.output<typeof neonSize>;

/** Sizes declared for assets the stack does not have: [path, message] per problem. */
export function strayAssetSizes(sizes: SizesConfig | undefined, assets: { d1: ReadonlyArray<{ name: string }>; kv: ReadonlyArray<{ name: string }>; r2: ReadonlyArray<{ name: string }> }, hasNeon: boolean): Array<[Array<string>, string]> {
  const out: Array<[Array<string>, string]> = [];
  for (const kind of ["d1", "kv", "r2"] as const) {
    const known = assets[kind].map((a) => a.name);
    for (const name of Object.keys(sizes?.[kind] ?? {})) {
      if (!known.includes(name)) out.push([["sizes", kind, name], `is not a ${kind.toUpperCase()} asset of this stack (assets.${kind} names: ${known.join(", ") || "none"})`]);
    }
  }
  if (sizes?.neon && !hasNeon) out.push([["sizes", "neon"], "is set but the stack has no drposture:neon"]);
  return out;
}
