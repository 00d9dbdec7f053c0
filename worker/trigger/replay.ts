/**
 * Replay of a signed start. A signed request stays valid for MAX_CLOCK_SKEW_MS, and anyone who
 * saw one (a proxy log, a shell recording) could send it again in that window. Each asset keeps
 * the newest start timestamp it honoured, sealed under _state/trigger/; a start whose timestamp
 * is not newer is refused. So one signed start starts at most one backup, however often it is
 * replayed; a start refused because a job was running is not consumed, and its replay can start
 * that one backup later (never more). A replayed status request only reads a status.
 *
 * The marker is sealed like the job cursors (lib/format/sealedState.ts). One that does not open
 * (altered through the R2 token) is treated as absent: it can only weaken replay protection for
 * someone who can already write the bucket, never block a genuine start.
 */
import { openState, sealState } from "../../lib/format/sealedState";
import { STATE_PREFIX, type AssetRef } from "../../lib/format/layout";
import type { MasterKey } from "../../lib/format/keys";
import { getText, type BackupStorage } from "../../lib/storage/types";

interface Marker {
  readonly lastTimestamp: number;
}

const markerKey = (a: AssetRef) => `${STATE_PREFIX}trigger/${a.kind}/${a.name}.json`;
const purpose = (a: AssetRef) => `trigger:${a.kind}/${a.name}`;

async function lastHonoured(storage: BackupStorage, master: MasterKey, a: AssetRef): Promise<number> {
  const text = await getText(storage, markerKey(a));
  if (!text) return 0;
  try {
    return (await openState<Marker>(master, purpose(a), text, markerKey(a))).lastTimestamp;
  } catch (err) {
    console.error(`drposture: ${(err as Error).message}; treating the trigger marker as absent`);
    return 0;
  }
}

/** Whether a start signed at `timestamp` was already honoured for the asset (or an even newer one). */
export async function alreadyHonoured(storage: BackupStorage, master: MasterKey, a: AssetRef, timestamp: number): Promise<boolean> {
  return timestamp <= (await lastHonoured(storage, master, a));
}

/** Records that the start signed at `timestamp` is being honoured; written before the backup starts. */
export async function markHonoured(storage: BackupStorage, master: MasterKey, a: AssetRef, timestamp: number): Promise<void> {
  await storage.put(markerKey(a), await sealState<Marker>(master, purpose(a), { lastTimestamp: timestamp }), { contentType: "application/json" });
}
