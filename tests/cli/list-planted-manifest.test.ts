/**
 * `drposture list` and `verify` on a store where someone with write access planted a "manifest"
 * that nests deeper than the stack: it is one REJECTED row (exit 1) like any other bad
 * manifest, the real backups still listed, never a crash that loses the listing. The same
 * holds for the text listing of backups written before health figures existed.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { importMasterKey } from "../../lib/format/keys";
import { manifestKey } from "../../lib/format/layout";
import { DirStorage } from "../../lib/storage/dirStorage";
import { writeKvBackup } from "../helpers/kvManifest";
import { ROOT } from "../helpers/program";

const exec = promisify(execFile);
const KEY = "5d".repeat(32);
let storeDir: string;
let keyFile: string;
const asset = { kind: "kv" as const, name: "orders" };
const REAL = "20261120T101010000Z-00000001";
const PLANTED = "20261121T101010000Z-0000000f";

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [path.join(ROOT, "cli", "bin.cjs"), ...args], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  const base = mkdtempSync(path.join(tmpdir(), "drposture-planted-"));
  keyFile = path.join(base, "key.hex");
  writeFileSync(keyFile, KEY);
  storeDir = path.join(base, "store");
  const store = new DirStorage(storeDir);
  const master = await importMasterKey(KEY);
  // A manifest from before health figures: no `health` field.
  const m = await writeKvBackup(store, master, asset.name, REAL, 10);
  // The planted one: every field checked before the MAC is right; `details` nests 200,000 deep.
  const depth = 200_000;
  const head = JSON.stringify({ ...m, backupId: PLANTED, mac: "AAAA" }).replace(/"details":\{\}/, `"details":${"[".repeat(depth)}${"]".repeat(depth)}`);
  await store.put(manifestKey("daily", asset, PLANTED), head);
});

describe("drposture list/verify with a planted deeply nested manifest", () => {
  it("list --json: the planted manifest is one rejected element, the real backup is listed (without health), exit 1", async () => {
    const r = await cli(["list", "--store", storeDir, "--key-file", keyFile, "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(1);
    const rows = JSON.parse(r.stdout) as Array<{ backupId: string; status: string; problem?: string; health?: unknown }>;
    expect(rows.find((x) => x.backupId === REAL)).toMatchObject({ status: "ok" });
    expect(rows.find((x) => x.backupId === REAL)?.health).toBeUndefined();
    expect(rows.find((x) => x.backupId === PLANTED)).toMatchObject({ status: "rejected", problem: expect.stringMatching(/cannot be checked|altered/) });
  });

  it("list (text): a REJECTED row and line, the real backup with an empty trend", async () => {
    const r = await cli(["list", "--store", storeDir, "--key-file", keyFile]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`kv/orders .*${REAL} +full`));
    expect(r.stdout).toMatch(new RegExp(`REJECTED daily/kv/orders/${PLANTED}/manifest.json: `));
    expect(r.stdout).not.toMatch(/HEALTH/);
  });

  it("verify: counts the planted manifest as rejected and fails, without crashing", async () => {
    const r = await cli(["verify", "--store", storeDir, "--key-file", keyFile]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/2 backups \(1 rejected\)|1 rejected/);
    expect(r.stdout).toMatch(/verification FAILED/);
  });
});
