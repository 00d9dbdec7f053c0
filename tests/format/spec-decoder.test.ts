/**
 * An independent decoder written from docs/FORMAT.md alone (node:crypto, no project code),
 * run against a backup written by the code the Worker runs. If the document and the code ever
 * disagree, this fails.
 */
import { createDecipheriv, createHash, createHmac, hkdfSync } from "node:crypto";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { writeArtifact } from "../../lib/backup/artifacts";
import { importMasterKey } from "../../lib/format/keys";
import { manifestKey } from "../../lib/format/layout";
import { MANIFEST_FORMAT, signManifest } from "../../lib/format/manifest";
import { DirStorage } from "../../lib/storage/dirStorage";

const KEY_HEX = "8a3f5c7e9b1d2f4a6c8e0b2d4f6a8c0e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a";

// ---- the decoder: only what docs/FORMAT.md says ----
const spec = {
  keyId(key: Buffer): string {
    return createHmac("sha256", key).update("drposture/v1/key-id", "utf8").digest().subarray(0, 8).toString("hex");
  },
  artifactKey(key: Buffer, artifactId: Buffer): Buffer {
    return Buffer.from(hkdfSync("sha256", key, artifactId, Buffer.from("drposture/v1/artifact", "utf8"), 32));
  },
  macKey(key: Buffer): Buffer {
    return Buffer.from(hkdfSync("sha256", key, Buffer.alloc(0), Buffer.from("drposture/v1/manifest-mac", "utf8"), 32));
  },
  canonical(v: unknown): string {
    if (Array.isArray(v)) return `[${v.map((x) => spec.canonical(x)).join(",")}]`;
    if (v !== null && typeof v === "object") {
      const keys = Object.keys(v as object)
        .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${spec.canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
    }
    return JSON.stringify(v);
  },
  checkManifest(key: Buffer, m: Record<string, unknown>): void {
    const { mac, ...rest } = m;
    const expected = createHmac("sha256", spec.macKey(key)).update(spec.canonical(rest), "utf8").digest("base64");
    if (expected !== mac) throw new Error("manifest MAC mismatch");
  },
  decrypt(key: Buffer, data: Buffer): Buffer {
    const header = data.subarray(0, 37);
    if (header.subarray(0, 8).toString("ascii") !== "DRPENC01" || header[8] !== 1) throw new Error("bad header");
    const C = header.readUInt32BE(9);
    const artifactId = header.subarray(13, 29);
    if (header.subarray(29, 37).toString("hex") !== spec.keyId(key)) throw new Error("wrong key");
    const akey = spec.artifactKey(key, artifactId);
    const out: Buffer[] = [];
    let at = 37;
    for (let i = 0; at < data.length || i === 0; i++) {
      const end = Math.min(at + C + 16, data.length);
      const final = end === data.length;
      const sealed = data.subarray(at, end);
      const idx = Buffer.alloc(8);
      idx.writeBigUInt64BE(BigInt(i));
      const nonce = Buffer.concat([Buffer.alloc(4), idx]);
      const d = createDecipheriv("aes-256-gcm", akey, nonce);
      d.setAAD(Buffer.concat([header, idx, Buffer.from([final ? 1 : 0])]));
      d.setAuthTag(sealed.subarray(sealed.length - 16));
      out.push(d.update(sealed.subarray(0, sealed.length - 16)), d.final());
      at = end;
    }
    return Buffer.concat(out);
  },
};

describe("docs/FORMAT.md is enough to restore", () => {
  let dir: string;
  let manifestPath: string;
  const rows = Array.from({ length: 3000 }, (_, i) => ({ r: [{ i: String(9007199254740993n + BigInt(i)) }, `name ${i} ✓`, { b: Buffer.from([i & 255, 0]).toString("base64") }] }));

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "drposture-spec-"));
    const storage = new DirStorage(dir);
    const master = await importMasterKey(KEY_HEX);
    const asset = { kind: "d1" as const, name: "app-db" };
    const backupId = "20261122T021700123Z-1a2b3c4d";
    const entry = await writeArtifact(storage, master, { key: `daily/d1/app-db/${backupId}/rows-00001-abc123.drpenc`, name: "rows-00001", role: "d1-rows" }, async (out) => {
      await out.line({ t: "schema", objects: [] });
      await out.line({ t: "table", name: "users", columns: ["id", "name", "avatar"], virtual: false, dataFrom: "table" });
      for (const r of rows) await out.line(r);
      await out.line({ t: "end", tables: 1 });
    });
    const m = await signManifest(master, {
      format: MANIFEST_FORMAT,
      backupId,
      stack: "spec",
      asset: { ...asset, sourceId: "00000000-0000-4000-8000-000000000001" },
      tier: "daily",
      mode: "logical",
      createdAt: "2026-11-22T02:17:00.123Z",
      sourcePointInTime: "2026-11-22T02:17:00.123Z",
      completedAt: "2026-11-22T02:17:03.000Z",
      expiresAt: "2026-12-27T02:17:00.123Z",
      keyId: master.id,
      encryption: { cipher: "AES-256-GCM", kdf: "HKDF-SHA256", chunkSize: 65536 },
      artifacts: [entry],
      counts: { rows: rows.length },
      dependsOn: [],
      details: { consistency: "snapshot" },
      producer: { name: "drposture-worker", version: "test" },
    });
    const key = manifestKey("daily", asset, backupId);
    await storage.put(key, JSON.stringify(m, null, 2));
    manifestPath = path.join(dir, key);
  });

  it("verifies the manifest, the artifact hashes and decrypts the rows", async () => {
    const key = Buffer.from(KEY_HEX, "hex");
    const m = JSON.parse(await readFile(manifestPath, "utf8"));
    spec.checkManifest(key, m);
    expect(m.keyId).toBe(spec.keyId(key));
    const a = m.artifacts[0];
    const data = await readFile(path.join(dir, a.key));
    expect(createHash("sha256").update(data).digest("hex")).toBe(a.ciphertextSha256);
    expect(a.chunks).toBeGreaterThan(1);
    const plain = spec.decrypt(key, data);
    expect(createHash("sha256").update(plain).digest("hex")).toBe(a.plaintextSha256);
    const lines = plain.toString("utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.r)).toEqual(rows);
  });

  it("rejects an altered manifest and a wrong key", async () => {
    const key = Buffer.from(KEY_HEX, "hex");
    const m = JSON.parse(await readFile(manifestPath, "utf8"));
    expect(() => spec.checkManifest(key, { ...m, counts: { rows: 1 } })).toThrow(/MAC mismatch/);
    const data = await readFile(path.join(dir, m.artifacts[0].key));
    expect(() => spec.decrypt(Buffer.alloc(32, 1), data)).toThrow(/wrong key/);
  });
});
