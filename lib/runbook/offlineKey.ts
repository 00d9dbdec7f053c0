/**
 * The offline copy of the data-encryption key: the one thing a restore needs that AWS would
 * otherwise hold alone (Secrets Manager). Where it lives: a file per key id
 * (`drposture-<stack>-data-key-<keyId>.hex`, the 64 hex characters `--key-file` reads), outside
 * both AWS and Cloudflare: in the team's password manager and on an encrypted USB key in a safe,
 * reachable by two people. It is made from the escrow after every key change, and checked
 * against the R2 copy, which is what it will have to open when AWS is gone.
 */
import { r2ReaderLogin, restorerLogin } from "./commands";
import type { Ctx } from "./context";
import { sh } from "./markdown";
import { shq } from "./shellQuote";

export const offlineKeyFileName = (stack: string) => `drposture-${stack}-data-key-<keyId>.hex`;

/** Making (and checking) the offline copy: done ahead of time, after every `pulumi up` that
 * changes the key (encryptionKeyId). */
export function offlineKeyCopy(c: Ctx): string[] {
  const { p, n } = c;
  const stack = shq(p.stack);
  return [
    "### Before any disaster: the offline key copy",
    "",
    `AWS holds the only online copy of the data-encryption key (Secrets Manager, \`${n.escrow}/<keyId>\`). Keep a second one outside AWS and Cloudflare: the file \`${offlineKeyFileName(p.stack)}\` (64 hex characters, what \`--key-file\` reads) in the team's password manager and on an encrypted USB key in the office safe, reachable by two people. Make it after every \`pulumi up\` that changes \`encryptionKeyId\`, keep the old ones (old backups need them), and check it opens the R2 copy:`,
    "",
    sh([
      ...restorerLogin(p),
      `KEY_ID=$(pulumi stack output encryptionKeyId --stack ${stack})`,
      `KEY_FILE=${shq(`drposture-${p.stack}-data-key-`)}"$KEY_ID".hex`,
      // A subshell: the umask (file readable by its owner only) must not outlive the command.
      `(umask 077 && aws secretsmanager get-secret-value --region ${shq(p.vault.s3Region)} --secret-id ${shq(`${n.escrow}/`)}"$KEY_ID" --query SecretString --output text | jq -r .keyHex > "$KEY_FILE")`,
      ...r2ReaderLogin(p),
      `drposture verify --store ${n.r2} --key-file "$KEY_FILE" --read-data 1`,
      'echo "store $KEY_FILE offline (password manager + encrypted USB), then delete it here"',
    ]),
    "",
  ];
}

