/**
 * LOCAL WORLD. STAND-IN, NOT AWS SECRETS MANAGER. The key escrow as a restore meets it: the
 * secrets the program declares (created as `pulumi up` would create them), GetSecretValue over
 * Secrets Manager's JSON protocol, each request SigV4-authenticated and authorized by the IAM
 * evaluator over the caller's identity policies and the secret's resource policy. CreateSecret
 * refuses a name that exists, as AWS does (ResourceExistsException), including secrets kept by
 * retainOnDelete from an earlier deployment.
 * Sources: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html,
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { authorize, type AwsPrincipal, type PolicyDocument } from "./objectStore/iamAuthorizer";
import { S3Error } from "./objectStore/s3Errors";
import { authenticate, type StoreCredential } from "./objectStore/sigv4";
import type { LocalTls } from "./tls";

export interface StoredSecret {
  readonly name: string;
  readonly arn: string;
  readonly policy?: PolicyDocument;
  readonly secretString?: string;
  readonly versionId: string;
  readonly createdAt: Date;
}

export class SecretsManagerError extends Error {
  constructor(readonly type: string, message: string) {
    super(message);
    this.name = type;
  }
}

export class SecretsManagerStandin {
  private readonly secrets = new Map<string, StoredSecret>();
  url = "";
  private server?: ReturnType<typeof createServer>;

  constructor(
    readonly region: string,
    readonly accountId: string,
    private readonly credentials: ReadonlyMap<string, StoreCredential>,
    private readonly principals: ReadonlyMap<string, AwsPrincipal>,
  ) {}

  /** CreateSecret (what `pulumi up` does for an aws.secretsmanager.Secret + SecretVersion). */
  create(s: { name: string; arn?: string; policy?: PolicyDocument; secretString?: string }): StoredSecret {
    if (this.secrets.has(s.name)) throw new SecretsManagerError("ResourceExistsException", `The operation failed because the secret ${s.name} already exists.`);
    const arn = s.arn ?? `arn:aws:secretsmanager:${this.region}:${this.accountId}:secret:${s.name}-${randomBytes(3).toString("hex")}`;
    const stored: StoredSecret = { name: s.name, arn, ...(s.policy ? { policy: s.policy } : {}), ...(s.secretString !== undefined ? { secretString: s.secretString } : {}), versionId: randomUUID(), createdAt: new Date() };
    this.secrets.set(s.name, stored);
    return stored;
  }

  private find(id: string): StoredSecret {
    const s = this.secrets.get(id) ?? [...this.secrets.values()].find((x) => x.arn === id);
    if (!s) throw new SecretsManagerError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
    return s;
  }

  private async getSecretValue(principal: AwsPrincipal, body: { SecretId?: string }): Promise<unknown> {
    if (!body.SecretId) throw new SecretsManagerError("InvalidParameterException", "SecretId is required");
    // AWS answers AccessDenied before revealing whether a secret exists to an unauthorized caller.
    const target = this.secrets.get(body.SecretId) ?? [...this.secrets.values()].find((x) => x.arn === body.SecretId);
    const resource = target?.arn ?? `arn:aws:secretsmanager:${this.region}:${this.accountId}:secret:${body.SecretId}`;
    const decision = await authorize({ principal, action: "secretsmanager:GetSecretValue", resource, resourceAccount: this.accountId, context: { "aws:SecureTransport": "true" }, ...(target?.policy ? { resourcePolicy: target.policy } : {}) });
    if (decision !== "Allowed") throw new SecretsManagerError("AccessDeniedException", `User: ${principal.arn} is not authorized to perform: secretsmanager:GetSecretValue on resource: ${body.SecretId}`);
    const s = this.find(body.SecretId);
    if (s.secretString === undefined) throw new SecretsManagerError("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT");
    return { ARN: s.arn, Name: s.name, SecretString: s.secretString, VersionId: s.versionId, VersionStages: ["AWSCURRENT"], CreatedDate: s.createdAt.getTime() / 1000 };
  }

  async start(tls: LocalTls): Promise<string> {
    const server = createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => void this.serve(req, res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    this.server = server;
    this.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.url;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/x-amz-json-1.1" }).end(JSON.stringify(body));
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headersDistinct)) if (v) headers[k] = v.join(",");
      const [rawPath = "/", rawQuery = ""] = (req.url ?? "/").split("?", 2) as [string, string?];
      const raw = Buffer.concat(chunks);
      const who = await authenticate({ method: req.method ?? "POST", rawPath, rawQuery, headers, body: raw }, this.credentials, "secretsmanager", [this.region]).catch((err: unknown) => {
        throw err instanceof S3Error ? new SecretsManagerError(err.code === "InvalidAccessKeyId" ? "UnrecognizedClientException" : err.code, err.message) : err;
      });
      const principal = this.principals.get(who.credential.principal);
      if (!principal) throw new SecretsManagerError("AccessDeniedException", "unknown principal");
      const target = headers["x-amz-target"];
      const body = JSON.parse(raw.toString("utf8") || "{}") as { SecretId?: string };
      if (target !== "secretsmanager.GetSecretValue") throw new SecretsManagerError("UnknownOperationException", `${target ?? "no X-Amz-Target"} is not implemented by the stand-in`);
      reply(200, await this.getSecretValue(principal, body));
    } catch (err) {
      const e = err instanceof SecretsManagerError ? err : new SecretsManagerError("InternalServiceError", (err as Error).message);
      reply(e.type === "InternalServiceError" ? 500 : 400, { __type: e.type, message: e.message });
    }
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
