/**
 * JSON-schema pieces of the policies' `configSchema`s. The Pulumi CLI (and `drposture check`)
 * validates a policy pack config against them before analysing anything, so a wrong type, a
 * negative number or a misspelt tier is an error instead of a policy that silently passes.
 */
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema";

export const positiveInteger = (description: string, extra: PolicyConfigJSONSchema = {}): PolicyConfigJSONSchema => ({
  type: "integer",
  minimum: 1,
  description,
  ...extra,
});

/** Days per retention tier: all three tiers, whole days, nothing else. A partial object would
 * replace the defaults wholesale and leave the missing tiers unchecked. */
export function daysPerTier(description: string, defaults: { daily: number; weekly: number; monthly: number }): PolicyConfigJSONSchema {
  const days: PolicyConfigJSONSchema = { type: "integer", minimum: 0 };
  return {
    type: "object",
    properties: { daily: days, weekly: days, monthly: days },
    required: ["daily", "weekly", "monthly"],
    additionalProperties: false,
    default: defaults,
    description,
  };
}

export const ASSET_KINDS = ["d1", "kv", "r2", "neon"] as const;
/** "kind/name" as the stack config names assets. */
export const ASSET_ID_PATTERN = "^(d1|kv|r2|neon)/[a-z][a-z0-9-]{0,39}$";
export const AWS_REGION_PATTERN = "^[a-z]{2}(-gov)?-[a-z]+-\\d$";
