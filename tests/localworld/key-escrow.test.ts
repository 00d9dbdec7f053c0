/**
 * The key escrow survives the rebuild this project promises. Before: one secret with a fixed
 * name and retainOnDelete, so `pulumi up` of a stack rebuilt after `pulumi destroy` or lost
 * state failed with ResourceExistsException ("A resource with the ID you requested already
 * exists", https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html).
 * Now: one secret per key, named by its key id; a rebuilt stack has a new key, so a new name,
 * and its restorer still reads the keys of the backups made before the rebuild.
 * "Generation 1" is the same stack deployed afresh (the mocks give random resources new values).
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { DeclaredWorld } from "../../lib/local/declaredWorld";
import { iamUser } from "../../lib/local/declaredWorld";
import { loadDeclaredWorld } from "../../lib/local/declaredWorldRun";
import { authorize } from "../../lib/local/objectStore/iamAuthorizer";
import { SecretsManagerError, SecretsManagerStandin } from "../../lib/local/secretsManagerStandin";
import type { Registration } from "../../lib/pulumi/registrations";
import { ROOT, runStack } from "../helpers/program";

let first: DeclaredWorld;
let rebuilt: DeclaredWorld;
let registrations: Registration[];

beforeAll(async () => {
  [first, rebuilt] = await Promise.all([loadDeclaredWorld("prod", ROOT, 0), loadDeclaredWorld("prod", ROOT, 1)]);
  registrations = (await runStack("prod")).registrations;
}, 60_000);

const escrowOf = (w: DeclaredWorld) => w.secrets.filter((s) => s.name.startsWith("drposture/prod/data-encryption-key/"));

describe("key escrow across a rebuild", () => {
  it("keeps the secret and its value when the stack is destroyed", () => {
    for (const type of ["aws:secretsmanager/secret:Secret", "aws:secretsmanager/secretVersion:SecretVersion"]) {
      const r = registrations.filter((x) => x.type === type);
      expect(r, type).toHaveLength(1);
      expect(r[0]?.retainOnDelete, type).toBe(true);
    }
  });

  it("a rebuilt stack escrows its new key under a new name, next to the secret kept from before", () => {
    const [a] = escrowOf(first);
    const [b] = escrowOf(rebuilt);
    expect(a && b).toBeTruthy();
    expect(b!.name).not.toBe(a!.name);
    const sm = new SecretsManagerStandin("eu-central-1", first.awsAccountId, new Map(), new Map());
    sm.create(a!); // the first deployment; destroy leaves it (retainOnDelete)
    expect(() => sm.create(b!)).not.toThrow(); // the rebuild's `pulumi up`
    // What a fixed name did: the rebuild's create collided with the kept secret.
    expect(() => sm.create({ name: a!.name })).toThrow(SecretsManagerError);
    expect(() => sm.create({ name: a!.name })).toThrow(/already exists/);
  });

  it("the rebuilt stack's restorer reads the old key as well as the new one; no other identity reads either", async () => {
    const [old] = escrowOf(first);
    const [current] = escrowOf(rebuilt);
    const decide = (role: string, arn: string) => {
      const u = iamUser(rebuilt, role);
      return authorize({ principal: { arn: u.arn, accountId: rebuilt.awsAccountId, identityPolicies: u.policies }, action: "secretsmanager:GetSecretValue", resource: arn, resourceAccount: rebuilt.awsAccountId, context: { "aws:SecureTransport": "true" } });
    };
    for (const s of [old!, current!]) {
      expect(await decide("restorer", s.arn), s.name).toBe("Allowed");
      for (const role of ["writer", "verifier", "alert-publisher"]) expect(await decide(role, s.arn), `${role} ${s.name}`).not.toBe("Allowed");
    }
    // Nothing outside this stack's escrow.
    expect(await decide("restorer", "arn:aws:secretsmanager:eu-central-1:123456789012:secret:drposture/staging/data-encryption-key/0123456789abcdef-AbCdEf")).not.toBe("Allowed");
  });
});

