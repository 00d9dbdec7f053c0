/**
 * Reads the posture from the running Pulumi program's config. Secret keys are returned as
 * secret Outputs only; the plain posture model never carries them.
 */
import * as pulumi from "@pulumi/pulumi";
import { decodeRawConfig } from "./configKeys";
import { CONFIG_NAMESPACE, PostureConfigError } from "./errors";
import { parsePosture, type Posture } from "./model";

export interface PostureSecrets {
  readonly alertWebhookUrl?: pulumi.Output<string>;
  readonly neonApiKey?: pulumi.Output<string>;
}

export interface LoadedPosture {
  readonly posture: Posture;
  readonly secrets: PostureSecrets;
}

/** Validates the stack config before any resource is declared. Invalid config ends the
 * program with a RunError: Pulumi prints the message (every problem with its config path)
 * without a stack trace. */
export function loadPostureFromStackConfig(): LoadedPosture {
  const read = (fullKey: string) => pulumi.runtime.getConfig(fullKey);
  try {
    // The whole config, so that an unknown `drposture:` key is reported rather than ignored.
    const raw = decodeRawConfig(pulumi.runtime.allConfig());
    const posture = parsePosture(raw, pulumi.getStack());
    const secret = (key: string) => {
      const value = read(`${CONFIG_NAMESPACE}:${key}`);
      return value === undefined ? undefined : pulumi.secret(value);
    };
    const alertWebhookUrl = secret("alertWebhookUrl");
    const neonApiKey = secret("neonApiKey");
    return {
      posture,
      secrets: { ...(alertWebhookUrl ? { alertWebhookUrl } : {}), ...(neonApiKey ? { neonApiKey } : {}) },
    };
  } catch (err) {
    if (err instanceof PostureConfigError) throw new pulumi.RunError(err.message);
    throw err;
  }
}
