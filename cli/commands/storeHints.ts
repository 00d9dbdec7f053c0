/**
 * Where a directory store probably is, when the one given holds no backups: one level down
 * (`drill --keep DIR` leaves DIR/r2 and DIR/s3) or up (a tier or asset directory was given).
 */
import { readdirSync, statSync } from "node:fs";
import * as path from "node:path";

const TIER_DIRS = ["daily", "weekly", "monthly"];

function holdsTiers(dir: string): boolean {
  return TIER_DIRS.some((t) => statSync(path.join(dir, t), { throwIfNoEntry: false })?.isDirectory());
}

/** A sentence naming the likely store, or undefined. */
export function dirStoreHint(root: string): string | undefined {
  let below: string[] = [];
  try {
    below = readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory() && holdsTiers(path.join(root, e.name)))
      .map((e) => path.join(root, e.name));
  } catch {
    return undefined;
  }
  if (below.length) return `backups are one level down: --store ${below.join(" or --store ")}`;
  let up = root;
  for (let i = 0; i < 4; i++) {
    const parent = path.dirname(up);
    if (parent === up) break;
    if (TIER_DIRS.includes(path.basename(up)) && holdsTiers(parent)) return `${root} is inside a store: --store ${parent}`;
    up = parent;
  }
  return undefined;
}
