/**
 * The gate in front of the trigger routes: the body is read only up to its cap, then the
 * signature (lib/trigger/signature.ts) and the timestamp's freshness are checked. Nothing here
 * touches storage, and a refusal says only "unauthorized": which part failed (key, signature,
 * clock) would help an attacker more than it helps an operator, whose CLI lists the causes.
 */
import { concatBytes } from "../../lib/format/bytes";
import { importTriggerKey, isTriggerKey, MAX_BODY_BYTES, SIGNATURE_HEADER, TIMESTAMP_HEADER, timestampFresh, verifyRequest } from "../../lib/trigger/signature";
import { refuse } from "./responses";

export interface Authenticated {
  readonly body: Uint8Array;
  /** The signed timestamp (ms since the epoch): a start is honoured once per timestamp. */
  readonly timestamp: number;
}

/** The body, or null when it is longer than `cap` (read no further than cap + 1 bytes). */
async function cappedBody(request: Request, cap: number): Promise<Uint8Array | null> {
  const declared = request.headers.get("content-length");
  if (declared !== null && !(Number(declared) <= cap)) return null;
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > cap) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    parts.push(value);
  }
  return concatBytes(parts);
}

/** The authenticated request, or the refusal to answer with (413 too large, 401 otherwise). */
export async function authenticate(request: Request, triggerKey: string, now = Date.now()): Promise<Authenticated | Response> {
  const body = await cappedBody(request, MAX_BODY_BYTES);
  if (!body) return refuse(413, "request body too large");
  const stamp = request.headers.get(TIMESTAMP_HEADER) ?? "";
  const signature = request.headers.get(SIGNATURE_HEADER) ?? "";
  const timestamp = /^\d{1,16}$/.test(stamp) ? Number(stamp) : NaN;
  if (!timestampFresh(timestamp, now) || !isTriggerKey(triggerKey)) return refuse(401, "unauthorized");
  const url = new URL(request.url);
  const key = await importTriggerKey(triggerKey);
  const ok = await verifyRequest(key, { method: request.method, pathAndQuery: url.pathname + url.search, timestamp, body }, signature);
  return ok ? { body, timestamp } : refuse(401, "unauthorized");
}
