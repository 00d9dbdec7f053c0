/**
 * Reads Pulumi.<stack>.yaml the way the Pulumi CLI hands config to a program: every value as
 * a string (structured values as JSON), keys namespaced, secret keys listed. `secure:` values
 * cannot be decrypted without the stack's secrets provider, so they stand in as opaque
 * placeholders that still pass validation (see configKeys.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { configKeyInfo } from "../posture/configKeys";
import { CONFIG_NAMESPACE } from "../posture/errors";

export const OPAQUE_SECRET = "[secret]";

export interface ProgramConfig {
  readonly project: string;
  readonly stack: string;
  readonly config: Record<string, string>;
  readonly secretKeys: string[];
}

export class StackConfigError extends Error {
  override readonly name = "StackConfigError";
}

function isSecure(value: unknown): value is { secure: string } {
  return typeof value === "object" && value !== null && "secure" in value && Object.keys(value).length === 1;
}

/** Replaces nested secure values (Pulumi allows them inside objects) with the opaque marker. */
function scrubSecure(value: unknown): { value: unknown; secret: boolean } {
  if (isSecure(value)) return { value: OPAQUE_SECRET, secret: true };
  if (Array.isArray(value)) {
    const items = value.map(scrubSecure);
    return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
  }
  if (typeof value === "object" && value !== null) {
    let secret = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const s = scrubSecure(v);
      out[k] = s.value;
      secret ||= s.secret;
    }
    return { value: out, secret };
  }
  return { value, secret: false };
}

export function readStackConfig(dir: string, stack: string): ProgramConfig {
  const projectFile = ["Pulumi.yaml", "Pulumi.yml"].map((f) => path.join(dir, f)).find(existsSync);
  if (!projectFile) throw new StackConfigError(`no Pulumi.yaml in ${dir}`);
  const project = YAML.parse(readFileSync(projectFile, "utf8")) as { name?: string; config?: Record<string, unknown> };
  if (!project?.name) throw new StackConfigError(`${projectFile} has no project name`);
  const stackFile = path.join(dir, `Pulumi.${stack}.yaml`);
  if (!existsSync(stackFile)) throw new StackConfigError(`no stack config ${stackFile} (stack "${stack}")`);
  let parsed: { config?: Record<string, unknown> } | null;
  try {
    parsed = YAML.parse(readFileSync(stackFile, "utf8")) as { config?: Record<string, unknown> } | null;
  } catch (err) {
    throw new StackConfigError(`${stackFile} is not valid YAML: ${(err as Error).message}`);
  }

  const placeholders = new Map(configKeyInfo().map((i) => [`${CONFIG_NAMESPACE}:${i.key}`, i.placeholder]));
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  const put = (key: string, raw: unknown) => {
    const full = key.includes(":") ? key : `${project.name}:${key}`;
    if (isSecure(raw)) {
      config[full] = placeholders.get(full) ?? OPAQUE_SECRET;
      secretKeys.push(full);
      return;
    }
    const { value, secret } = scrubSecure(raw);
    config[full] = typeof value === "string" ? value : JSON.stringify(value);
    if (secret) secretKeys.push(full);
  };
  // Project-level defaults first, then the stack's own values.
  for (const [key, decl] of Object.entries(project.config ?? {})) {
    if (typeof decl !== "object" || decl === null) put(key, decl);
    else if ("value" in decl) put(key, (decl as { value: unknown }).value);
    else if ("default" in decl) put(key, (decl as { default: unknown }).default);
  }
  for (const [key, value] of Object.entries(parsed?.config ?? {})) put(key, value);
  return { project: project.name, stack, config, secretKeys: [...new Set(secretKeys)] };
}
