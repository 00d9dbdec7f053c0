/**
 * `drposture verify` and `list` as a user runs them, on a directory store: a clean store
 * passes; a flipped byte (found by --read-data) and a missing artifact fail with exit 1,
 * naming the artifact.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { writeArtifact } from "../../lib/backup/artifacts";
import { importMasterKey } from "../../lib/format/keys";
import { manifestKey } from "../../lib/format/layout";
import { MANIFEST_FORMAT, signManifest } from "../../lib/format/manifest";
import { DirStorage } from "../../lib/storage/dirStorage";
import { ROOT } from "../helpers/program";

const exec = promisify(execFile);
const KEY = "3c".repeat(32);
let base: string;
let keyFile: string;
const artifactKeys: string[] = [];

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [path.join(ROOT, "cli", "bin.cjs"), ...args], { cwd: ROOT });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  base = mkdtempSync(path.join(tmpdir(), "drposture-verify-"));
  keyFile = path.join(base, "key.hex");
  writeFileSync(keyFile, KEY);
  const store = new DirStorage(path.join(base, "store"));
  const master = await importMasterKey(KEY);
  for (const [i, name] of ["orders", "carts"].entries()) {
    const asset = { kind: "kv" as const, name };
    const backupId = `2026112${i}T101010000Z-0000000${i}`;
    const entry = await writeArtifact(store, master, { key: `daily/kv/${name}/${backupId}/entries-00001-aaaaaa.drpenc`, name: "entries-00001", role: "kv-entries" }, async (out) => {
      for (let k = 0; k < 5000; k++) await out.line({ k: `key-${k}`, v: Buffer.from(`value ${k}`).toString("base64") });
    });
    artifactKeys.push(entry.key);
    const m = await signManifest(master, {
      format: MANIFEST_FORMAT,
      backupId,
      stack: "t",
      asset: { ...asset, sourceId: "x" },
      tier: "daily",
      mode: "full",
      createdAt: "2026-11-20T10:10:10.000Z",
      sourcePointInTime: "2026-11-20T10:10:10.000Z",
      completedAt: "2026-11-20T10:10:11.000Z",
      expiresAt: "2026-11-27T10:10:10.000Z",
      keyId: master.id,
      encryption: { cipher: "AES-256-GCM", kdf: "HKDF-SHA256", chunkSize: 65536 },
      artifacts: [entry],
      counts: { keys: 5000 },
      dependsOn: [],
      details: {},
      producer: { name: "test", version: "1" },
    });
    await store.put(manifestKey("daily", asset, backupId), JSON.stringify(m));
  }
});

function copyOfStore(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "drposture-verify-copy-"));
  cpSync(path.join(base, "store"), dir, { recursive: true });
  return dir;
}

describe("drposture verify and list", () => {
  it("lists the committed backups", async () => {
    const r = await cli(["list", "--store", path.join(base, "store"), "--key-file", keyFile, "--json"]);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ asset: string; mode: string }>;
    expect(rows.map((x) => x.asset).sort()).toEqual(["kv/carts", "kv/orders"]);
  });

  it("passes on an intact store, reading all the data", async () => {
    const r = await cli(["verify", "--store", path.join(base, "store"), "--key-file", keyFile, "--read-data", "100", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.ok).toBe(true);
    expect(out.results[0]).toMatchObject({ manifests: 2, artifacts: 2, artifactsRead: 2 });
  });

  it("catches a flipped byte when reading the data, naming the artifact", async () => {
    const dir = copyOfStore();
    const victim = path.join(dir, artifactKeys[0] as string);
    const bytes = readFileSync(victim);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = (bytes[at] as number) ^ 0x01;
    writeFileSync(victim, bytes);
    expect((await cli(["verify", "--store", dir, "--key-file", keyFile])).code).toBe(0); // sizes still match
    const r = await cli(["verify", "--store", dir, "--key-file", keyFile, "--read-data", "100"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`FAILED ${artifactKeys[0]}`);
    expect(r.stdout).toMatch(/failed authentication/);
  });

  it("catches a missing artifact without reading any data", async () => {
    const dir = copyOfStore();
    rmSync(path.join(dir, artifactKeys[1] as string));
    const r = await cli(["verify", "--store", dir, "--key-file", keyFile]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`FAILED ${artifactKeys[1]}: missing`);
  });

  it("rejects the wrong key (exit 1) and a missing key (exit 2)", async () => {
    const wrong = path.join(base, "wrong.hex");
    writeFileSync(wrong, "00".repeat(32));
    const r = await cli(["verify", "--store", path.join(base, "store"), "--key-file", wrong]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/wrong key/);
    const missing = await cli(["verify", "--store", path.join(base, "store")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no encryption key/);
  });
});
