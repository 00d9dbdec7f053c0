/**
 * What `backup now` needs from `pulumi up`, in the prod stack under realistic mocks: a trigger
 * key of its own (@pulumi/random, secret, bound as TRIGGER_KEY apart from ENCRYPTION_KEY), the
 * script on its workers.dev route (previews off), the account's workers.dev subdomain read by
 * a command, and the two stack outputs the runbook's commands read. Inputs are checked against
 * the Cloudflare API's constraints (tests/helpers/providerRules.ts, sources cited there).
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { check, RULES } from "../helpers/providerRules";
import { one, parseJsonInput, runStack, unwrapSecret, type LoadedProgram } from "../helpers/program";

let run: LoadedProgram;
beforeAll(async () => {
  run = await runStack("prod");
});

const R = () => run.mocks.resources;
const named = (suffix: string, type: string) => one(R().filter((r) => r.name.endsWith(suffix)), type);
const script = () => one(R(), "cloudflare:index/workersScript:WorkersScript");
const bindings = () => parseJsonInput<Array<{ type: string; name: string; text?: string }>>(script().inputs.bindings);

describe("prod: backup now", () => {
  it("generates a 32-byte trigger key, separate from the data key, and binds it as the secret TRIGGER_KEY", () => {
    const trigger = named("-trigger-key", "random:index/randomBytes:RandomBytes");
    const data = named("-data-key", "random:index/randomBytes:RandomBytes");
    expect(trigger.inputs.length).toBe(32);
    expect(trigger.state.hex).toMatch(/^[0-9a-f]{64}$/);
    const b = bindings().find((x) => x.name === "TRIGGER_KEY");
    expect(b).toEqual({ type: "secret_text", name: "TRIGGER_KEY", text: trigger.state.hex });
    // A leaked trigger key starts backups; it must not be (or reveal) the key that decrypts them.
    expect(b?.text).not.toBe(data.state.hex);
    expect(bindings().find((x) => x.name === "ENCRYPTION_KEY")?.text).toBe(data.state.hex);
    expect(unwrapSecret(script().inputs.bindings).secret).toBe(true);
  });

  it("puts the script on its workers.dev route with previews off, and reads the account's subdomain with the provider's own token", () => {
    const route = one(R(), "cloudflare:index/workersScriptSubdomain:WorkersScriptSubdomain");
    expect(route.inputs).toEqual({ accountId: script().inputs.accountId, scriptName: script().inputs.scriptName, enabled: true, previewsEnabled: false });
    const cmd = named("-workers-dev-subdomain", "command:local:Command");
    expect(cmd.inputs.create).toMatch(/components\/cloudflare\/workersDevSubdomain\.ts"$/);
    // The command inherits CLOUDFLARE_API_TOKEN from `pulumi up`: no credential in its inputs (or state).
    expect(parseJsonInput<Record<string, string>>(cmd.inputs.environment)).toEqual({ CLOUDFLARE_ACCOUNT_ID: script().inputs.accountId });
  });

  it("exports backupWorkerUrl and backupTriggerKey (a secret)", async () => {
    const trigger = named("-trigger-key", "random:index/randomBytes:RandomBytes");
    expect(run.outputs.backupWorkerUrl).toBe(`https://${String(script().inputs.scriptName)}.drposture-mock.workers.dev`);
    expect(await pulumi.isSecret(run.exports.backupTriggerKey as pulumi.Output<string>)).toBe(true);
    expect(await pulumi.isSecret(run.exports.backupWorkerUrl as pulumi.Output<string>)).toBe(false);
    const key = await new Promise((resolve) => (run.exports.backupTriggerKey as pulumi.Output<string>).apply(resolve));
    expect(key).toBe(trigger.state.hex);
    // A leaked trigger key is rotated with `pulumi up --replace` of this URN (the runbook's leaked-key scenario).
    expect((run.outputs.credentialUrns as Record<string, string>).backupTrigger).toMatch(/\$random:index\/randomBytes:RandomBytes::drposture-prod-worker-trigger-key$/);
  });

  it("registers a workers.dev route the Cloudflare API accepts, and the rule catches one it would not", () => {
    const regs = run.registrations;
    const rules = RULES.filter((r) => r.id === "worker-workers-dev-route");
    expect(check(rules, regs)).toEqual([]);
    const route = regs.find((r) => r.type === "cloudflare:index/workersScriptSubdomain:WorkersScriptSubdomain");
    const bad = { ...route!, inputs: { ...route!.inputs, scriptName: "not-declared", enabled: "yes", accountId: "acct" } };
    expect(check(rules, [...regs.filter((r) => r !== route), bad]).map((v) => v.path).sort()).toEqual(["accountId", "enabled", "scriptName"]);
  });
});
