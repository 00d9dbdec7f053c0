/**
 * Per-key facts read off the schema: Pulumi config type, description, secretness. Used to
 * decode the raw strings Pulumi hands the program, to generate Pulumi.yaml's `config:` block
 * and the README's config reference, and by `drposture check` to stand in for secure values.
 */
import { z } from "zod";
import { CONFIG_NAMESPACE, PostureConfigError } from "./errors";
import { CONFIG_KEYS, configObject, type ConfigKey } from "./schema";

export type PulumiConfigType = "string" | "integer" | "boolean" | "array" | "object";

export interface ConfigKeyInfo {
  readonly key: ConfigKey;
  readonly type: PulumiConfigType;
  readonly description: string;
  readonly secret: boolean;
  readonly required: boolean;
  /** A value that passes validation, used where a secure value cannot be decrypted. */
  readonly placeholder?: string;
}

const PLACEHOLDERS: Partial<Record<ConfigKey, string>> = {
  alertWebhookUrl: "https://secret.invalid/drposture-placeholder",
  neonApiKey: "secret-placeholder",
};

let keyInfo: ConfigKeyInfo[] | undefined;

/** The schema's keys as Pulumi config sees them. Computed once: z.toJSONSchema per key costs
 * a few hundred ms, and every stack read (drposture check's critical path) asks twice. */
export function configKeyInfo(): ConfigKeyInfo[] {
  keyInfo ??= CONFIG_KEYS.map((key) => {
    const field = configObject.shape[key] as z.ZodType;
    const json = z.toJSONSchema(field, { io: "input", unrepresentable: "any" }) as { type?: string };
    const meta = (field.meta() ?? {}) as { description?: string; secret?: boolean };
    const type = (json.type === "number" ? "integer" : json.type ?? "string") as PulumiConfigType;
    const secret = meta.secret === true;
    return {
      key,
      type,
      description: meta.description ?? "",
      secret,
      required: !field.safeParse(undefined).success,
      ...(secret && PLACEHOLDERS[key] ? { placeholder: PLACEHOLDERS[key] } : {}),
    };
  });
  return keyInfo;
}

/** Decodes the strings Pulumi passes for each key (structured values arrive as JSON). `config`
 * is the whole stack config (every namespace). A `drposture:` key the schema does not know is
 * passed through as it is, so that validation reports it (a typo must not fall back to a
 * default) together with every other problem. */
export function decodeRawConfig(config: Readonly<Record<string, string>>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  const problems: string[] = [];
  const known = new Set<string>(CONFIG_KEYS);
  for (const [fullKey, value] of Object.entries(config)) {
    const key = fullKey.slice(CONFIG_NAMESPACE.length + 1);
    if (fullKey.startsWith(`${CONFIG_NAMESPACE}:`) && !known.has(key)) raw[key] = value;
  }
  for (const info of configKeyInfo()) {
    const value = config[`${CONFIG_NAMESPACE}:${info.key}`];
    if (value === undefined) continue;
    if (info.type === "object" || info.type === "array") {
      try {
        raw[info.key] = JSON.parse(value);
      } catch {
        problems.push(`${CONFIG_NAMESPACE}:${info.key}: must be ${info.type === "object" ? "an object" : "a list"}, got ${JSON.stringify(value)}`);
      }
    } else if (info.type === "integer") {
      raw[info.key] = Number(value);
    } else {
      raw[info.key] = value;
    }
  }
  if (problems.length) throw new PostureConfigError(problems);
  return raw;
}
