/**
 * The class, not the instance: a backup-now request signed with the trigger key verifies only
 * as it was signed. Any change of the method, the path or query, the timestamp or any byte of
 * the body, or another key, fails verification (lib/trigger/signature.ts, used by both the CLI
 * and the Worker); so does any signature that is not the 64 hex characters of the real one.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { importTriggerKey, signRequest, verifyRequest, type SignedParts } from "../../lib/trigger/signature";
import { propertyParams } from "../helpers/propertySeed";

const hexKey = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex"));
const parts: fc.Arbitrary<SignedParts> = fc.record({
  method: fc.constantFrom("GET", "POST", "PUT", "DELETE"),
  pathAndQuery: fc.webPath().map((p) => `/${p.replace(/^\/+/, "")}`).chain((p) => fc.option(fc.webQueryParameters(), { nil: undefined }).map((q) => (q ? `${p}?${q}` : p))),
  timestamp: fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 }),
  body: fc.uint8Array({ maxLength: 512 }),
});

type Change = (p: SignedParts) => SignedParts | null;
const changes: fc.Arbitrary<Change> = fc.oneof(
  fc.constantFrom("GET", "POST", "PUT", "DELETE").map((m): Change => (p) => (m === p.method ? null : { ...p, method: m })),
  fc.string({ minLength: 1, maxLength: 8 }).map((s): Change => (p) => ({ ...p, pathAndQuery: p.pathAndQuery + encodeURIComponent(s) })),
  fc.integer({ min: -600_000, max: 600_000 }).filter((d) => d !== 0).map((d): Change => (p) => ({ ...p, timestamp: p.timestamp + d })),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([at, x]): Change => (p) => {
    if (!p.body.length) return { ...p, body: new Uint8Array([x]) };
    const body = new Uint8Array(p.body);
    body[at % body.length] = (body[at % body.length] as number) ^ x;
    return { ...p, body };
  }),
  fc.nat().map((n): Change => (p) => ({ ...p, body: p.body.subarray(0, p.body.length ? n % p.body.length : 0) })).map((c): Change => (p) => (p.body.length ? c(p) : null)),
);

describe("trigger request signature", () => {
  it("verifies as signed, and fails after any change of method, path, timestamp or body", async () => {
    await fc.assert(
      fc.asyncProperty(hexKey, parts, changes, async (hex, p, change) => {
        const key = await importTriggerKey(hex);
        const sig = await signRequest(key, p);
        expect(sig).toMatch(/^[0-9a-f]{64}$/);
        expect(await verifyRequest(key, p, sig)).toBe(true);
        const changed = change(p);
        if (changed) expect(await verifyRequest(key, changed, sig)).toBe(false);
      }),
      propertyParams(300),
    );
  });

  it("fails under another key, and for any signature but the real one", async () => {
    await fc.assert(
      fc.asyncProperty(hexKey, hexKey, parts, fc.string({ maxLength: 80 }), async (a, b, p, forged) => {
        fc.pre(a !== b);
        const sig = await signRequest(await importTriggerKey(a), p);
        expect(await verifyRequest(await importTriggerKey(b), p, sig)).toBe(false);
        if (forged !== sig) expect(await verifyRequest(await importTriggerKey(a), p, forged)).toBe(false);
        // Upper-case hex is not the signature's form: refused rather than normalised.
        if (/[a-f]/.test(sig)) expect(await verifyRequest(await importTriggerKey(a), p, sig.toUpperCase())).toBe(false);
      }),
      propertyParams(200),
    );
  });

  it("refuses a key that is not 64 hex characters", async () => {
    for (const bad of ["", "abc", "g".repeat(64), "0".repeat(63), "0".repeat(66)]) await expect(importTriggerKey(bad)).rejects.toThrow(/64 hex characters/);
  });
});
