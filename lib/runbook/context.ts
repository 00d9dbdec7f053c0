/** What every section of the runbook reads: the posture, the resource names, the assets by kind. */
import type { Posture, ProtectedAsset } from "../posture/model";
import { namesFor, type RunbookNames } from "./commands";

export interface Ctx {
  readonly p: Posture;
  readonly n: RunbookNames;
  readonly neon: ProtectedAsset | undefined;
  readonly byKind: (k: ProtectedAsset["kind"]) => ProtectedAsset[];
  readonly generatedAt: Date;
}

export function contextFor(p: Posture, generatedAt: Date): Ctx {
  const byKind = (k: ProtectedAsset["kind"]) => p.assets.filter((a) => a.kind === k);
  return { p, n: namesFor(p), neon: byKind("neon")[0], byKind, generatedAt };
}
