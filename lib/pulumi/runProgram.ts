/**
 * Runs a Pulumi program under RealisticMocks, the way the Node language host runs it for
 * `pulumi preview`: config set first, the program loaded inside the root Stack resource, and
 * every outstanding registration awaited before returning.
 */
import * as pulumi from "@pulumi/pulumi";
import { skipUnreadPromiseStacks } from "./promiseStacks";
import type { ProgramConfig } from "./stackConfig";
import { RealisticMocks } from "./realisticMocks";
import { captureRegistrations, type Registration } from "./registrations";

export interface ProgramRun {
  readonly mocks: RealisticMocks;
  readonly outputs: Record<string, unknown>;
  /** Every registration as the engine saw it (URNs, parents, dependencies). */
  readonly registrations: Registration[];
}

export async function runProgramWithMocks(
  cfg: ProgramConfig,
  load: () => Promise<unknown>,
  {
    preview = true,
    mocks = new RealisticMocks(),
    onRegistered,
  }: { preview?: boolean; mocks?: RealisticMocks; onRegistered?: (r: Registration) => void } = {},
): Promise<ProgramRun> {
  skipUnreadPromiseStacks();
  pulumi.runtime.setAllConfig(cfg.config, cfg.secretKeys);
  await pulumi.runtime.setMocks(mocks, cfg.project, cfg.stack, preview);
  const registrations = captureRegistrations(onRegistered);
  // A program error is held until registrations settle: thrown inside the Stack's
  // initializer it would also reject the Stack's own output promises, unobserved.
  let programError: unknown;
  const outputs = await pulumi.runtime.runInPulumiStack(async () => {
    try {
      return (await load()) as Record<string, unknown>;
    } catch (err) {
      programError = err;
      return {};
    }
  });
  await pulumi.runtime.disconnect();
  if (programError !== undefined) throw programError;
  return { mocks, outputs: (outputs ?? {}) as Record<string, unknown>, registrations };
}
