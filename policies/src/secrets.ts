/** Keys and tokens reach Workers only as secret bindings. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { bindingsOf } from "./backupPlan";
import { is, T } from "./resources";

const SECRET_NAME = /(KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL|WEBHOOK|DSN)/i;
const SECRET_VALUE = /(AKIA[0-9A-Z]{16}|-----BEGIN|xox[bp]-|https:\/\/hooks\.|routing_key=)/;

export const workerSecretsAreSecret: ResourceValidationPolicy = {
  name: "worker-secrets-are-secret",
  description:
    "Worker bindings that carry keys, tokens, passwords or webhook URLs are secret_text (encrypted, never shown), never plain_text or json; a backup Worker has its ENCRYPTION_KEY as a secret binding.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (!is(args, T.workersScript)) return;
    const bindings = bindingsOf({ props: args.props } as never);
    for (const b of bindings) {
      if (b.type === "secret_text") continue;
      const value = typeof b.text === "string" ? b.text : typeof b.json === "string" ? b.json : "";
      if ((b.type === "plain_text" || b.type === "json") && (SECRET_NAME.test(String(b.name)) || SECRET_VALUE.test(value))) {
        report(`Binding ${b.name} of Worker ${args.props.scriptName} looks like a secret but is ${b.type}; bind it as secret_text.`);
      }
    }
    const isBackupWorker = bindings.some((b) => b.name === "BACKUP_PLAN");
    const key = bindings.find((b) => b.name === "ENCRYPTION_KEY");
    if (isBackupWorker && key?.type !== "secret_text") {
      report(`Backup Worker ${args.props.scriptName} has no ENCRYPTION_KEY secret binding${key ? ` (it is ${key.type})` : ""}.`);
    }
  },
};
