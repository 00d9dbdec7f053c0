/** The backup job for each asset kind that the Worker backs up itself. */
import type { AssetKind } from "../../lib/format/layout";
import type { BackupJob } from "../engine/job";
import { d1Job } from "./d1";
import { kvJob } from "./kv";
import { r2Job } from "./r2";

export function jobFor(kind: AssetKind): BackupJob {
  switch (kind) {
    case "d1":
      return d1Job as BackupJob;
    case "kv":
      return kvJob as BackupJob;
    case "r2":
      return r2Job as BackupJob;
    case "neon":
      // Neon's independent backup is pg_dump, run by `drposture backup postgres`; the Worker
      // only checks Neon's own settings and snapshots (see neon.ts).
      throw new Error("neon assets are not backed up by the Worker's job runner");
  }
}
