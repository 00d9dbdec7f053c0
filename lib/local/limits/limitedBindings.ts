/**
 * LOCAL WORLD. A Worker's bindings wrapped so that each call is charged to the invocation's
 * budget (invocationBudget.ts): KV and R2 operations, D1 queries (each statement of a batch),
 * queue sends, and the bytes read from KV values and R2 bodies. The backup bucket's R2 lock
 * rules are enforced on the binding too, as R2 enforces them: a locked object can be neither
 * deleted nor overwritten. Runs inside workerd; bindings are recognised by their methods.
 */
import type { InvocationBudget } from "./invocationBudget";
import { lockedBy, type R2LockRuleLike } from "./r2Locks";

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function countedStream(stream: ReadableStream<Uint8Array>, budget: InvocationBudget): ReadableStream<Uint8Array> {
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, c) {
        budget.charge("sourceBytes", chunk.byteLength);
        c.enqueue(chunk);
      },
    }),
  );
}

function valueBytes(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === "string") return new TextEncoder().encode(v).byteLength;
  if (v instanceof ArrayBuffer) return v.byteLength;
  if (ArrayBuffer.isView(v)) return v.byteLength;
  return new TextEncoder().encode(JSON.stringify(v)).byteLength;
}

function wrapKv(kv: Any, budget: InvocationBudget): Any {
  return new Proxy(kv, {
    get(target, prop) {
      const orig = target[prop as string];
      if (typeof orig !== "function") return orig;
      if (!["get", "getWithMetadata", "put", "delete", "list"].includes(prop as string)) return orig.bind(target);
      return async (...args: unknown[]) => {
        budget.charge("kvOperations");
        const r = await orig.apply(target, args);
        if (prop === "get") {
          if (r instanceof ReadableStream) return countedStream(r, budget);
          budget.charge("sourceBytes", valueBytes(r));
        }
        if (prop === "getWithMetadata" && r) {
          if ((r as Any).value instanceof ReadableStream) return { ...(r as Any), value: countedStream((r as Any).value, budget) };
          budget.charge("sourceBytes", valueBytes((r as Any).value));
        }
        return r;
      };
    },
  });
}

function wrapR2Body(obj: Any, budget: InvocationBudget): Any {
  if (!obj || !("body" in obj)) return obj;
  let body: ReadableStream<Uint8Array> | undefined; // one counted stream, however often .body is read
  return new Proxy(obj, {
    get(target, prop) {
      if (prop === "body") return (body ??= countedStream(target.body as ReadableStream<Uint8Array>, budget));
      const orig = target[prop as string];
      if (typeof orig !== "function") return orig;
      if (["arrayBuffer", "text", "json", "blob", "bytes"].includes(prop as string)) {
        return async (...args: unknown[]) => {
          const r = await orig.apply(target, args);
          budget.charge("sourceBytes", valueBytes(r instanceof Blob ? new Uint8Array(await r.arrayBuffer()) : r));
          return r;
        };
      }
      return orig.bind(target);
    },
  });
}

function wrapUpload(upload: Any, budget: InvocationBudget): Any {
  return new Proxy(upload, {
    get(target, prop) {
      const orig = target[prop as string];
      if (typeof orig !== "function") return orig;
      return async (...args: unknown[]) => {
        budget.charge("r2Operations");
        return orig.apply(target, args);
      };
    },
  });
}

function wrapR2(bucket: Any, budget: InvocationBudget, locks: readonly R2LockRuleLike[]): Any {
  const now = () => new Date();
  const assertUnlocked = async (key: string, what: string) => {
    if (!locks.length) return;
    const existing = await bucket.head(key);
    const rule = existing ? lockedBy(locks, key, existing.uploaded as Date, now()) : null;
    if (rule) throw new Error(`${what} ${key}: the object is locked by bucket lock rule ${rule.id} (R2 refuses deleting or overwriting locked objects)`);
  };
  return new Proxy(bucket, {
    get(target, prop) {
      const orig = target[prop as string];
      if (typeof orig !== "function") return orig;
      switch (prop) {
        case "get":
          return async (...args: unknown[]) => {
            budget.charge("r2Operations");
            return wrapR2Body(await orig.apply(target, args), budget);
          };
        case "put":
          return async (key: string, ...rest: unknown[]) => {
            budget.charge("r2Operations");
            await assertUnlocked(key, "put");
            return orig.call(target, key, ...rest);
          };
        case "delete":
          return async (keys: string | string[]) => {
            budget.charge("r2Operations");
            for (const k of Array.isArray(keys) ? keys : [keys]) await assertUnlocked(k, "delete");
            return orig.call(target, keys);
          };
        case "createMultipartUpload":
          return async (key: string, ...rest: unknown[]) => {
            budget.charge("r2Operations");
            await assertUnlocked(key, "multipart upload to");
            return wrapUpload(await orig.call(target, key, ...rest), budget);
          };
        case "resumeMultipartUpload":
          return (...args: unknown[]) => wrapUpload(orig.apply(target, args), budget);
        case "head":
        case "list":
          return async (...args: unknown[]) => {
            budget.charge("r2Operations");
            return orig.apply(target, args);
          };
        default:
          return orig.bind(target);
      }
    },
  });
}

/** The raw statement behind each wrapped one: D1's batch() only accepts its own statements. */
const rawStatements = new WeakMap<object, Any>();

function wrapStatement(stmt: Any, budget: InvocationBudget): Any {
  const wrapped = new Proxy(stmt, {
    get(target, prop) {
      const orig = target[prop as string];
      if (typeof orig !== "function") return orig;
      if (prop === "bind") return (...args: unknown[]) => wrapStatement(orig.apply(target, args), budget);
      if (["all", "first", "run", "raw"].includes(prop as string)) {
        return async (...args: unknown[]) => {
          budget.charge("d1Queries");
          return orig.apply(target, args);
        };
      }
      return orig.bind(target);
    },
  });
  rawStatements.set(wrapped, stmt);
  return wrapped;
}

function wrapD1(db: Any, budget: InvocationBudget): Any {
  return new Proxy(db, {
    get(target, prop) {
      const orig = target[prop as string];
      if (typeof orig !== "function") return orig;
      switch (prop) {
        case "prepare":
          return (sql: string) => wrapStatement(orig.call(target, sql), budget);
        case "batch":
          return async (stmts: Any[]) => {
            budget.charge("d1Queries", stmts.length);
            return orig.call(target, stmts.map((s) => rawStatements.get(s) ?? s));
          };
        case "exec":
          return async (sql: string) => {
            budget.charge("d1Queries", Math.max(1, sql.split(";").filter((x) => x.trim()).length));
            return orig.call(target, sql);
          };
        case "withSession":
          return (...args: unknown[]) => wrapD1(orig.apply(target, args), budget);
        default:
          return orig.bind(target);
      }
    },
  });
}

function wrapQueue(queue: Any, budget: InvocationBudget): Any {
  return new Proxy(queue, {
    get(target, prop) {
      const orig = target[prop as string];
      if (typeof orig !== "function") return orig;
      if (prop === "send" || prop === "sendBatch") {
        return async (...args: unknown[]) => {
          budget.charge("subrequests");
          return orig.apply(target, args);
        };
      }
      return orig.bind(target);
    },
  });
}

const has = (o: Any, ...methods: string[]) => methods.every((m) => typeof o?.[m] === "function");

/** The env with every KV, R2, D1 and queue binding charged to `budget`. */
export function limitedEnv<E extends object>(env: E, budget: InvocationBudget, r2Locks: Readonly<Record<string, readonly R2LockRuleLike[]>> = {}): E {
  const out: Any = {};
  for (const [name, b] of Object.entries(env as Any)) {
    if (b === null || typeof b !== "object") out[name] = b;
    else if (has(b, "createMultipartUpload", "head")) out[name] = wrapR2(b, budget, r2Locks[name] ?? []);
    else if (has(b, "prepare", "batch")) out[name] = wrapD1(b, budget);
    else if (has(b, "getWithMetadata", "list", "put")) out[name] = wrapKv(b, budget);
    else if (has(b, "send", "sendBatch")) out[name] = wrapQueue(b, budget);
    else out[name] = b;
  }
  return out as E;
}
