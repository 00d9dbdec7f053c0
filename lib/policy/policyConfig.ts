/**
 * The policy pack config (`--policy-config FILE`, as `pulumi preview --policy-pack-config`),
 * read and validated the way the Pulumi CLI does before any resource is analysed
 * (pulumi/pulumi sdk/go/common/resource/analyzer/config.go: parsePolicyPackConfig,
 * ReconcilePolicyPackConfig, validatePolicyConfig):
 *  - each entry is an enforcement level, or an object with an optional `enforcementLevel`
 *    and the policy's properties;
 *  - every policy's properties are its schema defaults overridden by the file's, and the
 *    result is validated against the policy's `configSchema` as the JSON schema
 *    `{type: "object", properties, required}` (Pulumi uses gojsonschema; we convert the same
 *    schema with zod's fromJSONSchema rather than hand-write a validator).
 * Stricter than Pulumi, because a typo must not silently weaken a policy: a policy name the
 * pack does not have, or a property its schema does not declare, is an error too.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { z } from "zod";
import { closest } from "../posture/didYouMean";
import { describeIssue, show } from "../posture/issueText";
import { ENFORCEMENT_LEVELS, type EnforcementLevel, type PackInfo, type PolicyDescription } from "./policyPackHost";

/** Bad policy pack config: exit 2 (cli/errorBoundary.ts knows the name). */
export class PolicyConfigError extends Error {
  override readonly name = "PolicyConfigError";
  constructor(file: string, readonly problems: string[]) {
    super(`invalid policy pack config ${file} (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

export interface PolicyConfigEntry {
  readonly enforcementLevel?: EnforcementLevel;
  readonly properties: Record<string, unknown>;
}

export type PolicyConfigFile = Record<string, PolicyConfigEntry>;

export type ReconciledConfig = Record<string, { enforcementLevel: EnforcementLevel; properties: Record<string, unknown> }>;

const isLevel = (v: unknown): v is EnforcementLevel => typeof v === "string" && (ENFORCEMENT_LEVELS as readonly string[]).includes(v);
const LEVELS = ENFORCEMENT_LEVELS.map((l) => `"${l}"`).join(", ");

/** Reads FILE: a JSON object of policy name -> level or {enforcementLevel?, ...properties}. */
export function readPolicyConfigFile(file: string): PolicyConfigFile {
  if (!existsSync(file)) throw new PolicyConfigError(file, ["no such file"]);
  if (statSync(file).isDirectory()) throw new PolicyConfigError(file, ["is a directory, not a JSON file"]);
  const text = readFileSync(file, "utf8");
  if (text.trim() === "") return {}; // Pulumi accepts an empty file.
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PolicyConfigError(file, [`not valid JSON: ${(err as Error).message}`]);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new PolicyConfigError(file, [`must be a JSON object of policy name -> config, got ${show(json)}`]);
  const out: Record<string, PolicyConfigEntry> = {};
  const problems: string[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (typeof value === "string") {
      if (isLevel(value)) out[name] = { enforcementLevel: value, properties: {} };
      else problems.push(`${name}: enforcement level must be one of ${LEVELS}, got ${show(value)}`);
    } else if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      const { enforcementLevel, ...properties } = value as Record<string, unknown>;
      if (enforcementLevel !== undefined && !isLevel(enforcementLevel)) problems.push(`${name}.enforcementLevel: must be one of ${LEVELS}, got ${show(enforcementLevel)}`);
      else out[name] = { ...(enforcementLevel ? { enforcementLevel } : {}), properties };
    } else {
      problems.push(`${name}: must be an enforcement level (${LEVELS}) or an object of the policy's properties, got ${show(value)}`);
    }
  }
  if (problems.length) throw new PolicyConfigError(file, problems);
  return out;
}

type JsonSchema = Record<string, unknown> & { properties?: Record<string, JsonSchema>; propertyNames?: { pattern?: string }; items?: JsonSchema };

/** A policy's config schema as Pulumi validates it, closed to undeclared properties. */
function policySchema(p: PolicyDescription): JsonSchema {
  return { type: "object", properties: p.configSchema?.properties ?? {}, required: p.configSchema?.required ?? [], additionalProperties: false };
}

/** The JSON schema at a path inside an object schema (numbers step into `items`). */
function schemaAt(schema: JsonSchema, path: ReadonlyArray<PropertyKey>): JsonSchema | undefined {
  let s: JsonSchema | undefined = schema;
  for (const part of path) s = typeof part === "number" ? s?.items : s?.properties?.[String(part)];
  return s;
}

function where(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
}

/** One line per problem: policy, property path, what is allowed, what was given. */
function describe(policy: string, schema: JsonSchema, issue: z.core.$ZodIssue): string[] {
  const at = (path: ReadonlyArray<PropertyKey>) => `${policy}: ${path.length ? `${where(path)}: ` : ""}`;
  if (issue.code === "unrecognized_keys") {
    const known = Object.keys(schemaAt(schema, issue.path)?.properties ?? {});
    return issue.keys.map((k) => {
      const guess = closest(k, known);
      return `${at([...issue.path, k])}unknown property${guess ? ` (did you mean ${guess}?)` : ""}; known: ${known.join(", ") || "none"}`;
    });
  }
  if (issue.code === "invalid_key") {
    const pattern = schemaAt(schema, issue.path.slice(0, -1))?.propertyNames?.pattern;
    return [`${at(issue.path)}property name not allowed${pattern ? `: must match ${pattern}` : ""}`];
  }
  return [`${at(issue.path)}${describeIssue(issue)}`];
}

/** Schema defaults, overridden by `all` and by each policy's entry; then validated. Throws
 * PolicyConfigError listing every problem. */
export function reconcilePolicyConfig(info: PackInfo, file: PolicyConfigFile, fileName: string): ReconciledConfig {
  const problems: string[] = [];
  const known = info.policies.map((p) => p.name);
  for (const name of Object.keys(file)) {
    if (name === "all" || known.includes(name)) continue;
    const guess = closest(name, known);
    problems.push(`${name}: no such policy in pack ${info.name}${guess ? ` (did you mean ${guess}?)` : ""}; policies: ${known.join(", ")}`);
  }
  // Pulumi reads only an enforcement level from "all"; properties there would be ignored.
  if (file.all && Object.keys(file.all.properties).length) problems.push(`all: takes only an enforcement level, got properties ${Object.keys(file.all.properties).join(", ")}`);
  const all = file.all?.enforcementLevel;
  const out: ReconciledConfig = {};
  for (const p of info.policies) {
    const defaults = Object.fromEntries(Object.entries(p.configSchema?.properties ?? {}).filter(([, s]) => s.default !== undefined).map(([k, s]) => [k, s.default]));
    const entry = file[p.name];
    const properties = { ...defaults, ...entry?.properties };
    const schema = policySchema(p);
    const parsed = z.fromJSONSchema(schema as never).safeParse(properties, { reportInput: true });
    if (!parsed.success) problems.push(...parsed.error.issues.flatMap((i) => describe(p.name, schema, i)));
    out[p.name] = { enforcementLevel: entry?.enforcementLevel ?? all ?? p.enforcementLevel, properties };
  }
  if (problems.length) throw new PolicyConfigError(fileName, problems);
  return out;
}
