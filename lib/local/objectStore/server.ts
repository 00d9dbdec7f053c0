/**
 * LOCAL WORLD. The strict object store's HTTP side: one endpoint per flavour (AWS S3, R2's S3
 * API), path-style URLs, every request authenticated with SigV4 against the credentials the
 * Pulumi program declares, then handed to the bucket's flavour, which authorizes and executes
 * it. It listens on HTTPS; the AWS flavour also listens on plain HTTP so that a client using
 * http:// meets the bucket policy's aws:SecureTransport denial, as it would at AWS.
 * Each request is logged (principal, operation, status, error code) for tests to inspect.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { LocalTls } from "../tls";
import { errorXml, S3Error } from "./s3Errors";
import type { S3Call, S3Reply } from "./s3Wire";
import { authenticate, parseQuery, type StoreCredential } from "./sigv4";

export interface StoreBucket {
  handle(call: S3Call): Promise<S3Reply>;
}

export interface ObjectStoreOptions {
  /** "s3" for AWS, "r2" for Cloudflare R2 (both sign with the s3 service name). */
  readonly flavour: "aws" | "r2";
  readonly tls: LocalTls;
  readonly credentials: readonly StoreCredential[];
  readonly buckets: ReadonlyMap<string, StoreBucket>;
  /** Regions the SigV4 scope may name. */
  readonly regions: readonly string[];
  /** Largest request body accepted in one request (parts and single PUTs). */
  readonly maxBodyBytes?: number;
  readonly now?: () => Date;
}

export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly principal: string | null;
  readonly status: number;
  readonly code?: string;
  readonly secure: boolean;
}

export interface ObjectStore {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  /** http://127.0.0.1:PORT (AWS flavour only): aws:SecureTransport is false there. */
  readonly plainUrl?: string;
  readonly log: LoggedRequest[];
  /** Adds a credential (temporary session keys minted by the world). */
  addCredential(c: StoreCredential): void;
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY = 256 * 1024 * 1024;

function headersOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headersDistinct)) if (v) out[k] = v.join(",");
  return out;
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > max) throw new S3Error(400, "EntityTooLarge", `Your proposed upload exceeds the maximum allowed size of the local store (${max} bytes per request)`);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).byteLength;
    if (n > max) throw new S3Error(400, "EntityTooLarge", `Your proposed upload exceeds the maximum allowed size (${max} bytes per request)`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function splitPath(rawPath: string): { bucket: string; key: string | null } {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    throw new S3Error(400, "InvalidURI", "Couldn't parse the specified URI.");
  }
  const m = /^\/([^/]+)(?:\/(.*))?$/s.exec(decoded);
  if (!m) throw new S3Error(501, "NotImplemented", "ListBuckets and virtual-hosted requests are not implemented by the local store (use path-style URLs)");
  return { bucket: m[1] as string, key: m[2] === undefined || m[2] === "" ? null : (m[2] as string) };
}

export async function startObjectStore(o: ObjectStoreOptions): Promise<ObjectStore> {
  const credentials = new Map(o.credentials.map((c) => [c.accessKeyId, c]));
  const log: LoggedRequest[] = [];
  const now = o.now ?? (() => new Date());

  async function serve(req: IncomingMessage, res: ServerResponse, secure: boolean): Promise<void> {
    const requestId = randomBytes(8).toString("hex").toUpperCase();
    const [rawPath = "/", rawQuery = ""] = (req.url ?? "/").split("?", 2) as [string, string?];
    const headers = headersOf(req);
    let principal: string | null = null;
    let reply: S3Reply;
    try {
      const body = await readBody(req, o.maxBodyBytes ?? DEFAULT_MAX_BODY);
      const who = await authenticate({ method: req.method ?? "GET", rawPath, rawQuery, headers }, credentials, "s3", o.regions, now());
      principal = who.credential.principal;
      const payloadHash = headers["x-amz-content-sha256"] ?? "";
      if (payloadHash.startsWith("STREAMING-")) throw new S3Error(501, "NotImplemented", "aws-chunked uploads (x-amz-content-sha256: STREAMING-*) are not implemented by the local store");
      if (payloadHash !== "UNSIGNED-PAYLOAD" && createHash("sha256").update(body).digest("hex") !== payloadHash) {
        throw new S3Error(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.");
      }
      const { bucket, key } = splitPath(rawPath);
      const target = o.buckets.get(bucket);
      if (!target) throw new S3Error(404, "NoSuchBucket", "The specified bucket does not exist");
      reply = await target.handle({ method: req.method ?? "GET", bucket, key, query: new Map(parseQuery(rawQuery)), headers, body, secure, principal, now: now() });
    } catch (err) {
      const e = err instanceof S3Error ? err : new S3Error(500, "InternalError", `local store failure: ${(err as Error).stack ?? String(err)}`);
      reply = { status: e.status, headers: { "content-type": "application/xml", "x-drposture-error-code": e.code }, body: req.method === "HEAD" ? undefined : errorXml(e, rawPath, requestId) } as S3Reply;
    }
    log.push({ method: req.method ?? "GET", path: rawPath, query: rawQuery, principal, status: reply.status, ...(reply.status >= 300 ? { code: reply.headers?.["x-drposture-error-code"] } : {}), secure });
    const out: Record<string, string> = { ...(reply.headers ?? {}), "x-amz-request-id": requestId };
    delete out["x-drposture-error-code"];
    const body = reply.body;
    if (body === undefined || req.method === "HEAD") {
      if (req.method !== "HEAD" && out["content-length"] === undefined) out["content-length"] = "0";
      res.writeHead(reply.status, out).end();
    } else if (typeof body === "string" || Buffer.isBuffer(body)) {
      res.writeHead(reply.status, { ...out, "content-length": String(Buffer.byteLength(body)) }).end(body);
    } else {
      res.writeHead(reply.status, out);
      createReadStream(body.file, { start: body.start, end: body.end, highWaterMark: 1 << 20 }).pipe(res);
    }
  }

  const handler = (secure: boolean) => (req: IncomingMessage, res: ServerResponse) => {
    serve(req, res, secure).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
      else res.destroy();
    });
  };
  const https = createHttpsServer({ key: o.tls.keyPem, cert: o.tls.certPem }, handler(true));
  const servers: Server[] = [https];
  // Node closes idle keep-alive sockets after 5 s without a TLS close_notify; workerd may then
  // reuse a dead pooled connection ("Network connection lost"). S3's own idle timeout is longer.
  https.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => https.listen(0, "127.0.0.1", r));
  let plainUrl: string | undefined;
  if (o.flavour === "aws") {
    const plain = createHttpServer(handler(false));
    plain.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
    servers.push(plain);
    plainUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
  }
  return {
    url: `https://127.0.0.1:${(https.address() as AddressInfo).port}`,
    ...(plainUrl ? { plainUrl } : {}),
    log,
    addCredential: (c) => void credentials.set(c.accessKeyId, c),
    close: async () => {
      for (const s of servers) {
        s.closeAllConnections?.();
        await new Promise<void>((r) => s.close(() => r()));
      }
    },
  };
}
