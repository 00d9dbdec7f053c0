/**
 * Long strings in Analyzer requests, encoded by Node instead of google-protobuf's JavaScript.
 * google-protobuf writes a string one UTF-16 unit at a time into an array of numbers. The
 * program's Worker script (~600 KB) is a string property of one resource, sent in Analyze and
 * again in AnalyzeStack: writing it that way cost ~30 ms per request and much of the check's
 * garbage. A string field and a bytes field are the same on the wire (tag, length, UTF-8 bytes),
 * so a well-formed string is written as the bytes Node encodes natively. The request bytes are
 * identical (tests/policy/native-strings.test.ts); what the pack receives does not change.
 */
import type { ServiceDefinition } from "@grpc/grpc-js";

/** Shorter strings encode faster in JavaScript than through a Buffer. */
const NATIVE_FROM = 4096;
/** google.protobuf.Value: string_value is field 3, in the `kind` oneof (so no other field is set). */
const STRING_VALUE = 3;

interface Writer {
  writeBytes(field: number, value: Uint8Array): void;
}
type ValueWriter = (message: unknown, writer: Writer) => void;
interface ValueClass {
  serializeBinaryToWriter: ValueWriter;
}

function valueClass(): ValueClass {
  return (require("google-protobuf/google/protobuf/struct_pb") as { Value: ValueClass }).Value;
}

function nativeStringWriter(original: ValueWriter): ValueWriter {
  const { Message } = require("google-protobuf") as { Message: { getField(m: unknown, field: number): unknown } };
  return (message, writer) => {
    const s = Message.getField(message, STRING_VALUE);
    // A lone surrogate encodes differently (google-protobuf vs U+FFFD): left to the original.
    if (typeof s === "string" && s.length >= NATIVE_FROM && (s as string & { isWellFormed(): boolean }).isWellFormed()) writer.writeBytes(STRING_VALUE, Buffer.from(s, "utf8"));
    else original(message, writer);
  };
}

/** Runs `serialize` with Value strings written natively; synchronous, so nothing else sees it. */
export function withNativeStrings<T>(serialize: () => T): T {
  const Value = valueClass();
  const original = Value.serializeBinaryToWriter;
  Value.serializeBinaryToWriter = nativeStringWriter(original);
  try {
    return serialize();
  } finally {
    Value.serializeBinaryToWriter = original;
  }
}

/** The service with every request serializer (type check included) run under withNativeStrings. */
export function nativeStringService(service: ServiceDefinition): ServiceDefinition {
  const out: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(service)) {
    const serialize = method.requestSerialize;
    out[name] = { ...method, requestSerialize: (req: unknown) => withNativeStrings(() => serialize(req)) };
  }
  return out as ServiceDefinition;
}
