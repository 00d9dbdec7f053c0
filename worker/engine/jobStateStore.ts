/**
 * The job cursor of each asset, sealed under the master key in _state/jobs/: read, saved and
 * dropped here. A cursor that does not open was altered or forged through the R2 token; it is
 * refused (TamperedStateError), never followed.
 */
import type { MasterKey } from "../../lib/format/keys";
import { STATE_PREFIX, type AssetRef } from "../../lib/format/layout";
import { openState, sealState, StateSealError } from "../../lib/format/sealedState";
import { getText, type BackupStorage } from "../../lib/storage/types";
import type { JobState } from "./job";

const stateKey = (a: AssetRef) => `${STATE_PREFIX}jobs/${a.kind}/${a.name}.json`;
const statePurpose = (asset: string) => `job:${asset}`;

/** A job cursor that does not open under the key: altered or forged through the R2 token. */
export class TamperedStateError extends Error {
  override readonly name = "TamperedStateError";
}

/** The asset a job state names ("kind/name"). */
export function stateAsset(state: Pick<JobState, "asset">): AssetRef {
  const [kind, name] = state.asset.split("/") as [AssetRef["kind"], string];
  return { kind, name };
}

export async function readJobState(storage: BackupStorage, master: MasterKey, a: AssetRef): Promise<JobState | null> {
  const text = await getText(storage, stateKey(a));
  if (!text) return null;
  try {
    return await openState<JobState>(master, statePurpose(`${a.kind}/${a.name}`), text, `${storage.label}/${stateKey(a)}`);
  } catch (err) {
    if (err instanceof StateSealError) throw new TamperedStateError(`job state of ${a.kind}/${a.name} refused: ${err.message}`);
    throw err;
  }
}

export async function saveJobState(storage: BackupStorage, master: MasterKey, state: JobState): Promise<void> {
  await storage.put(stateKey(stateAsset(state)), await sealState(master, statePurpose(state.asset), state), { contentType: "application/json" });
}

export async function dropJobState(storage: BackupStorage, a: AssetRef): Promise<void> {
  await storage.delete(stateKey(a));
}
