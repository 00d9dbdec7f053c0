/**
 * Sealed bookkeeping. The Worker keeps job cursors and "latest" pointers under _state/ in the
 * R2 backup bucket, which bucket locks do not protect and which any holder of the R2 writer
 * token can overwrite or delete (R2 has no put-only permission). Each such object is therefore
 * sealed with an HMAC under a key derived from the master key, bound to what it is ("job" or
 * "latest" of one asset): a forged or swapped object fails to open and is ignored (treated as
 * absent, which only makes the Worker do more: a full backup, a longer tier), never trusted.
 * A replayed older object is still a real one of that asset; the decisions that matter are
 * always checked against the signed manifests it points at.
 */
import { canonicalJson } from "./manifest";
import { fromBase64, textEncoder, toBase64 } from "./bytes";
import type { MasterKey } from "./keys";

export const SEALED_STATE_FORMAT = "drposture-state/1";

export class StateSealError extends Error {
  override readonly name = "StateSealError";
}

interface Envelope<T> {
  readonly format: typeof SEALED_STATE_FORMAT;
  readonly purpose: string;
  readonly keyId: string;
  readonly value: T;
  readonly mac: string;
}

export async function sealState<T>(master: MasterKey, purpose: string, value: T): Promise<string> {
  const body = { format: SEALED_STATE_FORMAT, purpose, keyId: master.id, value };
  const mac = await crypto.subtle.sign("HMAC", master.stateKey, textEncoder.encode(canonicalJson(body)));
  return JSON.stringify({ ...body, mac: toBase64(new Uint8Array(mac)) });
}

/** The sealed value; throws StateSealError when it was altered, is for another purpose or key. */
export async function openState<T>(master: MasterKey, purpose: string, text: string, label: string): Promise<T> {
  let env: Envelope<T>;
  try {
    env = JSON.parse(text) as Envelope<T>;
  } catch {
    throw new StateSealError(`${label} is not valid JSON`);
  }
  if (env?.format !== SEALED_STATE_FORMAT || typeof env.mac !== "string") throw new StateSealError(`${label} is not sealed state`);
  if (env.purpose !== purpose) throw new StateSealError(`${label} is sealed for ${JSON.stringify(env.purpose)}, not ${JSON.stringify(purpose)}`);
  if (env.keyId !== master.id) throw new StateSealError(`${label} was sealed with key ${env.keyId}, not ${master.id}`);
  const { mac, ...body } = env;
  let macBytes: Uint8Array<ArrayBuffer>;
  try {
    macBytes = fromBase64(mac);
  } catch {
    throw new StateSealError(`${label} has a malformed seal`);
  }
  let canonical: string;
  try {
    canonical = canonicalJson(body);
  } catch (err) {
    // A value nested deeper than the stack (planted): refused like any other bad seal, so a
    // reader that ignores bad seals is not made to fail instead.
    throw new StateSealError(`${label} cannot be checked (${(err as Error).message})`);
  }
  const ok = await crypto.subtle.verify("HMAC", master.stateKey, macBytes, textEncoder.encode(canonical));
  if (!ok) throw new StateSealError(`${label}: seal does not verify (altered)`);
  return env.value;
}
