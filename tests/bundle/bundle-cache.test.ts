/**
 * The Worker bundle's disk cache (lib/worker/bundleCache.ts) on a copy of the real sources
 * (worker/ and lib/, node_modules linked): a rebuild of unchanged sources is a hit with the same
 * bytes; any change the build depended on (a source's content even at the same size and mtime,
 * a new file that shadows an import, a tsconfig) gives a new bundle; a corrupt entry is ignored,
 * rebuilt and rewritten. File times are set back after each copy or edit: a file changed within
 * two seconds of a build is never recorded (it might have changed during the build).
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleModule, forgetBundlesInMemory, lastBundleOutcome, WORKER_ENTRY, type WorkerBundle } from "../../lib/worker/bundle";
import { ROOT } from "../helpers/program";

let root: string;
let cacheDir: string;

/** Sets every file and directory under `dir` a minute back: "not changed during a build". */
function backdate(dir: string): void {
  const past = new Date(Date.now() - 60_000);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) backdate(p);
    if (!e.isSymbolicLink()) utimesSync(p, past, past);
  }
  utimesSync(dir, past, past);
}

/** A fresh process's view: no in-memory bundle, only the disk cache. */
function build(): { bundle: WorkerBundle; outcome: string } {
  forgetBundlesInMemory();
  const bundle = bundleModule(WORKER_ENTRY, [], { root, cacheDir });
  return { bundle, outcome: lastBundleOutcome };
}

/** Edits a copied file in place, keeping its size and mtime when asked (the cache must hash content). */
function edit(rel: string, from: string, to: string, o: { keepTimes?: boolean } = {}): void {
  const file = path.join(root, rel);
  const before = statSync(file);
  const text = readFileSync(file, "utf8");
  expect(text).toContain(from);
  writeFileSync(file, text.replace(from, to));
  if (o.keepTimes) utimesSync(file, before.atime, before.mtime);
  else backdate(path.dirname(file));
}

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), "drposture-bundle-"));
  cacheDir = path.join(root, "cache");
  for (const dir of ["worker", "lib"]) cpSync(path.join(ROOT, dir), path.join(root, dir), { recursive: true });
  symlinkSync(path.join(ROOT, "node_modules"), path.join(root, "node_modules"));
  backdate(root);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("the Worker bundle cache", () => {
  it("builds once, then reuses the bundle: the bytes a fresh esbuild build gives", () => {
    const first = build();
    expect(first.outcome).toBe("miss");
    const second = build();
    expect(second.outcome).toBe("hit");
    expect(second.bundle).toEqual(first.bundle);
    expect(first.bundle).toEqual(bundleModule(WORKER_ENTRY, [], { root, cacheDir: null }));
  });

  it("gives a new bundle when a source changes, even at the same size and mtime", () => {
    const before = build();
    // Same length, same mtime: only the content hash can tell.
    edit("worker/alerting.ts", "drposture", "drpostur3", { keepTimes: true });
    const after = build();
    expect(after.outcome).toBe("stale");
    expect(after.bundle.sha256).not.toBe(before.bundle.sha256);
    expect(after.bundle.content).toContain("drpostur3");
    expect(after.bundle).toEqual(bundleModule(WORKER_ENTRY, [], { root, cacheDir: null }));
  });

  it("records the rebuilt bundle: the next build is a hit on the new sources", () => {
    edit("worker/alerting.ts", "drpostur3", "drposture");
    const rebuilt = build();
    expect(rebuilt.outcome).toBe("stale");
    expect(rebuilt.bundle.content).not.toContain("drpostur3");
    expect(build()).toEqual({ bundle: rebuilt.bundle, outcome: "hit" });
  });

  it("gives a new bundle when a new file shadows an unchanged import (./alerting as alerting.tsx)", () => {
    const before = build();
    expect(before.outcome).toBe("hit");
    // esbuild tries .tsx before .ts: the import "./alerting" of worker/index.ts now means this file.
    writeFileSync(path.join(root, "worker", "alerting.tsx"), `export async function sendAlerts() { return "shadowed-by-tsx"; }\n`);
    backdate(path.join(root, "worker"));
    const after = build();
    expect(after.outcome).toBe("stale");
    expect(after.bundle.content).toContain("shadowed-by-tsx");
    rmSync(path.join(root, "worker", "alerting.tsx"));
    backdate(path.join(root, "worker"));
    const back = build();
    expect(back.outcome).toBe("stale");
    expect(back.bundle).toEqual(before.bundle);
  });

  it("gives a new bundle when the tsconfig that governs the sources changes", () => {
    const before = build();
    const tsconfig = path.join(root, "worker", "tsconfig.json");
    const text = readFileSync(tsconfig, "utf8");
    // useDefineForClassFields changes how esbuild emits class fields.
    writeFileSync(tsconfig, text.replace(`"compilerOptions": {`, `"compilerOptions": {\n    "useDefineForClassFields": false,`));
    backdate(path.join(root, "worker"));
    const after = build();
    expect(after.outcome).toBe("stale");
    writeFileSync(tsconfig, text);
    backdate(path.join(root, "worker"));
    expect(build().bundle).toEqual(before.bundle);
  });

  it.each([
    ["truncated", (raw: string) => raw.slice(0, raw.length / 2)],
    ["not JSON", () => "\u0000\u0001garbage"],
    ["content tampered: its hash no longer matches", (raw: string) => raw.replace(/"content":"/, `"content":"globalThis.pwned=1;`)],
    ["empty", () => ""],
  ])("ignores a corrupt entry (%s), rebuilds and rewrites it", (_, corrupt) => {
    const good = build();
    expect(good.outcome).toBe("hit");
    const [entry] = readdirSync(cacheDir).filter((f) => f.endsWith(".json"));
    const file = path.join(cacheDir, entry as string);
    writeFileSync(file, corrupt(readFileSync(file, "utf8")));
    const rebuilt = build();
    expect(rebuilt.outcome).toBe("corrupt");
    expect(rebuilt.bundle).toEqual(good.bundle);
    expect(build()).toEqual({ bundle: good.bundle, outcome: "hit" });
  });

  it("does not record a build whose sources changed around it (mtime within 2 s): no stale entry can come of it", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "drposture-bundle-cache-"));
    try {
      writeFileSync(path.join(root, "worker", "alerting.ts"), readFileSync(path.join(root, "worker", "alerting.ts"), "utf8")); // mtime: now
      forgetBundlesInMemory();
      bundleModule(WORKER_ENTRY, [], { root, cacheDir: dir });
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      backdate(path.join(root, "worker"));
    }
  });
});
