/**
 * LOCAL WORLD. Authenticates S3 API requests the way S3 and R2 do: AWS Signature Version 4 in
 * the Authorization header, recomputed here with the AWS SDK's own signer (@smithy/signature-v4,
 * an implementation independent of the aws4fetch client the project uses, so a canonicalization
 * bug in the client fails here as it would at AWS). Checked, with S3's error codes:
 *   - the access key is known (InvalidAccessKeyId), temporary keys carry their session token in
 *     a signed X-Amz-Security-Token header (InvalidToken);
 *   - the credential scope names this service and the bucket's region (AuthorizationHeaderMalformed);
 *   - x-amz-date is within 15 minutes of now (RequestTimeTooSkewed);
 *   - the signature matches (SignatureDoesNotMatch).
 * Sources: https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
 */
import { SignatureV4 } from "@smithy/signature-v4";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { S3Error } from "./s3Errors";

/** A credential the store knows, and who it belongs to. */
export interface StoreCredential {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Temporary credentials (STS, SSO) are only valid with their session token. */
  readonly sessionToken?: string;
  readonly principal: string;
}

export interface RawRequest {
  readonly method: string;
  /** Path as received, still percent-encoded. */
  readonly rawPath: string;
  /** Query string as received, without '?'. */
  readonly rawQuery: string;
  /** Lower-case header names; repeated headers joined with ','. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body, for services that sign its hash without an x-amz-content-sha256 header. */
  readonly body?: Uint8Array;
}

const MAX_SKEW_MS = 15 * 60_000;

type SourceData = string | ArrayBuffer | ArrayBufferView;
const asInput = (d: SourceData): string | Uint8Array => (typeof d === "string" ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength));

/** SHA-256 and HMAC-SHA256 over node:crypto, in the shape the smithy signer takes. */
class NodeSha256 {
  private hash;
  private readonly secret?: string | Uint8Array;
  constructor(secret?: SourceData) {
    this.secret = secret === undefined ? undefined : asInput(secret);
    this.hash = this.secret === undefined ? createHash("sha256") : createHmac("sha256", this.secret);
  }
  update(data: SourceData): void {
    this.hash.update(asInput(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.secret === undefined ? createHash("sha256") : createHmac("sha256", this.secret);
  }
}

/** RFC 3986 escaping as SigV4 defines it (encodeURIComponent leaves !'()* alone). */
export function uriEscape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Query parameters decoded as S3 decodes them ('+' stays a plus sign). */
export function parseQuery(raw: string): Array<[string, string]> {
  if (!raw) return [];
  return raw.split("&").filter(Boolean).map((pair) => {
    const at = pair.indexOf("=");
    const k = at < 0 ? pair : pair.slice(0, at);
    const v = at < 0 ? "" : pair.slice(at + 1);
    try {
      return [decodeURIComponent(k), decodeURIComponent(v)];
    } catch {
      throw new S3Error(400, "InvalidArgument", "malformed percent-encoding in the query string");
    }
  });
}

interface AuthHeader {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(value: string | undefined): AuthHeader {
  if (!value) throw new S3Error(403, "AccessDenied", "Anonymous requests are not allowed: the request has no Authorization header");
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]*)\/([^/]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/.exec(value.trim());
  if (!m) throw new S3Error(400, "AuthorizationHeaderMalformed", "The authorization header is malformed; only AWS4-HMAC-SHA256 header authentication is supported");
  const [, accessKeyId, date, region, service, signed, signature] = m as unknown as string[];
  return { accessKeyId: accessKeyId!, date: date!, region: region!, service: service!, signedHeaders: signed!.split(";"), signature: signature! };
}

function parseAmzDate(v: string | undefined): Date {
  const m = v ? /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(v) : null;
  if (!m) throw new S3Error(403, "AccessDenied", "AWS authentication requires a valid x-amz-date header");
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
}

export interface Authenticated {
  readonly credential: StoreCredential;
  readonly region: string;
}

/**
 * Authenticates a request. `regions` are the regions the scope may name (S3: the bucket's
 * region; R2: "auto" and its documented aliases).
 */
export async function authenticate(req: RawRequest, credentials: ReadonlyMap<string, StoreCredential>, service: string, regions: readonly string[], now = new Date()): Promise<Authenticated> {
  if (new URLSearchParams(req.rawQuery).has("X-Amz-Signature")) {
    throw new S3Error(501, "NotImplemented", "presigned (query-string) authentication is not implemented by the local store");
  }
  const auth = parseAuthorization(req.headers.authorization);
  const credential = credentials.get(auth.accessKeyId);
  if (!credential) throw new S3Error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.");
  if (auth.service !== service) throw new S3Error(400, "AuthorizationHeaderMalformed", `The authorization header is malformed; incorrect service "${auth.service}". This endpoint belongs to "${service}".`);
  if (!regions.includes(auth.region)) {
    throw new S3Error(400, "AuthorizationHeaderMalformed", `The authorization header is malformed; the region '${auth.region}' is wrong; expecting '${regions[0]}'`);
  }
  // S3 signs the payload hash as a header; other services sign the body's hash directly.
  for (const h of ["host", "x-amz-date", ...(service === "s3" ? ["x-amz-content-sha256"] : [])]) {
    if (!auth.signedHeaders.includes(h)) throw new S3Error(403, "AccessDenied", `The header ${h} must be signed`);
  }
  const token = req.headers["x-amz-security-token"];
  if (credential.sessionToken !== undefined) {
    if (!token || token !== credential.sessionToken || !auth.signedHeaders.includes("x-amz-security-token")) {
      throw new S3Error(400, "InvalidToken", "The provided token is malformed or otherwise invalid.");
    }
  } else if (token) {
    throw new S3Error(400, "InvalidToken", "The provided token is malformed or otherwise invalid.");
  }
  const signingDate = parseAmzDate(req.headers["x-amz-date"]);
  if (Math.abs(now.getTime() - signingDate.getTime()) > MAX_SKEW_MS) {
    throw new S3Error(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.");
  }
  if (auth.date !== req.headers["x-amz-date"]?.slice(0, 8)) throw new S3Error(403, "SignatureDoesNotMatch", "The credential scope date does not match x-amz-date.");

  const headers: Record<string, string> = {};
  for (const h of auth.signedHeaders) {
    const v = req.headers[h];
    if (v === undefined) throw new S3Error(403, "SignatureDoesNotMatch", `signed header ${h} is missing from the request`);
    headers[h] = v;
  }
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of parseQuery(req.rawQuery)) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  let path: string;
  try {
    // S3 canonical URI: each segment of the decoded path escaped once, never normalized.
    path = decodeURIComponent(req.rawPath).split("/").map(uriEscape).join("/");
  } catch {
    throw new S3Error(400, "InvalidURI", "Couldn't parse the specified URI.");
  }
  const signer = new SignatureV4({
    service,
    region: auth.region,
    credentials: { accessKeyId: credential.accessKeyId, secretAccessKey: credential.secretAccessKey, ...(credential.sessionToken ? { sessionToken: credential.sessionToken } : {}) },
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const [hostname, port] = (headers.host ?? "").split(":");
  const signed = await signer.sign(
    { method: req.method, protocol: "https:", hostname: hostname ?? "", ...(port ? { port: Number(port) } : {}), path, query, headers, ...(req.body ? { body: req.body } : {}) },
    { signingDate, signableHeaders: new Set(auth.signedHeaders) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization ?? signed.headers.Authorization))?.[1] ?? "";
  if (expected.length !== auth.signature.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(auth.signature))) {
    throw new S3Error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.");
  }
  return { credential, region: auth.region };
}
