/**
 * `drposture verify` and `drposture list` must never pass on what they did not check: a store
 * that is not there, is empty or is one level off, an asset that does not exist, a percentage
 * that is not one, a wrong, garbage or missing key, forged, relocated, replayed or malformed
 * manifests, a store rolled back behind the Worker's latest pointer. Each asserts the exit
 * code, the message, and that the store was left as it was.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { importMasterKey } from "../../lib/format/keys";
import { backupPrefix, manifestKey } from "../../lib/format/layout";
import { DirStorage } from "../../lib/storage/dirStorage";
import { drposture } from "../helpers/cli";
import { backupIdAt, copyDir, OTHER_KEY_HEX, TEST_KEY_HEX, treeSnapshot, writeKvBackup } from "../helpers/signedStore";

const ORDERS = { kind: "kv" as const, name: "orders" };
const CARTS = { kind: "kv" as const, name: "carts" };
const O1 = backupIdAt("2026-11-20T10:00:00.000Z", "00000001");
const O2 = backupIdAt("2026-11-21T10:00:00.000Z", "00000002");
const C1 = backupIdAt("2026-11-20T11:00:00.000Z", "0000000c");

let base: string;
let store: string;
let keyFile: string;
let otherKeyFile: string;
let otherKeyId: string;

beforeAll(async () => {
  base = mkdtempSync(path.join(tmpdir(), "drposture-trust-verify-"));
  store = path.join(base, "store");
  keyFile = path.join(base, "key.hex");
  otherKeyFile = path.join(base, "other.hex");
  writeFileSync(keyFile, TEST_KEY_HEX);
  writeFileSync(otherKeyFile, OTHER_KEY_HEX);
  const s = new DirStorage(store);
  const master = await importMasterKey(TEST_KEY_HEX);
  otherKeyId = (await importMasterKey(OTHER_KEY_HEX)).id;
  await writeKvBackup(s, master, { asset: ORDERS, backupId: O1, sourcePointInTime: "2026-11-20T10:00:00.000Z", entries: { a: "1", b: "2" } });
  await writeKvBackup(s, master, { asset: ORDERS, backupId: O2, sourcePointInTime: "2026-11-21T10:00:00.000Z", entries: { a: "3" } });
  await writeKvBackup(s, master, { asset: CARTS, backupId: C1, sourcePointInTime: "2026-11-20T11:00:00.000Z", entries: { c: "4" } });
});

const verify = (dir: string, ...args: string[]) => drposture(["verify", "--store", dir, "--key-file", keyFile, ...args]);
const list = (dir: string, ...args: string[]) => drposture(["list", "--store", dir, ...args]);

describe("verify fails when it verified nothing", () => {
  it("passes a clean store (the baseline), reading every artifact", async () => {
    const r = await verify(store, "--read-data", "100", "--json");
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).results[0]).toMatchObject({ manifests: 3, rejected: 0, artifactsRead: 3, unreferenced: 0, failures: [] });
  });

  it("a store directory that does not exist: says so (not 'no encryption key'), exit 1", async () => {
    const missing = path.join(base, "no-such-store");
    const r = await drposture(["verify", "--store", missing]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`store ${missing}: the directory does not exist`);
    const local = await drposture(["verify", "--local", missing]);
    expect(local.code).toBe(1);
    expect(local.stderr).toContain(`--local ${missing}: the directory does not exist`);
    expect(local.stderr).not.toMatch(/no encryption key/);
  });

  it("an empty store: nothing found, and what was looked for", async () => {
    const empty = mkdtempSync(path.join(tmpdir(), "drposture-trust-empty-"));
    const r = await verify(empty);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`nothing to verify: no backup found (looked for {daily,weekly,monthly}/<kind>/<asset>/<backupId>/manifest.json in dir:${empty})`);
    expect(r.stdout).toContain("verification FAILED");
  });

  it("a store one level too high, or too low: fails and names the store", async () => {
    const high = await verify(base, "--json");
    expect(high.code).toBe(1);
    const doc = JSON.parse(high.stdout) as { ok: boolean; results: Array<{ manifests: number; hint: string; failures: Array<{ problem: string }> }> };
    expect(doc.ok).toBe(false);
    expect(doc.results[0]?.manifests).toBe(0);
    expect(doc.results[0]?.failures[0]?.problem).toMatch(/^nothing to verify/);
    expect(doc.results[0]?.hint).toBe(`backups are one level down: --store ${store}`);
    const low = await verify(path.join(store, "daily"));
    expect(low.code).toBe(1);
    expect(low.stdout).toContain(`is inside a store: --store ${store}`);
  });

  it("--asset that matches nothing: fails, naming the assets that are there", async () => {
    const r = await verify(store, "--asset", "nosuch");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("looked for {daily,weekly,monthly}/<kind>/nosuch/<backupId>/manifest.json");
    expect(r.stdout).toContain("backups of other assets are there: kv/carts, kv/orders");
    const kinded = await verify(store, "--asset", "d1/orders");
    expect(kinded.code).toBe(1);
    expect(kinded.stdout).toContain("looked for {daily,weekly,monthly}/d1/orders/");
  });

  it.each(["abc", "-5", "101", "", "1e3"])("--read-data %j is a usage error (exit 2) before anything is read", async (value) => {
    const r = await verify(store, "--read-data", value);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`"${value}" is not a percentage: expected a number from 0 to 100`);
    expect(r.stdout).not.toMatch(/verification/);
  });
});

describe("verify with a wrong key, and against tampering", () => {
  it("the wrong key: exit 1, both key ids named, artifacts not called leftovers of unfinished backups", async () => {
    const before = treeSnapshot(store);
    const r = await drposture(["verify", "--store", store, "--key-file", otherKeyFile, "--json"]);
    expect(r.code).toBe(1);
    const result = JSON.parse(r.stdout).results[0];
    expect(result).toMatchObject({ manifests: 3, rejected: 3, unreferenced: 0, unchecked: 3, wrongKey: { given: otherKeyId } });
    const human = await drposture(["verify", "--store", store, "--key-file", otherKeyFile]);
    expect(human.stdout).toContain("0 unreferenced object(s) of unfinished backups, 3 object(s) of rejected backups not checked");
    expect(human.stdout).toMatch(new RegExp(`wrong key\\? the backups name key [0-9a-f]{16}; the key given is ${otherKeyId}`));
    expect(treeSnapshot(store)).toEqual(before);
  });

  it("a manifest relocated to another asset and an older one replayed over the newest: both fail, the rollback named", async () => {
    const dir = copyDir(store);
    // carts' backup copied under orders, with its artifacts.
    mkdirSync(path.join(dir, backupPrefix("daily", ORDERS, C1)), { recursive: true });
    cpSync(path.join(dir, backupPrefix("daily", CARTS, C1)), path.join(dir, backupPrefix("daily", ORDERS, C1)), { recursive: true });
    // O2's manifest replaced by O1's: the newest orders backup no longer verifies.
    writeFileSync(path.join(dir, manifestKey("daily", ORDERS, O2)), readFileSync(path.join(dir, manifestKey("daily", ORDERS, O1))));
    const before = treeSnapshot(dir);
    const r = await verify(dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`FAILED ${manifestKey("daily", ORDERS, C1)}: dir:${dir}/${manifestKey("daily", ORDERS, C1)}: this manifest belongs at ${manifestKey("daily", CARTS, C1)}`);
    expect(r.stdout).toContain(`FAILED ${manifestKey("daily", ORDERS, O2)}: dir:${dir}/${manifestKey("daily", ORDERS, O2)}: this manifest belongs at ${manifestKey("daily", ORDERS, O1)}`);
    expect(r.stdout).toContain(`FAILED _state/latest/kv/orders.json: dir:${dir}: the newest verified backup of kv/orders is ${O1}, but the Worker last committed ${O2}`);
    expect(treeSnapshot(dir)).toEqual(before);
  });

  it("a store rolled back to before its newest backup (the backup deleted): the rollback fails verify", async () => {
    const dir = copyDir(store);
    rmSync(path.join(dir, backupPrefix("daily", ORDERS, O2)), { recursive: true });
    const r = await verify(dir, "--asset", "orders");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`the newest verified backup of kv/orders is ${O1}, but the Worker last committed ${O2}`);
    const carts = await verify(dir, "--asset", "kv/carts");
    expect(carts.code, carts.stdout).toBe(0);
    rmSync(path.join(dir, backupPrefix("daily", ORDERS, O1)), { recursive: true });
    const gone = await verify(dir, "--asset", "kv/orders");
    expect(gone.code).toBe(1);
    expect(gone.stdout).toContain(`no verified backup of kv/orders is left, but the Worker last committed ${O2}`);
  });
});

describe("list verifies what it lists", () => {
  it("lists a clean store with the key: every row ok, exit 0", async () => {
    const r = await list(store, "--key-file", keyFile, "--json");
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ asset: string; status: string }>;
    expect(rows.map((x) => `${x.asset}:${x.status}`).sort()).toEqual(["kv/carts:ok", "kv/orders:ok", "kv/orders:ok"]);
  });

  it("without a key, or with garbage for one: exit 2, nothing listed", async () => {
    const missing = await list(store);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no encryption key: use --key-file, --key-escrow or DRPOSTURE_ENCRYPTION_KEY/);
    expect(missing.stdout).toBe("");
    const garbage = path.join(base, "garbage.hex");
    writeFileSync(garbage, "zz".repeat(32));
    const bad = await list(store, "--key-file", garbage);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/encryption key must be 32 bytes/);
    expect(bad.stdout).toBe("");
  });

  it("with the wrong key: every row REJECTED naming both key ids, exit 1", async () => {
    const r = await list(store, "--key-file", otherKeyFile);
    expect(r.code).toBe(1);
    const rejected = r.stdout.split("\n").filter((l) => l.startsWith("REJECTED "));
    expect(rejected).toHaveLength(3);
    for (const l of rejected) expect(l).toMatch(new RegExp(`written with key [0-9a-f]{16}, but the key given is ${otherKeyId} \\(wrong key\\)`));
  });

  it("a forged manifest (another key) and a malformed one are REJECTED rows; the rest is still listed", async () => {
    const dir = copyDir(store);
    const forged = backupIdAt("2026-11-22T10:00:00.000Z", "0000bad0");
    await writeKvBackup(new DirStorage(dir), await importMasterKey(OTHER_KEY_HEX), { asset: ORDERS, backupId: forged, sourcePointInTime: "2026-11-22T10:00:00.000Z", entries: { a: "forged" }, commit: false });
    writeFileSync(path.join(dir, manifestKey("daily", CARTS, C1)), "{ this is not json");
    const before = treeSnapshot(dir);
    const r = await list(dir, "--key-file", keyFile, "--json");
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
    const rows = JSON.parse(r.stdout) as Array<{ backupId: string; status: string; problem?: string }>;
    expect(rows.find((x) => x.backupId === forged)).toMatchObject({ status: "rejected", problem: expect.stringMatching(/written with key .* \(wrong key\)/) });
    expect(rows.find((x) => x.backupId === C1)).toMatchObject({ status: "rejected", problem: expect.stringMatching(/is not valid JSON/) });
    expect(rows.filter((x) => x.status === "ok").map((x) => x.backupId).sort()).toEqual([O1, O2]);
    const human = await list(dir, "--key-file", keyFile);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(new RegExp(`kv/carts .*${C1}\\s+REJECTED`));
    expect(human.stdout).toContain(`REJECTED ${manifestKey("daily", CARTS, C1)}: dir:${dir}/${manifestKey("daily", CARTS, C1)} is not valid JSON`);
    expect(treeSnapshot(dir)).toEqual(before);
  });

  it("a relocated manifest is REJECTED where it lies", async () => {
    const dir = copyDir(store);
    const at = manifestKey("daily", CARTS, O2);
    mkdirSync(path.dirname(path.join(dir, at)), { recursive: true });
    writeFileSync(path.join(dir, at), readFileSync(path.join(dir, manifestKey("daily", ORDERS, O2))));
    const r = await list(dir, "--key-file", keyFile);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`REJECTED ${at}: dir:${dir}/${at}: this manifest belongs at ${manifestKey("daily", ORDERS, O2)}`);
  });
});
