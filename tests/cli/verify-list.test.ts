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
import { importMasterKey } from "../../lib/format/keys";
import { DirStorage } from "../../lib/storage/dirStorage";
import { writeKvBackup } from "../helpers/kvManifest";
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
    const m = await writeKvBackup(store, master, name, `2026112${i}T101010000Z-0000000${i}`, 5000);
    artifactKeys.push(...m.artifacts.map((a) => a.key));
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
