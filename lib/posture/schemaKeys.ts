/** The keys the schema allows at a config path, for "unknown key" messages. */
import type { z } from "zod";
import { configObject } from "./schema";

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  in?: z.ZodType;
}

const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Unwraps optional/default/prefault/pipe wrappers down to the schema that holds the value. */
function unwrap(s: z.ZodType): z.ZodType {
  for (;;) {
    const d = defOf(s);
    const inner = d.innerType ?? (d.type === "pipe" ? d.in : undefined);
    if (!inner) return s;
    s = inner;
  }
}

/** Keys of the object at `path` (numbers step into lists), or undefined if there is none. */
export function knownKeysAt(path: ReadonlyArray<PropertyKey>): string[] | undefined {
  let s: z.ZodType = configObject;
  for (const part of path) {
    const d = defOf(unwrap(s));
    const next = typeof part === "number" ? d.element : d.shape?.[String(part)];
    if (!next) return undefined;
    s = next;
  }
  const shape = defOf(unwrap(s)).shape;
  return shape ? Object.keys(shape) : undefined;
}
