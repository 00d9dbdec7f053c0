/**
 * The signature of a request to the backup Worker's trigger routes, shared by the Worker (which
 * verifies) and the CLI (which signs), so the two can never disagree on what is signed.
 *
 * HMAC-SHA256 under the trigger key (32 bytes, hex; a Pulumi secret bound as TRIGGER_KEY, kept
 * apart from the data-encryption key: a leaked trigger key starts backups, it reads nothing)
 * over one line per field:
 *   drposture-trigger/1, METHOD, PATH?QUERY, TIMESTAMP (ms since the epoch), hex SHA-256 of the body
 * so neither the route, the query, the time nor the body can be changed after signing. The
 * timestamp must be within MAX_CLOCK_SKEW_MS of the Worker's clock; the Worker additionally
 * honours each start's timestamp once per asset (worker/trigger/replay.ts).
 * Runs in Node (webcrypto) and in workerd alike: WebCrypto only.
 */
import { asBytes, fromHex, textEncoder, toHex } from "../format/bytes";

export const SIGNATURE_SCHEME = "drposture-trigger/1";
export const TIMESTAMP_HEADER = "x-drposture-timestamp";
export const SIGNATURE_HEADER = "x-drposture-signature";
/** Requests signed further than this from the Worker's clock, either way, are refused. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
/** A start names one asset: a few hundred bytes. Anything bigger is refused before it is read. */
export const MAX_BODY_BYTES = 4096;
/** 32 bytes, hex: what the BackupWorker component generates. */
const KEY_PATTERN = /^[0-9a-f]{64}$/;

export class TriggerKeyError extends Error {
  override readonly name = "TriggerKeyError";
}

export interface SignedParts {
  readonly method: string;
  /** Path and query string, as the URL has them ("/v1/backups/status?asset=d1%2Fapp-db&..."). */
  readonly pathAndQuery: string;
  readonly timestamp: number;
  readonly body: Uint8Array;
}

export function isTriggerKey(hex: string): boolean {
  return KEY_PATTERN.test(hex);
}

/** The trigger key as an HMAC key; throws TriggerKeyError when it is not 64 hex characters. */
export async function importTriggerKey(hex: string): Promise<CryptoKey> {
  const k = hex.trim().toLowerCase();
  if (!isTriggerKey(k)) throw new TriggerKeyError("the trigger key must be 64 hex characters (32 bytes), as `pulumi stack output backupTriggerKey --show-secrets` prints it");
  return crypto.subtle.importKey("raw", fromHex(k), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

async function signedBytes(p: SignedParts): Promise<Uint8Array<ArrayBuffer>> {
  const bodyHash = toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", asBytes(p.body))));
  return asBytes(textEncoder.encode([SIGNATURE_SCHEME, p.method.toUpperCase(), p.pathAndQuery, String(p.timestamp), bodyHash].join("\n")));
}

/** The signature header's value: hex HMAC-SHA256 of the signed lines. */
export async function signRequest(key: CryptoKey, p: SignedParts): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.sign("HMAC", key, await signedBytes(p))));
}

/** Whether `signature` (hex) signs `p`; compared in constant time by WebCrypto's verify. */
export async function verifyRequest(key: CryptoKey, p: SignedParts, signature: string): Promise<boolean> {
  if (!/^[0-9a-f]{64}$/.test(signature)) return false;
  return crypto.subtle.verify("HMAC", key, fromHex(signature), await signedBytes(p));
}

/** Whether a signed timestamp is within the allowed skew of `now` (both ms since the epoch). */
export function timestampFresh(timestamp: number, now: number): boolean {
  return Number.isSafeInteger(timestamp) && Math.abs(now - timestamp) <= MAX_CLOCK_SKEW_MS;
}

/** The headers of a signed request (the CLI's side). */
export async function signedHeaders(key: CryptoKey, p: SignedParts): Promise<Record<string, string>> {
  return { [TIMESTAMP_HEADER]: String(p.timestamp), [SIGNATURE_HEADER]: await signRequest(key, p) };
}
