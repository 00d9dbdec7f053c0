/**
 * The CLI's side of the trigger routes (lib/trigger/protocol.ts): signs each request with the
 * trigger key, starts a backup and polls its status until the manifest is committed. Used by
 * `drposture backup now` and by the drill, against the deployed Worker or the local one alike.
 */
import { textEncoder } from "../format/bytes";
import { START_PATH, STATUS_PATH, type ConflictResponse, type StartedResponse, type StatusResponse } from "./protocol";
import { importTriggerKey, signedHeaders } from "./signature";

/** The Worker refused or failed a request; `status` is its HTTP status (0: no answer). */
export class TriggerError extends Error {
  override readonly name = "TriggerError";
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

export type StartAnswer = { readonly kind: "started"; readonly backupId: string } | { readonly kind: "running"; readonly backupId?: string };

const WHY_401 = "the Worker refused the signature (401): check DRPOSTURE_TRIGGER_KEY against `pulumi stack output backupTriggerKey --show-secrets`, and this machine's clock (requests older or newer than 5 minutes are refused)";

export class TriggerClient {
  private key?: Promise<CryptoKey>;
  private lastTimestamp = 0;

  constructor(private readonly baseUrl: string, private readonly keyHex: string, private readonly now: () => number = Date.now) {}

  /** A strictly increasing timestamp: the Worker honours each start's timestamp once. */
  private timestamp(): number {
    this.lastTimestamp = Math.max(this.now(), this.lastTimestamp + 1);
    return this.lastTimestamp;
  }

  private async send(method: "GET" | "POST", pathAndQuery: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    this.key ??= importTriggerKey(this.keyHex);
    const bytes = body === undefined ? new Uint8Array(0) : textEncoder.encode(JSON.stringify(body));
    const headers = await signedHeaders(await this.key, { method, pathAndQuery, timestamp: this.timestamp(), body: bytes });
    const url = new URL(pathAndQuery, this.baseUrl);
    const res = await fetch(url, { method, headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) }, ...(body === undefined ? {} : { body: bytes }), redirect: "error" });
    const text = await res.text();
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new TriggerError(`${url.origin} answered HTTP ${res.status} with no JSON: is this the backup Worker's URL (pulumi stack output backupWorkerUrl)?`, res.status);
    }
    if (res.status === 401) throw new TriggerError(WHY_401, 401);
    if (res.status === 404 && json.error === "not found") throw new TriggerError(`${url.origin} serves no backup-now routes: the Worker there predates \`backup now\` or has no TRIGGER_KEY binding (run pulumi up), or the URL is not the backup Worker's`, 404);
    return { status: res.status, json };
  }

  /** Starts a backup of `asset` ("kind/name"): started, or the job already running. */
  async start(asset: string): Promise<StartAnswer> {
    const { status, json } = await this.send("POST", START_PATH, { asset });
    if (status === 202) return { kind: "started", backupId: (json as unknown as StartedResponse).backupId };
    const conflict = json as unknown as ConflictResponse;
    if (status === 409 && conflict.code === "running") return { kind: "running", ...(conflict.backupId ? { backupId: conflict.backupId } : {}) };
    throw new TriggerError(`the Worker refused to start a backup of ${asset} (HTTP ${status}): ${String(json.error ?? "no reason given")}`, status);
  }

  async status(asset: string, backupId: string): Promise<StatusResponse> {
    const q = new URLSearchParams({ asset, backupId });
    const { status, json } = await this.send("GET", `${STATUS_PATH}?${q.toString()}`);
    if (status !== 200) throw new TriggerError(`the Worker refused the status of backup ${backupId} (HTTP ${status}): ${String(json.error ?? "no reason given")}`, status);
    return json as unknown as StatusResponse;
  }
}
