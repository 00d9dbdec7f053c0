/**
 * Bucket and identity names are derived from the stack name, never typed by hand: for every
 * stack name Pulumi accepts (and our schema does), the derived bucket name obeys both AWS's S3
 * rules (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html) and R2's
 * (https://developers.cloudflare.com/r2/buckets/create-buckets/).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { R2_BUCKET_NAME, STACK_NAME } from "../../lib/posture/identifiers";
import { namePrefix, resourceNames } from "../../lib/posture/naming";
import { propertyParams } from "../helpers/propertySeed";

/** General purpose bucket rules: 3-63 of a-z 0-9 . -, alnum at both ends, no "..", not an IPv4
 * address, none of the reserved prefixes and suffixes. */
function s3BucketNameProblems(name: string): string[] {
  const out: string[] = [];
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name)) out.push("characters/length/ends");
  if (name.includes("..")) out.push("adjacent periods");
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) out.push("IP address");
  for (const p of ["xn--", "sthree-", "amzn-s3-demo-"]) if (name.startsWith(p)) out.push(`prefix ${p}`);
  for (const s of ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]) if (name.endsWith(s)) out.push(`suffix ${s}`);
  return out;
}

const stackName = fc.stringMatching(STACK_NAME);

describe("names derived from the stack name", () => {
  it("the backup bucket name (prefix + 6 hex) is a valid S3 and R2 bucket name", () => {
    fc.assert(
      fc.property(stackName, fc.stringMatching(/^[0-9a-f]{6}$/), (stack, hex) => {
        const bucket = `${namePrefix("drposture", stack)}-${hex}`;
        expect(s3BucketNameProblems(bucket)).toEqual([]);
        expect(bucket).toMatch(R2_BUCKET_NAME);
      }),
      propertyParams(500),
    );
  });

  it("IAM user names fit (64 characters of [\\w+=,.@-])", () => {
    fc.assert(
      fc.property(stackName, (stack) => {
        const n = resourceNames("drposture", stack);
        for (const user of [n.writer, n.verifier, n.restorer, `${n.prefix}-alert-publisher`]) expect(user).toMatch(/^[\w+=,.@-]{1,64}$/);
      }),
      propertyParams(300),
    );
  });

  it("the restore-test scratch name is a valid R2 bucket name and KV title, and says what it is", () => {
    fc.assert(
      fc.property(stackName, (stack) => {
        const n = resourceNames("drposture", stack);
        expect(n.restoreScratch).toMatch(R2_BUCKET_NAME);
        expect(n.restoreScratch.length).toBeLessThanOrEqual(512); // KV namespace title
        expect(n.restoreScratch.endsWith("-restore-scratch")).toBe(true);
        expect(n.restoreScratch.startsWith(n.prefix)).toBe(true);
      }),
      propertyParams(300),
    );
  });
});
