/**
 * lib/policy/nativeStrings.ts writes long strings of Analyzer requests through Node's UTF-8
 * encoder instead of google-protobuf's. What the pack receives must not change: the request
 * bytes are compared with google-protobuf's own, for property values of every shape (the
 * program's 600 KB Worker script, non-ASCII, surrogate pairs, lone surrogates, nesting).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nativeStringService, withNativeStrings } from "../../lib/policy/nativeStrings";
import { protos } from "../../lib/policy/policyPackHost";
import { longString } from "../helpers/longStrings";

function analyzeRequest(properties: Record<string, unknown>): any {
  const { analyzer, struct } = protos();
  const req = new analyzer.AnalyzeRequest();
  req.setType("cloudflare:index/workersScript:WorkersScript");
  req.setName("worker");
  req.setUrn("urn:pulumi:prod::drposture::cloudflare:index/workersScript:WorkersScript::worker");
  req.setProperties(struct.Struct.fromJavaScript(properties));
  return req;
}

const bytes = (req: any) => Buffer.from(req.serializeBinary());
const nativeBytes = (req: any) => Buffer.from(withNativeStrings(() => req.serializeBinary()));

const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { maxDepth: 3 },
    fc.string(),
    longString(4096, 40_000),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("v"), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie("v"), { maxKeys: 4 }),
  ),
}));

describe("Analyzer requests with natively encoded strings", () => {
  it("are byte for byte what google-protobuf writes, for any property values", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 12 }), value.v, { maxKeys: 6 }), (properties) => {
        const req = analyzeRequest(properties);
        expect(nativeBytes(req).equals(bytes(req))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("are the same bytes for the Worker script the program really sends", () => {
    const script = `// ${"é😀".repeat(10)}\n${"export default { fetch() { return new Response('ok'); } };\n".repeat(12_000)}`;
    const req = analyzeRequest({ content: script, name: "drposture-prod-backup", bindings: [{ name: "VAULT", type: "r2_bucket" }] });
    expect(script.length).toBeGreaterThan(600_000);
    expect(nativeBytes(req).equals(bytes(req))).toBe(true);
    // and decode to the same script on the pack's side
    const back = protos().analyzer.AnalyzeRequest.deserializeBinary(nativeBytes(req));
    expect(back.getProperties().toJavaScript().content).toBe(script);
  });

  it("leave google-protobuf's own writer in place afterwards, even when serializing throws", () => {
    const Value = protos().struct.Value;
    const original = Value.serializeBinaryToWriter;
    expect(() =>
      withNativeStrings(() => {
        expect(Value.serializeBinaryToWriter).not.toBe(original);
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(Value.serializeBinaryToWriter).toBe(original);
  });

  it("keep each method's own type check (a wrong message is refused, as by the generated client)", () => {
    const service = nativeStringService(protos().rpc.AnalyzerService);
    const analyze = service.analyze as { requestSerialize(req: unknown): Buffer };
    expect(() => analyze.requestSerialize(new (protos().analyzer.AnalyzeStackRequest)())).toThrow(/AnalyzeRequest/);
    const req = analyzeRequest({ content: "x".repeat(5000) });
    expect(analyze.requestSerialize(req).equals(bytes(req))).toBe(true);
  });
});
