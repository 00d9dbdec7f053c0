/**
 * Which backup `drposture restore` trusts, as an adversary with write access to the store (but
 * not the key) would test it: replayed, relocated, edited and forged manifests, a rolled-back
 * store, wrong keys, an absent backup id. Every refusal: exit code, the message, no target file
 * written and the store untouched. Real signed backups in a directory store; `kv` into
 * `file:` (the `wrangler kv bulk put` file) as the target.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { importMasterKey } from "../../lib/format/keys";
import { backupPrefix, manifestKey } from "../../lib/format/layout";
import { DirStorage } from "../../lib/storage/dirStorage";
import { drposture } from "../helpers/cli";
import { backupIdAt, copyDir, OTHER_KEY_HEX, TEST_KEY_HEX, treeSnapshot, writeKvBackup } from "../helpers/signedStore";

const SESSIONS = { kind: "kv" as const, name: "sessions" };
const FLAGS = { kind: "kv" as const, name: "feature-flags" };
const S = ["2026-11-20T10:00:00.000Z", "2026-11-21T10:00:00.000Z", "2026-11-22T10:00:00.000Z"].map((t, i) => ({ t, id: backupIdAt(t, `0000000${i + 1}`) }));
const F = ["2026-11-20T11:00:00.000Z", "2026-11-21T11:00:00.000Z"].map((t, i) => ({ t, id: backupIdAt(t, `f000000${i + 1}`) }));
const [S1, S2, S3] = S as [(typeof S)[0], (typeof S)[0], (typeof S)[0]];
const [, F2] = F as [(typeof F)[0], (typeof F)[0]];

let base: string;
let keyFile: string;
let otherKeyFile: string;

beforeAll(async () => {
  base = mkdtempSync(path.join(tmpdir(), "drposture-trust-restore-"));
  keyFile = path.join(base, "key.hex");
  otherKeyFile = path.join(base, "other.hex");
  writeFileSync(keyFile, TEST_KEY_HEX);
  writeFileSync(otherKeyFile, OTHER_KEY_HEX);
  const store = new DirStorage(path.join(base, "store"));
  const master = await importMasterKey(TEST_KEY_HEX);
  for (const [i, s] of S.entries()) await writeKvBackup(store, master, { asset: SESSIONS, backupId: s.id, sourcePointInTime: s.t, entries: { "user:1": `session-${i + 1}` } });
  for (const [i, f] of F.entries()) await writeKvBackup(store, master, { asset: FLAGS, backupId: f.id, sourcePointInTime: f.t, entries: { beta: `flags-${i + 1}` } });
});

/** A copy of the store, a target path that does not exist yet, and the restore command. */
function scene() {
  const store = copyDir(path.join(base, "store"));
  const out = path.join(mkdtempSync(path.join(tmpdir(), "drposture-trust-target-")), "restored.json");
  const restore = (asset: string, from: string, key = keyFile) => drposture(["restore", "kv", "--asset", asset, "--from", from, "--to", `file:${out}`, "--store", store, "--key-file", key]);
  const restoredValue = () => Buffer.from((JSON.parse(readFileSync(out, "utf8")) as Array<{ value: string }>)[0]?.value ?? "", "base64").toString();
  return { store, out, restore, restoredValue };
}

/** Copies a whole backup directory (manifest and artifacts) to another key, as `aws s3 cp` would. */
function copyBackup(store: string, from: string, to: string): void {
  mkdirSync(path.join(store, to), { recursive: true });
  cpSync(path.join(store, from), path.join(store, to), { recursive: true });
}

describe("restore picks the newest verified backup, by signed fields only", () => {
  it("an older manifest copied under a newer backup id is skipped (and said so), not restored as latest", async () => {
    const { store, restore, restoredValue } = scene();
    const newer = backupIdAt("2026-11-23T10:00:00.000Z", "0000000f");
    copyBackup(store, backupPrefix("daily", SESSIONS, S1.id), backupPrefix("daily", SESSIONS, newer));
    const r = await restore("sessions", "latest");
    expect(r.code, r.stderr).toBe(0);
    expect(restoredValue()).toBe("session-3");
    expect(r.stderr).toContain(`skipped ${manifestKey("daily", SESSIONS, newer)}`);
    expect(r.stderr).toContain(`belongs at ${manifestKey("daily", SESSIONS, S1.id)}`);
    expect(r.stderr).toContain(`from backup ${S3.id}`);
  });

  it("a kv/sessions backup copied under kv/feature-flags is never restored as feature-flags", async () => {
    const { store, out, restore, restoredValue } = scene();
    copyBackup(store, backupPrefix("daily", SESSIONS, S3.id), backupPrefix("daily", FLAGS, S3.id));
    const latest = await restore("feature-flags", "latest");
    expect(latest.code, latest.stderr).toBe(0);
    expect(restoredValue()).toBe("flags-2");
    expect(latest.stderr).toMatch(new RegExp(`skipped daily/kv/feature-flags/${S3.id}/manifest.json: .*belongs at daily/kv/sessions/${S3.id}/manifest.json`));

    rmSync(out);
    const before = treeSnapshot(store);
    const named = await restore("feature-flags", S3.id);
    expect(named.code).toBe(1);
    expect(named.stderr).toMatch(/belongs at daily\/kv\/sessions\/.*moved or copied; refused/);
    expect(existsSync(out)).toBe(false);
    expect(treeSnapshot(store)).toEqual(before);
  });

  it("--from TIME reads the signed source point: an edited one is skipped and reported, never trusted", async () => {
    const { store, restore, restoredValue } = scene();
    // The attacker pushes S2's source point past the time asked for, hoping it is passed over silently.
    const file = path.join(store, manifestKey("daily", SESSIONS, S2.id));
    const m = JSON.parse(readFileSync(file, "utf8")) as { sourcePointInTime: string };
    m.sourcePointInTime = "2026-11-21T13:00:00.000Z";
    writeFileSync(file, JSON.stringify(m));
    const r = await restore("sessions", "2026-11-21T12:00:00Z");
    expect(r.code, r.stderr).toBe(0);
    expect(restoredValue()).toBe("session-1");
    expect(r.stderr).toMatch(new RegExp(`skipped ${manifestKey("daily", SESSIONS, S2.id)}: .*MAC does not match`));
  });

  it("a manifest forged with another key is skipped as another key's, and the real latest restored", async () => {
    const { store, restore, restoredValue } = scene();
    const forged = backupIdAt("2026-11-23T10:00:00.000Z", "0000bad0");
    await writeKvBackup(new DirStorage(store), await importMasterKey(OTHER_KEY_HEX), { asset: SESSIONS, backupId: forged, sourcePointInTime: "2026-11-23T10:00:00.000Z", entries: { "user:1": "forged" }, commit: false });
    const r = await restore("sessions", "latest");
    expect(r.code, r.stderr).toBe(0);
    expect(restoredValue()).toBe("session-3");
    expect(r.stderr).toMatch(new RegExp(`skipped ${manifestKey("daily", SESSIONS, forged)}: .*\\(wrong key\\)`));
  });
});

describe("anti-rollback: the sealed latest pointer", () => {
  it("latest is refused when the store is behind what the Worker last committed; naming a backup id goes ahead with a warning", async () => {
    const { store, out, restore, restoredValue } = scene();
    // Replay: S3's manifest replaced by S2's (the artifacts stay), so S3 no longer verifies.
    writeFileSync(path.join(store, manifestKey("daily", SESSIONS, S3.id)), readFileSync(path.join(store, manifestKey("daily", SESSIONS, S2.id))));
    const before = treeSnapshot(store);
    const r = await restore("sessions", "latest");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the newest verified backup of kv/sessions is ${S2.id}, but the Worker last committed ${S3.id}`);
    expect(r.stderr).toContain(`--from ${S2.id}`);
    expect(existsSync(out)).toBe(false);
    const byTime = await restore("sessions", "2026-11-23T00:00:00Z");
    expect(byTime.code).toBe(1);
    expect(byTime.stderr).toMatch(/last committed/);
    expect(existsSync(out)).toBe(false);
    expect(treeSnapshot(store)).toEqual(before);

    const named = await restore("sessions", S2.id);
    expect(named.code, named.stderr).toBe(0);
    expect(restoredValue()).toBe("session-2");
    expect(named.stderr).toMatch(/warning: .*last committed/);
  });

  it("a store whose every backup was deleted is refused as rolled back, not as an unknown asset", async () => {
    const { store, out, restore } = scene();
    rmSync(path.join(store, "daily", "kv", "sessions"), { recursive: true });
    const r = await restore("sessions", "latest");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no verified backup of kv/sessions is left, but the Worker last committed ${S3.id}`);
    expect(existsSync(out)).toBe(false);
  });
});

describe("refusals that name what is wrong", () => {
  it("a well-formed backup id that is not there: exit 2, named, with the nearest ones", async () => {
    const { out, restore } = scene();
    const absent = backupIdAt("2026-11-21T00:00:00.000Z", "deadbeef");
    const r = await restore("sessions", absent);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`no backup with id ${absent} of kv/sessions in dir:`);
    expect(r.stderr).toContain(`nearest: ${S1.id} (before), ${S2.id} (after)`);
    expect(r.stderr).not.toMatch(/expected "latest"/);
    expect(existsSync(out)).toBe(false);
  });

  it("the wrong key: exit 1, both key ids named, nothing written", async () => {
    const { store, out, restore } = scene();
    const before = treeSnapshot(store);
    const r = await restore("sessions", "latest", otherKeyFile);
    expect(r.code).toBe(1);
    const given = (await importMasterKey(OTHER_KEY_HEX)).id;
    const written = (await importMasterKey(TEST_KEY_HEX)).id;
    expect(r.stderr).toContain(`no backup of kv/sessions in dir:${store} verifies with the key given: they were written with key ${written}, the key given is ${given} (wrong key`);
    expect(existsSync(out)).toBe(false);
    expect(treeSnapshot(store)).toEqual(before);
  });

  it("a garbage key: exit 2, nothing read or written", async () => {
    const { out, restore } = scene();
    const garbage = path.join(base, "garbage.hex");
    writeFileSync(garbage, "not a key at all");
    const r = await restore("sessions", "latest", garbage);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/encryption key must be 32 bytes/);
    expect(existsSync(out)).toBe(false);
  });
});
