/**
 * User metadata survives the S3 API on both flavours, whatever its characters. Header values
 * travel as US-ASCII and S3 returns non-ASCII values RFC 2047-encoded
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html); before the fix
 * they were percent-encoded on write and never decoded on read (issue #8).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorld, type LocalWorld } from "../../lib/local/localWorld";
import { trustInThisProcess } from "../../lib/local/tls";
import { decodeMetadataValue, encodeMetadataValue } from "../../lib/storage/s3Metadata";

const VALUES = {
  owner: "Zoë Ångström",
  note: "日本語のメモ",
  spaced: "  leading and trailing  ",
  lookalike: "=?UTF-8?B?aGk=?=", // a stored value that only looks encoded stays itself
  plain: "report-2026.pdf",
};

describe("metadata over the S3 API", () => {
  let world: LocalWorld;
  beforeAll(async () => {
    world = await startLocalWorld({ stack: "prod", dir: mkdtempSync(path.join(tmpdir(), "drposture-meta-")) });
    await trustInThisProcess(world.tls.caPem);
  });
  afterAll(async () => world?.close());

  it("round-trips every value byte for byte on AWS S3 and on R2's S3 API", async () => {
    for (const store of [world.s3Storage(world.rootKeys()), world.r2Storage(world.r2Keys("writer"))]) {
      const key = "daily/meta-test/object.bin";
      await store.put(key, new Uint8Array([1, 2, 3]), { customMetadata: VALUES });
      const info = await store.head(key);
      expect(info?.customMetadata, store.label).toEqual(VALUES);
    }
  });

  it("sends only printable ASCII and leaves plain values as they are", () => {
    for (const v of Object.values(VALUES)) {
      const wire = encodeMetadataValue(v);
      expect(wire).toMatch(/^[\x20-\x7e]*$/);
      expect(decodeMetadataValue(wire)).toBe(v);
    }
    expect(encodeMetadataValue(VALUES.plain)).toBe(VALUES.plain);
  });
});
