/**
 * The Pulumi SDK's promise debug stacks, formatted only when the SDK can print them.
 *
 * `debuggablePromise` (@pulumi/pulumi/runtime/debuggable.js) stores `new Error().stack` on every
 * promise it makes: four per output property of every resource, a few thousand for the prod
 * stack. Reading `.stack` formats the trace at once, ~50 ms of `drposture check --stack prod`.
 * The SDK reads the stored trace in one place only: printing leaked promises when
 * PULUMI_DEBUG_PROMISE_LEAKS is set. While it is not set, the trace is taken with
 * `Error.stackTraceLimit = 0` (just "Error", nothing to format); while it is, the SDK's own
 * function runs untouched. Nothing else changes: the promise, its id, context, leak tracking,
 * and every other error's stack (the limit is restored before the call returns).
 */
type DebuggablePromise = <T>(p: Promise<T>, ctx: unknown) => Promise<T>;
interface DebuggableModule {
  debuggablePromise: DebuggablePromise & { withoutUnreadStacks?: true };
  debugPromiseLeaks: boolean;
}

/** Installs the wrapper on the SDK this process's programs use; a second call is a no-op.
 * Returns false if the SDK no longer has the shape it wraps (then nothing is changed). */
export function skipUnreadPromiseStacks(): boolean {
  // The module object itself (an `import *` would be a copy): its callers read the property at
  // each call (`debuggable_1.debuggablePromise(...)`), so replacing it reaches all of them.
  const sdk = require("@pulumi/pulumi/runtime/debuggable") as DebuggableModule;
  const original = sdk.debuggablePromise;
  if (typeof original !== "function" || typeof sdk.debugPromiseLeaks !== "boolean") return false;
  if (original.withoutUnreadStacks) return true;
  const wrapped = function debuggablePromise<T>(p: Promise<T>, ctx: unknown): Promise<T> {
    if (sdk.debugPromiseLeaks) return original(p, ctx);
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return original(p, ctx);
    } finally {
      Error.stackTraceLimit = limit;
    }
  };
  sdk.debuggablePromise = Object.assign(wrapped, { withoutUnreadStacks: true as const });
  return true;
}
