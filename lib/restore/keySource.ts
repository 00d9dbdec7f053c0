/**
 * The data-encryption key for the CLI, without Pulumi state: from a file (`--key-file`, hex or
 * base64), from DRPOSTURE_ENCRYPTION_KEY, or from the escrow in AWS Secrets Manager
 * (`--key-escrow drposture/prod/data-encryption-key --key-escrow-region eu-central-1`, with the
 * restorer's AWS credentials).
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

async function fromEscrow(secretId: string, region: string): Promise<string> {
  const id = process.env.AWS_ACCESS_KEY_ID;
  const secret = process.env.AWS_SECRET_ACCESS_KEY;
  if (!id || !secret) throw new KeySourceError("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (the restorer's) are needed to read the key escrow");
  const aws = new AwsClient({ accessKeyId: id, secretAccessKey: secret, service: "secretsmanager", region, ...(process.env.AWS_SESSION_TOKEN ? { sessionToken: process.env.AWS_SESSION_TOKEN } : {}) });
  const res = await aws.fetch(`https://secretsmanager.${region}.amazonaws.com/`, {
    method: "POST",
    headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "secretsmanager.GetSecretValue" },
    body: JSON.stringify({ SecretId: secretId }),
  });
  const body = (await res.json()) as { SecretString?: string; message?: string };
  if (!res.ok || !body.SecretString) throw new KeySourceError(`reading ${secretId} from Secrets Manager failed: HTTP ${res.status} ${body.message ?? ""}`);
  const parsed = JSON.parse(body.SecretString) as { keyHex?: string };
  if (!parsed.keyHex) throw new KeySourceError(`${secretId} holds no keyHex`);
  return parsed.keyHex;
}

export async function loadKey(o: KeyOptions): Promise<MasterKey> {
  let material: string | undefined;
  if (o.keyFile) {
    try {
      material = readFileSync(o.keyFile, "utf8");
    } catch (err) {
      throw new KeySourceError(`cannot read key file ${o.keyFile}: ${(err as Error).message}`);
    }
  } else if (o.keyEscrow) {
    if (!o.keyEscrowRegion) throw new KeySourceError("--key-escrow needs --key-escrow-region");
    material = await fromEscrow(o.keyEscrow, o.keyEscrowRegion);
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
