/** Long strings of every kind of UTF-16 code unit, for the tests of the Analyzer's native string
 * coding (lib/policy/nativeStrings.ts, lib/policy/nativeStringDecoder.cjs): ASCII, 2- and 3-byte
 * UTF-8, surrogate pairs, and (rarely) lone surrogates, which the native paths leave to
 * google-protobuf. */
import fc from "fast-check";

const unit = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom("a", "Z", "0", "\n", '"', "\\") },
  { weight: 3, arbitrary: fc.constantFrom("é", "ß", "Ω", "中", "€", "\u0000", "\u007f", "\u0080", "\u07ff", "\u0800", "\ufeff", "\uffff") },
  { weight: 2, arbitrary: fc.constantFrom("😀", "𝄞", "\u{10ffff}") },
  { weight: 1, arbitrary: fc.constantFrom("\ud800", "\udfff") },
);

export function longString(min: number, max: number): fc.Arbitrary<string> {
  return fc.tuple(fc.array(unit, { minLength: 1, maxLength: 64 }), fc.integer({ min, max })).map(([units, n]) => {
    const s = units.join("");
    return s.repeat(Math.ceil(n / s.length)).slice(0, n);
  });
}
