/**
 * What a validation issue says, without where it is: "must be >= 1, got 0". Shared by the
 * stack config (errors.ts) and the policy pack config (lib/policy/policyConfig.ts), which each
 * put their own path in front and handle unknown keys with their own list of known ones.
 */
import type { z } from "zod";

export function show(value: unknown): string {
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

const sizeOf = (input: unknown) => String((input as { length?: number } | undefined)?.length);

export function describeIssue(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "too_small": {
      const op = issue.inclusive === false ? ">" : ">=";
      const custom = issue.message.startsWith("must") ? issue.message : `must be ${op} ${String(issue.minimum)}`;
      const unit = issue.origin === "array" ? ` item(s)` : issue.origin === "string" ? " character(s)" : "";
      return `${custom}${unit}, got ${issue.origin === "array" || issue.origin === "string" ? sizeOf(input) : show(input)}`;
    }
    case "too_big": {
      const op = issue.inclusive === false ? "<" : "<=";
      const unit = issue.origin === "array" ? ` item(s)` : issue.origin === "string" ? " character(s)" : "";
      return `must be ${op} ${String(issue.maximum)}${unit}, got ${issue.origin === "array" || issue.origin === "string" ? sizeOf(input) : show(input)}`;
    }
    case "invalid_type":
      if (input === undefined) return `is required (${issue.expected === "int" ? "an integer" : issue.expected})`;
      return `must be ${issue.expected === "int" ? "an integer" : `a ${issue.expected}`}, got ${describeType(input)}`;
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${show(input)}`;
    case "invalid_format":
      return `${issue.message.startsWith("must") ? issue.message : `must be a valid ${issue.format}`}, got ${show(input)}`;
    default:
      return `${issue.message}${input === undefined ? "" : `, got ${show(input)}`}`;
  }
}
