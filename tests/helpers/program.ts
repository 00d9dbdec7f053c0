/** Runs index.ts under realistic mocks for a stack config, as `pulumi preview` would. */
import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { runProgramWithMocks, type ProgramRun } from "../../lib/pulumi/runProgram";
import { RealisticMocks, type RecordedResource } from "../../lib/pulumi/realisticMocks";
import { readStackConfig, type ProgramConfig } from "../../lib/pulumi/stackConfig";

export const ROOT = path.resolve(__dirname, "..", "..");
export const SECRET_SIG_KEY = pulumi.runtime.specialSigKey;
export const SECRET_SIG = pulumi.runtime.specialSecretSig;

export interface LoadedProgram extends ProgramRun {
  readonly exports: Record<string, unknown>;
}

export async function runStack(
  stack: string,
  edit?: (cfg: ProgramConfig) => ProgramConfig,
  mocks: RealisticMocks = new RealisticMocks(),
): Promise<LoadedProgram> {
  let cfg = readStackConfig(ROOT, stack);
  if (edit) cfg = edit(cfg);
  let exports: Record<string, unknown> = {};
  const run = await runProgramWithMocks(cfg, async () => {
    exports = (await import("../../index.js")) as Record<string, unknown>;
    return exports;
  }, { mocks });
  return { ...run, exports };
}

export function ofType(resources: readonly RecordedResource[], type: string): RecordedResource[] {
  return resources.filter((r) => r.type === type);
}

export function one(resources: readonly RecordedResource[], type: string): RecordedResource {
  const found = ofType(resources, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0] as RecordedResource;
}

/** Unwraps Pulumi's secret wrapper in mock inputs, reporting whether it was secret. */
export function unwrapSecret(value: unknown): { secret: boolean; value: unknown } {
  if (typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG) {
    return { secret: true, value: (value as { value: unknown }).value };
  }
  return { secret: false, value };
}

/** Every string in `value` that is not inside a secret wrapper. */
export function plaintextStrings(value: unknown, out: string[] = []): string[] {
  if (unwrapSecret(value).secret) return out;
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => plaintextStrings(v, out));
  else if (typeof value === "object" && value !== null) Object.values(value).forEach((v) => plaintextStrings(v, out));
  return out;
}

export function parseJsonInput<T>(value: unknown): T {
  const v = unwrapSecret(value).value;
  return (typeof v === "string" ? JSON.parse(v) : v) as T;
}
