/**
 * The work one restore-test step may do: binding operations and bytes read, against the plan's
 * per-step limits (the same budget a backup step has, sized to one invocation's limits). The
 * restore code checks `stop()` before each item; a step always writes at least one item, so a
 * test makes progress however small the budget.
 */
import type { StepLimits } from "../../lib/backup/plan";
import type { BackupStorage, ByteRange } from "../../lib/storage/types";

/** Operations kept in reserve: a D1 batch already queued (≤101 statements) is still sent after
 * the check, and the step ends with a few reads and writes of its own (state, next message). */
const OPS_RESERVE = 250;
/** Small budgets (tests) keep a quarter in reserve instead. */
const reserve = (opsPerStep: number) => Math.min(OPS_RESERVE, Math.floor(opsPerStep / 4));

export class StepBudget {
  ops = 0;
  bytes = 0;
  items = 0;

  constructor(private readonly limits: StepLimits) {}

  op(n = 1): void {
    this.ops += n;
  }

  read(n: number): void {
    this.bytes += n;
  }

  get spent(): boolean {
    return this.ops >= this.limits.opsPerStep - reserve(this.limits.opsPerStep) || this.bytes >= this.limits.bytesPerStep;
  }

  /** Operations still free before the reserve. */
  get opsLeft(): number {
    return Math.max(1, this.limits.opsPerStep - reserve(this.limits.opsPerStep) - this.ops);
  }

  /** For RestoreOptions.window: stop once spent, but only after this step wrote something. */
  readonly stop = (): boolean => {
    if (this.items > 0 && this.spent) return true;
    this.items++;
    return false;
  };
}

function counted(stream: ReadableStream<Uint8Array>, budget: StepBudget): ReadableStream<Uint8Array> {
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, c) {
        budget.read(chunk.byteLength);
        c.enqueue(chunk);
      },
    }),
  );
}

/** The backup store with every read charged to the budget (artifacts and their ranges). */
export function countedStorage(store: BackupStorage, budget: StepBudget): BackupStorage {
  return {
    label: store.label,
    put: (key, body, options) => {
      budget.op();
      return store.put(key, body, options);
    },
    get: async (key: string, range?: ByteRange) => {
      budget.op();
      const s = await store.get(key, range);
      return s ? counted(s, budget) : s;
    },
    head: (key) => {
      budget.op();
      return store.head(key);
    },
    list: (prefix, options) => {
      budget.op();
      return store.list(prefix, options);
    },
    delete: (key) => {
      budget.op();
      return store.delete(key);
    },
  };
}
