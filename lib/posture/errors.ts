/**
 * Turns schema issues into messages an operator can act on:
 *   drposture:retention.daily: must be >= 1, got 0
 * The path is the config key as `pulumi config set --path` spells it.
 */
import type { z } from "zod";
import { closest } from "./didYouMean";
import { describeIssue } from "./issueText";
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

/** An unknown key: named, with the likely intended key and the keys allowed there. */
function unknownKey(path: ReadonlyArray<PropertyKey>, key: string): string {
  const parent = path.length === 0 ? `${CONFIG_NAMESPACE}:` : `${configPath(path)}.`;
  const known = knownKeysAt(path) ?? [];
  const guess = closest(key, known);
  const hint = guess ? ` (did you mean ${parent}${guess}?)` : "";
  return `${parent}${key}: unknown key${hint}; known keys: ${known.join(", ") || "none"}`;
}

export function formatIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") return issue.keys.map((k) => unknownKey(issue.path, k)).join("\n");
  return `${configPath(issue.path)}: ${describeIssue(issue)}`;
}

export function formatIssues(issues: ReadonlyArray<z.core.$ZodIssue>): string[] {
  return issues.flatMap((i) => formatIssue(i).split("\n"));
}
