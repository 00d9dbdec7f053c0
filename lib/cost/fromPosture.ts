/**
 * The cost estimate's input from a stack's posture (the CLI's side; the policy pack builds its
 * own from the program's resources), with `--sizes FILE` overriding the stack's declared sizes
 * asset by asset.
 */
import { readFileSync } from "node:fs";
import YAML from "yaml";
import { DEFAULT_LIMITS } from "../backup/plan";
import { NONCURRENT_VERSION_DAYS, type Posture } from "../posture/model";
import { describeIssue } from "../posture/issueText";
import { sizesConfig, type SizesConfig } from "../posture/sizesConfig";
import { UPLOAD_PART_BYTES } from "../storage/types";
import type { CostInput, DeclaredSizes } from "./input";

export class SizesFileError extends Error {
  override readonly name = "SizesFileError";
}

/** The shape a sizes file (or drposture:sizes) takes, for messages. */
export const SIZES_SHAPE =
  "{ kv: { NAME: { keys, averageValueBytes, dailyChangedKeys, averageKeyBytes? } }, d1: { NAME: { bytes, rows } }, r2: { NAME: { objects, bytes, dailyChangedObjects, dailyChangedBytes } }, neon: { databaseBytes, dailyChangeBytes, dumpBytes? }, alertsPerMonth? }";

/** Reads and validates a YAML or JSON sizes file; errors name the file and the field path. */
export function readSizesFile(file: string): SizesConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new SizesFileError(`--sizes ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (err) {
    throw new SizesFileError(`--sizes ${file}: not YAML or JSON (${(err as Error).message.split("\n")[0]})`);
  }
  const parsed = sizesConfig.safeParse(raw ?? {}, { reportInput: true });
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as (typeof parsed.error.issues)[number];
    const where = issue.path.map(String).join(".") || "(top level)";
    const what = issue.code === "unrecognized_keys" ? `unknown key ${issue.keys.join(", ")}` : describeIssue(issue);
    throw new SizesFileError(`--sizes ${file}: ${where}: ${what} (expected ${SIZES_SHAPE})`);
  }
  return parsed.data ?? { alertsPerMonth: 0 };
}

/** The stack's sizes with the file's assets laid over them. */
export function mergeSizes(stack: SizesConfig | undefined, file: SizesConfig | undefined): DeclaredSizes {
  return {
    kv: { ...(stack?.kv ?? {}), ...(file?.kv ?? {}) },
    d1: { ...(stack?.d1 ?? {}), ...(file?.d1 ?? {}) },
    r2: { ...(stack?.r2 ?? {}), ...(file?.r2 ?? {}) },
    ...(file?.neon ?? stack?.neon ? { neon: (file?.neon ?? stack?.neon)! } : {}),
    alertsPerMonth: file?.alertsPerMonth || stack?.alertsPerMonth || 0,
  };
}

export function costInputOf(p: Posture, sizes: DeclaredSizes): CostInput {
  const days = (t: "daily" | "weekly" | "monthly") => p.tiers.find((x) => x.tier === t)?.retentionDays ?? 0;
  return {
    stack: p.stack,
    assets: p.assets.map((a) => ({ kind: a.kind, name: a.name, cron: a.backupCron })),
    tierDays: { daily: days("daily"), weekly: days("weekly"), monthly: days("monthly") },
    s3Region: p.vault.s3Region,
    noncurrentVersionDays: NONCURRENT_VERSION_DAYS,
    alertEmails: p.alerts.emails.length,
    restoreTesting: p.restoreTesting ? { periodHours: p.restoreTesting.periodHours, cron: p.restoreTesting.cron, rotation: p.restoreTesting.rotation } : null,
    neon: p.neon ? { plan: p.neon.plan, restoreWindowDays: p.neon.restoreWindowDays, snapshots: p.neon.snapshots } : null,
    limits: DEFAULT_LIMITS,
    uploadPartBytes: UPLOAD_PART_BYTES,
    sizes,
  };
}
