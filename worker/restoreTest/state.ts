/**
 * The cursor of a running restore test, sealed under _state/restore-tests/ like a backup job's
 * (a forged or edited cursor fails to open and the test is abandoned, never followed).
 */
import type { MasterKey } from "../../lib/format/keys";
import { STATE_PREFIX, type AssetRef } from "../../lib/format/layout";
import { openState, sealState } from "../../lib/format/sealedState";
import type { DigestState } from "../../lib/restore/multisetDigest";
import type { RestoreTestResult } from "../../lib/backup/restoreTestReport";
import { getText, type BackupStorage } from "../../lib/storage/types";
import type { Resume } from "./scratch";

export type RestoreTestPhase = "empty-before" | "restore" | "verify" | "empty-after";

export interface RestoreTestState {
  readonly version: 1;
  /** "kind/name" */
  readonly asset: string;
  readonly phase: RestoreTestPhase;
  readonly backupId: string;
  readonly manifestKey: string;
  readonly sourcePointInTime: string;
  readonly startedAt: string;
  /** Set when the first part is written: the RTO clock starts there. */
  readonly restoreStartedAt: string | null;
  readonly updatedAt: string;
  readonly step: number;
  /** The step this test began at (after the steps of a test it replaced; absent: 1). */
  readonly firstStep?: number;
  /** Next item of the backup's stream to restore. */
  readonly skip: number;
  /** The artifact that item is in, so the next part need not re-read the ones before it. */
  readonly resume?: Resume | null;
  readonly restored: number;
  readonly details: Record<string, number>;
  readonly expected: DigestState;
  readonly actual: DigestState;
  readonly verifyCursor: string | null;
  /** Epoch seconds: KV keys expiring before this are left out of both digests. */
  readonly cutoff: number;
  /** The item count the manifest records, read when the test started (null: it records none). */
  readonly manifestCount?: number | null;
  /** Set (saved) before the first restore part writes: a retry of that part finds it and empties
   * the scratch resource again, rather than being refused by what the failed attempt wrote. */
  readonly firstPartTried?: boolean;
  /** How often the first part has been started (it is started over at most a few times). */
  readonly firstPartTries?: number;
  /** The error of the last failed attempt at the first part, for the result if it keeps failing. */
  readonly lastError?: string;
  /** Set once restored and checked; the test then only empties the scratch resource. */
  readonly result: RestoreTestResult | null;
}

const stateKey = (a: AssetRef) => `${STATE_PREFIX}restore-tests/${a.kind}/${a.name}.json`;
const purpose = (asset: string) => `restore-test-job:${asset}`;

export async function readTestState(store: BackupStorage, master: MasterKey, a: AssetRef): Promise<RestoreTestState | null> {
  const text = await getText(store, stateKey(a));
  return text ? openState<RestoreTestState>(master, purpose(`${a.kind}/${a.name}`), text, `${store.label}/${stateKey(a)}`) : null;
}

export async function saveTestState(store: BackupStorage, master: MasterKey, a: AssetRef, s: RestoreTestState): Promise<void> {
  await store.put(stateKey(a), await sealState(master, purpose(s.asset), s), { contentType: "application/json" });
}

export const dropTestState = (store: BackupStorage, a: AssetRef) => store.delete(stateKey(a));
