/**
 * lib/pulumi/promiseStacks.ts: the SDK's promise debug stacks are left unformatted while
 * PULUMI_DEBUG_PROMISE_LEAKS is off (nothing reads them then), and are the SDK's own while it is
 * on. The program, its registrations and its errors are the same either way.
 */
import * as aws from "@pulumi/aws";
import { afterEach, describe, expect, it } from "vitest";
import { skipUnreadPromiseStacks } from "../../lib/pulumi/promiseStacks";
import { runProgramWithMocks } from "../../lib/pulumi/runProgram";

interface Debuggable {
  debuggablePromise: (p: unknown, ctx: unknown) => Promise<unknown>;
  debugPromiseLeaks: boolean;
  promiseDebugString: (p: unknown) => string;
}
const sdk = require("@pulumi/pulumi/runtime/debuggable") as Debuggable;
const leaksBefore = sdk.debugPromiseLeaks;
afterEach(() => {
  sdk.debugPromiseLeaks = leaksBefore;
});

const cfg = { project: "stacks", stack: "test", config: {}, secretKeys: [] };

/** A small program: two resources, one depending on the other's output. */
async function program(): Promise<Record<string, unknown>> {
  const key = new aws.kms.Key("key", { description: "k", enableKeyRotation: true });
  const bucket = new aws.s3.Bucket("bucket", { tags: { key: key.arn } });
  return { bucket: bucket.id };
}

function stackOf(p: Promise<unknown>): string {
  return (p as unknown as { _debugStackTrace: string })._debugStackTrace;
}

describe("SDK promise debug stacks", () => {
  it("are not formatted while PULUMI_DEBUG_PROMISE_LEAKS is off, and are the SDK's own while it is on", async () => {
    expect(skipUnreadPromiseStacks()).toBe(true);
    sdk.debugPromiseLeaks = false;
    const quiet = Promise.resolve(1);
    await sdk.debuggablePromise(quiet, "quiet");
    // The header alone, no frame (its exact text is the stack formatter's: "Error" or "Error: ").
    expect(stackOf(quiet)).toMatch(/^Error:? ?$/);
    expect(sdk.promiseDebugString(quiet)).toContain("quiet");

    sdk.debugPromiseLeaks = true;
    const traced = Promise.resolve(2);
    await sdk.debuggablePromise(traced, "traced");
    expect(stackOf(traced)).toMatch(/^Error:? ?\n {4}at /);
    expect(stackOf(traced)).toContain("promise-stacks.test.ts");
  });

  it("is installed once, and restores Error.stackTraceLimit even when the SDK's function throws", () => {
    expect(skipUnreadPromiseStacks()).toBe(true);
    const wrapped = sdk.debuggablePromise;
    expect(skipUnreadPromiseStacks()).toBe(true);
    expect(sdk.debuggablePromise).toBe(wrapped);
    sdk.debugPromiseLeaks = false;
    const limit = Error.stackTraceLimit;
    // Not a promise: the SDK's defineProperty throws a TypeError.
    expect(() => sdk.debuggablePromise(42, "not a promise")).toThrow(TypeError);
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error("after").stack).toContain("promise-stacks.test.ts");
  });

  it("change neither the registrations nor a program error's stack", async () => {
    const registrationsWith = async (leaks: boolean) => {
      sdk.debugPromiseLeaks = leaks;
      const run = await runProgramWithMocks(cfg, program);
      return run.registrations.map((r) => ({ urn: r.urn, type: r.type, inputs: r.inputs, dependencies: r.dependencies, parent: r.parent }));
    };
    const untouched = await registrationsWith(true);
    const unformatted = await registrationsWith(false);
    expect(unformatted.length).toBeGreaterThanOrEqual(3);
    expect(unformatted).toEqual(untouched);

    sdk.debugPromiseLeaks = false;
    const failing = async () => {
      await program();
      throw new Error("the program failed");
    };
    const err = (await runProgramWithMocks(cfg, failing).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe("the program failed");
    expect(err.stack).toMatch(/at failing .*promise-stacks\.test\.ts/);
  });
});
