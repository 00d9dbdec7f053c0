/**
 * `drposture:restoreTesting`: scheduled restore tests of the newest real backups into scratch
 * resources (issue #10). The config says how often every asset must be tested; the schedule (a
 * cron that tests one asset per firing, in turn) is derived from it and the number of assets in
 * the rotation (lib/backup/restoreTestRotation.ts), and the Worker gets the declared integrity
 * checks as one json binding, which Cloudflare caps at 5 KB.
 */
import { z } from "zod";
import { ENV_VAR_MAX_BYTES } from "../backup/planBindings";
import { RestoreTestScheduleError, restoreTestSchedule } from "../backup/restoreTestRotation";

/** Default test interval per environment class: weekly in prod (the DR plans we replace ask
 * for a weekly restore rehearsal), monthly elsewhere, where a missed test costs less. */
export const DEFAULT_RESTORE_TEST_DAYS: Readonly<Record<string, number>> = { prod: 7, staging: 30, dev: 30 };

export const restoreTestingConfig = z
  .strictObject({
    enabled: z.boolean().default(true).meta({ description: "Run scheduled restore tests (the policy pack's restore-tests-scheduled requires them)." }),
    everyDays: z
      .number()
      .int()
      .min(1)
      .optional()
      .meta({ description: "Every asset is restore-tested at least this often, days. Default 7 in prod, 30 otherwise." }),
  })
  .prefault({})
  .meta({
    description:
      "Scheduled restore tests: the backup Worker restores the newest backup of one asset per cron firing, in turn, into scratch D1/KV/R2 resources (Neon: a branch), checks it and alerts on failure or a duration over the asset's RTO.",
  });

export type RestoreTestingConfig = z.output<typeof restoreTestingConfig>;

export interface RestoreTestingPosture {
  readonly everyDays: number;
  /** Cron that starts restore tests, one asset per firing. */
  readonly cron: string;
  /** Hours between firings; rotation length × periodHours ≤ everyDays × 24. */
  readonly periodHours: number;
  /** Asset ids ("kind/name") in the order they are tested. */
  readonly rotation: readonly string[];
}

/** The D1, KV, R2 and Neon assets, as restoreTestRotation() orders plan assets. */
export function rotationOf(assets: ReadonlyArray<{ id: string; kind: string }>): string[] {
  return assets.filter((a) => a.kind === "d1" || a.kind === "kv" || a.kind === "r2" || a.kind === "neon").map((a) => a.id);
}

export const everyDaysOf = (cfg: RestoreTestingConfig, environment: string): number => cfg.everyDays ?? DEFAULT_RESTORE_TEST_DAYS[environment] ?? 7;

/** The schedule, or why there is none: a reason phrased for `drposture:restoreTesting.everyDays: ...`. */
export function scheduleOrProblem(everyDays: number, rotationLength: number): { cron: string; periodHours: number } | string {
  try {
    return restoreTestSchedule(everyDays, rotationLength);
  } catch (err) {
    if (!(err instanceof RestoreTestScheduleError)) throw err;
    return `is too short for ${rotationLength} assets at one restore test per hour: must be >= ${Math.ceil(rotationLength / 24)}`;
  }
}

/** RESTORE_TEST_CHECKS as bound: { postgres: DeclaredCheck[], d1: { [asset]: DeclaredCheck[] } }. */
export function restoreTestChecksJson(integrity: { readonly postgres: readonly unknown[]; readonly d1: Readonly<Record<string, readonly unknown[]>> }): string {
  return JSON.stringify({ postgres: integrity.postgres, d1: integrity.d1 });
}

/** Why the declared checks cannot be bound (over Cloudflare's 5 KB per variable), or null. */
export function checksTooLarge(json: string): string | null {
  const bytes = new TextEncoder().encode(json).byteLength;
  if (bytes <= ENV_VAR_MAX_BYTES) return null;
  return `the declared checks are ${bytes} bytes as JSON, and restore tests bind them as one Worker variable (RESTORE_TEST_CHECKS), which Cloudflare caps at ${ENV_VAR_MAX_BYTES} bytes: shorten or drop checks`;
}
