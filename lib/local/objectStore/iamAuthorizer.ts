/**
 * LOCAL WORLD. IAM authorization with a real policy evaluator (@cloud-copilot/iam-simulate, a
 * development dependency under AGPL: it never reaches the Worker bundle or the deployed program).
 * The policies are the ones the Pulumi program registers (identity policies of each IAM user,
 * the bucket policy, KMS key policies), never copies written for the tests.
 */
import type { Simulation } from "@cloud-copilot/iam-simulate";

export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: unknown;
}

export interface AwsPrincipal {
  /** IAM user ARN, `arn:aws:iam::ACCOUNT:root`, or a service principal such as cloudwatch.amazonaws.com. */
  readonly arn: string;
  readonly accountId: string;
  readonly identityPolicies: ReadonlyArray<{ readonly name: string; readonly policy: PolicyDocument }>;
}

export type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

export interface AuthorizationRequest {
  readonly principal: AwsPrincipal;
  readonly action: string;
  readonly resource: string;
  /** Account that owns the resource. */
  readonly resourceAccount: string;
  readonly context: Readonly<Record<string, string | string[]>>;
  readonly resourcePolicy?: PolicyDocument;
}

export class IamEvaluationError extends Error {
  override readonly name = "IamEvaluationError";
}

export const rootPrincipal = (accountId: string): AwsPrincipal => ({
  arn: `arn:aws:iam::${accountId}:root`,
  accountId,
  // The root user is not limited by identity policies; only explicit denies in resource
  // policies (such as the TLS-only bucket policy) still apply to it.
  identityPolicies: [{ name: "root", policy: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] } }],
});

export async function authorize(r: AuthorizationRequest): Promise<Decision> {
  const { runSimulation } = require("@cloud-copilot/iam-simulate") as typeof import("@cloud-copilot/iam-simulate");
  const simulation: Simulation = {
    identityPolicies: r.principal.identityPolicies.map((p) => ({ name: p.name, policy: p.policy as never })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(r.resourcePolicy ? { resourcePolicy: r.resourcePolicy as never } : {}),
    request: {
      action: r.action,
      principal: r.principal.arn,
      resource: { accountId: r.resourceAccount, resource: r.resource },
      contextVariables: { "aws:PrincipalAccount": r.principal.accountId, ...r.context } as never,
    },
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === "error") throw new IamEvaluationError(`the IAM evaluator rejected ${r.action} on ${r.resource}: ${JSON.stringify(result.errors)}`);
  return result.overallResult as Decision;
}
