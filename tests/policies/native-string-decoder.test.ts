/**
 * lib/policy/nativeStringDecoder.cjs: in the policy pack's process, long strings are decoded by
 * Node instead of google-protobuf's JavaScript. What the pack's policies see must not change:
 * every string, and the position the decoder continues from, is compared with google-protobuf's
 * own decoding, for well-formed UTF-8 of every kind and for malformed bytes (which google-protobuf
 * decodes leniently, and which must reach it). The preload is then checked in a real process, and
 * the check's verdicts with it on and off.
 */
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { install, NATIVE_FROM, nativeReadString, packGoogleProtobuf } from "../../lib/policy/nativeStringDecoder.cjs";
import { drposture } from "../helpers/cli";
import { ROOT } from "../helpers/program";
import { longString } from "../helpers/longStrings";

// This process's google-protobuf is left as it is: the native reader is called explicitly.
const gp = require("google-protobuf") as { jspb: { BinaryDecoder: any }; BinaryWriter: any; BinaryReader: any };
const { BinaryDecoder } = gp.jspb;
const original = BinaryDecoder.prototype.readString as (length: number) => string;
const native = nativeReadString(original);

/** Reads `length` bytes at `at` both ways: the string and where each decoder stopped. */
function bothWays(bytes: Uint8Array, at: number, length: number) {
  const read = (fn: (n: number) => string) => {
    const d = new BinaryDecoder(bytes);
    d.setCursor(at);
    const s = fn.call(d, length);
    return { s, cursor: d.getCursor() };
  };
  return { ours: read(native), theirs: read(original) };
}

function encoded(s: string): Uint8Array {
  const w = new gp.BinaryWriter();
  w.writeString(1, s);
  return w.getResultBuffer();
}

describe("native string decoding in the policy pack", () => {
  it("gives google-protobuf's string and position for any string google-protobuf writes", () => {
    fc.assert(
      fc.property(longString(1, 20_000), (s) => {
        const bytes = encoded(s);
        const r = new gp.BinaryReader(bytes);
        r.nextField();
        // What follows the tag: the varint length, then the string's bytes.
        const d = new BinaryDecoder(bytes);
        d.setCursor(1);
        const length = d.readUnsignedVarint32();
        const { ours, theirs } = bothWays(bytes, d.getCursor(), length);
        expect(ours).toEqual(theirs);
        expect(r.readString()).toBe(theirs.s);
      }),
      { numRuns: 300 },
    );
  });

  it("leaves malformed UTF-8 to google-protobuf: overlong forms, surrogates, past U+10FFFF, stray and cut-off bytes", () => {
    const pad = Buffer.alloc(NATIVE_FROM, 0x61);
    const bad = [
      [0xc0, 0x80], // overlong NUL
      [0xe0, 0x80, 0x80], // overlong
      [0xed, 0xa0, 0x80], // a lone surrogate, as google-protobuf itself writes one
      [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
      [0x80], // stray continuation byte
      [0xff],
      [0xe2, 0x82], // cut off in the middle of the string
    ];
    for (const seq of bad) {
      for (const where of ["start", "middle", "end"] as const) {
        const body = where === "start" ? Buffer.concat([Buffer.from(seq), pad]) : where === "end" ? Buffer.concat([pad, Buffer.from(seq)]) : Buffer.concat([pad, Buffer.from(seq), pad]);
        const bytes = Buffer.concat([Buffer.from("xx"), body, Buffer.from("yy")]);
        const { ours, theirs } = bothWays(bytes, 2, body.length);
        expect(ours, `${Buffer.from(seq).toString("hex")} at the ${where}`).toEqual(theirs);
      }
    }
    fc.assert(
      fc.property(fc.uint8Array({ minLength: NATIVE_FROM, maxLength: 5000 }), (body) => {
        const { ours, theirs } = bothWays(body, 0, body.length);
        expect(ours).toEqual(theirs);
      }),
      { numRuns: 200 },
    );
  });

  it("leaves a length past the end of the message to google-protobuf", () => {
    const bytes = Buffer.alloc(2000, 0x62);
    const { ours, theirs } = bothWays(bytes, 100, 1990);
    expect(ours).toEqual(theirs);
  });

  it("installs on both names of readString, once, and only on the shape it knows", () => {
    const proto = { ...BinaryDecoder.prototype } as Record<string, unknown>;
    const names = Object.keys(proto).filter((k) => proto[k] === original);
    expect(names).toContain("readString");
    expect(names.length).toBeGreaterThan(1); // the minified name BinaryReader calls
    expect(install({ jspb: { BinaryDecoder: { prototype: proto } } })).toBe(true);
    const replaced = proto.readString;
    expect(replaced).not.toBe(original);
    for (const n of names) expect(proto[n]).toBe(replaced);
    expect(install({ jspb: { BinaryDecoder: { prototype: proto } } })).toBe(true);
    expect(proto.readString).toBe(replaced);
    expect(BinaryDecoder.prototype.readString).toBe(original);
    expect(install({})).toBe(false);
    expect(install({ jspb: { BinaryDecoder: { prototype: { readString: original } } } })).toBe(false);
  });

  it("is installed by the preload on the google-protobuf the pack's Analyzer service uses", () => {
    const packDir = path.join(ROOT, "policies");
    const script = `
      const { packGoogleProtobuf } = require(${JSON.stringify(path.join(ROOT, "lib", "policy", "nativeStringDecoder.cjs"))});
      const gp = packGoogleProtobuf(process.cwd());
      const analyzer = require(require.resolve("@pulumi/pulumi/proto/analyzer_pb", { paths: [require.resolve("@pulumi/policy/package.json", { paths: [process.cwd()] })] }));
      const { Struct } = require(require.resolve("google-protobuf/google/protobuf/struct_pb", { paths: [require.resolve("@pulumi/pulumi/package.json", { paths: [process.cwd()] })] }));
      const req = new analyzer.AnalyzeRequest();
      req.setProperties(Struct.fromJavaScript({ content: "é😀x".repeat(100000), bad: "\\ud800".repeat(2000) }));
      const back = analyzer.AnalyzeRequest.deserializeBinary(req.serializeBinary()).getProperties().toJavaScript();
      console.log(JSON.stringify({ native: !!gp.jspb.BinaryDecoder.prototype.readString.nativeStrings, content: back.content === "é😀x".repeat(100000), bad: back.bad.length }));
    `;
    const run = (preload: boolean) => {
      const r = spawnSync(process.execPath, [...(preload ? ["--require", path.join(ROOT, "lib", "policy", "nativeStringDecoderPreload.cjs")] : []), "-e", script], { cwd: packDir, encoding: "utf8" });
      expect(r.stderr).toBe("");
      return JSON.parse(r.stdout) as { native: boolean; content: boolean; bad: number };
    };
    const without = run(false);
    const withPreload = run(true);
    expect(without.native).toBe(false);
    expect(withPreload.native).toBe(true);
    expect(withPreload.content).toBe(true);
    expect({ ...withPreload, native: false }).toEqual(without);
    expect(packGoogleProtobuf(packDir)).toBe(require(require.resolve("google-protobuf", { paths: [path.join(ROOT, "node_modules", "@pulumi", "pulumi")] })));
  });

  it.each([
    ["prod", ROOT, []],
    ["backup-frequency-meets-rpo", path.join(ROOT, "tests", "fixtures", "handwritten"), ["--policy-config", path.join(ROOT, "policies", "config", "prod.json")]],
  ] as const)("gives the same check verdicts as google-protobuf's own coding (stack %s)", async (stack, cwd, extra) => {
    const run = async (nativeStrings: string) => {
      const r = await drposture(["check", "--json", "--cwd", cwd, "--stack", stack, ...extra], { env: { DRPOSTURE_CHECK_NATIVE_STRINGS: nativeStrings } });
      return { code: r.code, out: r.stdout };
    };
    const off = await run("0");
    const on = await run("1");
    expect(on).toEqual(off);
    expect(off.code).toBe(stack === "prod" ? 0 : 1);
  });
});
