/**
 * Turns schema issues into messages an operator can act on:
 *   drposture:retention.daily: must be >= 1, got 0
 * The path is the config key as `pulumi config set --path` spells it.
 */
import type { z } from "zod";
import { closest } from "./didYouMean";
import { knownKeysAt } from "./schemaKeys";

export const CONFIG_NAMESPACE = "drposture";

export class PostureConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `invalid drposture stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "PostureConfigError";
  }
}

export function configPath(path: ReadonlyArray<PropertyKey>): string {
  const [head, ...rest] = path;
  let out = `${CONFIG_NAMESPACE}:${String(head ?? "")}`;
  for (const part of rest) out += typeof part === "number" ? `[${part}]` : `.${String(part)}`;
  return out;
}

function show(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  return `${typeof value} ${show(value)}`;
}

/** An unknown key: named, with the likely intended key and the keys allowed there. */
function unknownKey(path: ReadonlyArray<PropertyKey>, key: string): string {
  const parent = path.length === 0 ? `${CONFIG_NAMESPACE}:` : `${configPath(path)}.`;
  const known = knownKeysAt(path) ?? [];
  const guess = closest(key, known);
  const hint = guess ? ` (did you mean ${parent}${guess}?)` : "";
  return `${parent}${key}: unknown key${hint}; known keys: ${known.join(", ") || "none"}`;
}

export function formatIssue(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  const where = configPath(issue.path);
  switch (issue.code) {
    case "too_small": {
      const op = issue.inclusive === false ? ">" : ">=";
      const custom = issue.message.startsWith("must") ? issue.message : `must be ${op} ${String(issue.minimum)}`;
      const unit = issue.origin === "array" ? ` item(s)` : issue.origin === "string" ? " character(s)" : "";
      return `${where}: ${custom}${unit}, got ${issue.origin === "array" || issue.origin === "string" ? String((input as { length?: number })?.length) : show(input)}`;
    }
    case "too_big": {
      const op = issue.inclusive === false ? "<" : "<=";
      return `${where}: must be ${op} ${String(issue.maximum)}, got ${show(input)}`;
    }
    case "invalid_type":
      if (input === undefined) return `${where}: is required (${issue.expected})`;
      return `${where}: must be ${issue.expected === "int" ? "an integer" : `a ${issue.expected}`}, got ${describeType(input)}`;
    case "invalid_value":
      return `${where}: must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${show(input)}`;
    case "unrecognized_keys":
      return issue.keys.map((k) => unknownKey(issue.path, k)).join("\n");
    case "invalid_format":
      return `${where}: ${issue.message.startsWith("must") ? issue.message : `must be a valid ${issue.format}`}, got ${show(input)}`;
    default:
      return `${where}: ${issue.message}${input === undefined ? "" : `, got ${show(input)}`}`;
  }
}

export function formatIssues(issues: ReadonlyArray<z.core.$ZodIssue>): string[] {
  return issues.flatMap((i) => formatIssue(i).split("\n"));
}
