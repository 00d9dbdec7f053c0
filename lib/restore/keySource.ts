/**
 * The data-encryption key for the CLI, without Pulumi state: from a file (`--key-file`, hex or
 * base64), from DRPOSTURE_ENCRYPTION_KEY, or from the escrow in AWS Secrets Manager
 * (`--key-escrow drposture/prod/data-encryption-key --key-escrow-region eu-central-1`, with the
 * restorer's AWS credentials; AWS_SESSION_TOKEN for SSO or an assumed role).
 *
 * Each key is escrowed as its own secret, `<prefix>/<keyId>`, so that a rebuilt stack (with a
 * new key) never collides with the secret kept from before. `--key-escrow` takes the full name
 * or the prefix; with the prefix, the key id comes from the backups themselves (every manifest
 * names its key id). A secret named exactly as given (the single-secret layout of earlier
 * versions) is still read as is. AWS_ENDPOINT_URL_SECRETS_MANAGER (or AWS_ENDPOINT_URL) points
 * at another endpoint, as in the AWS SDKs.
 */
import { AwsClient } from "aws4fetch";
import { readFileSync } from "node:fs";
import { importMasterKey, type MasterKey } from "../format/keys";

export interface KeyOptions {
  keyFile?: string;
  keyEscrow?: string;
  keyEscrowRegion?: string;
}

export class KeySourceError extends Error {
  override readonly name = "KeySourceError";
}

/** Where the key id for an escrow prefix comes from: the newest backup the command will read. */
export type KeyIdHint = () => Promise<string | undefined>;

const KEY_ID = /\/[0-9a-f]{16}$/;

async function getSecretValue(secretId: string, region: string): Promise<{ status: number; body: { SecretString?: string; message?: string; Message?: string; __type?: string } }> {
  const id = process.env.AWS_ACCESS_KEY_ID;
  const secret = process.env.AWS_SECRET_ACCESS_KEY;
  if (!id || !secret) throw new KeySourceError("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (the restorer's) are needed to read the key escrow");
  const aws = new AwsClient({ accessKeyId: id, secretAccessKey: secret, service: "secretsmanager", region, ...(process.env.AWS_SESSION_TOKEN ? { sessionToken: process.env.AWS_SESSION_TOKEN } : {}) });
  const endpoint = (process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER ?? process.env.AWS_ENDPOINT_URL ?? `https://secretsmanager.${region}.amazonaws.com`).replace(/\/$/, "");
  let res: Response;
  try {
    res = await aws.fetch(`${endpoint}/`, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "secretsmanager.GetSecretValue" },
      body: JSON.stringify({ SecretId: secretId }),
    });
  } catch (err) {
    throw new KeySourceError(`cannot reach Secrets Manager at ${endpoint}: ${(err as Error).message}`);
  }
  return { status: res.status, body: (await res.json().catch(() => ({}))) as { SecretString?: string; message?: string; __type?: string } };
}

async function fromEscrow(escrow: string, region: string, hint?: KeyIdHint): Promise<string> {
  // A prefix: the secret of the key the backups name. (Asking for the bare prefix first would
  // be refused, not "not found": the restorer may read only names under it.)
  let secretId = escrow;
  if (!KEY_ID.test(escrow)) {
    const keyId = await hint?.();
    if (keyId) secretId = `${escrow.replace(/\/$/, "")}/${keyId}`;
  }
  let r = await getSecretValue(secretId, region);
  if (r.status !== 200 && secretId !== escrow) {
    // The single-secret layout of earlier versions: the name given is the secret itself.
    const legacy = await getSecretValue(escrow, region);
    if (legacy.status === 200) r = legacy;
  }
  if (r.status !== 200 && secretId === escrow && !KEY_ID.test(escrow)) {
    throw new KeySourceError(`reading ${escrow} from Secrets Manager failed (HTTP ${r.status} ${r.body.__type ?? ""}) and no backup was found to tell which key it needs; name the secret: --key-escrow ${escrow}/<keyId> (every manifest names its keyId)`);
  }
  if (r.status !== 200 || !r.body.SecretString) {
    throw new KeySourceError(`reading ${secretId} from Secrets Manager failed: HTTP ${r.status} ${r.body.__type ?? ""} ${r.body.message ?? r.body.Message ?? ""}`.trim());
  }
  let parsed: { keyHex?: string };
  try {
    parsed = JSON.parse(r.body.SecretString) as { keyHex?: string };
  } catch {
    throw new KeySourceError(`${secretId} does not hold the escrow JSON ({"keyHex", "keyId"})`);
  }
  if (!parsed.keyHex) throw new KeySourceError(`${secretId} holds no keyHex`);
  return parsed.keyHex;
}

export async function loadKey(o: KeyOptions, hint?: KeyIdHint): Promise<MasterKey> {
  let material: string | undefined;
  if (o.keyFile) {
    try {
      material = readFileSync(o.keyFile, "utf8");
    } catch (err) {
      throw new KeySourceError(`cannot read key file ${o.keyFile}: ${(err as Error).message}`);
    }
  } else if (o.keyEscrow) {
    if (!o.keyEscrowRegion) throw new KeySourceError("--key-escrow needs --key-escrow-region");
    material = await fromEscrow(o.keyEscrow, o.keyEscrowRegion, hint);
  } else {
    material = process.env.DRPOSTURE_ENCRYPTION_KEY;
  }
  if (!material) throw new KeySourceError("no encryption key: use --key-file, --key-escrow or DRPOSTURE_ENCRYPTION_KEY");
  try {
    return await importMasterKey(material);
  } catch (err) {
    throw new KeySourceError((err as Error).message);
  }
}
