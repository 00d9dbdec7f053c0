/**
 * The error boundary as an operator meets it (issue #9 items 13 and 14): every failure is one
 * line on stderr with an exit code (1 failure, 2 usage), no stack trace unless DRPOSTURE_DEBUG
 * is set, and with --json a JSON error document on stdout instead of nothing.
 */
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { classify } from "../../cli/errorBoundary";
import { drposture } from "../helpers/cli";

const STACK_LINE = /^\s+at /m;
let dir: string;
let keyFile: string;
/** A port nothing listens on: bound, then closed. */
let deadPort: number;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "drposture-boundary-"));
  keyFile = path.join(dir, "key.hex");
  writeFileSync(keyFile, "5a".repeat(32));
  deadPort = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
});

function oneLine(stderr: string): void {
  expect(stderr).not.toMatch(STACK_LINE);
  expect(stderr.trim().split("\n").filter((l) => l.startsWith("drposture:"))).toHaveLength(1);
}

describe("one line per failure", () => {
  it("an unreachable S3 endpoint: one line naming the address, exit 1", async () => {
    const r = await drposture(["list", "--store", `s3://bucket?region=us-east-1&endpoint=http://127.0.0.1:${deadPort}`, "--key-file", keyFile], {
      env: { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret" },
    });
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/cannot reach .*127\.0\.0\.1.*connection refused/);
  });

  it("an unreachable Neon API: one line, exit 1, and with --json an error document", async () => {
    const r = await drposture(["restore", "neon", "--to", "br-main", "--project", "p-1", "--from", "2026-11-20T10:00:00Z", "--neon-api-url", `http://127.0.0.1:${deadPort}/api/v2`, "--json"], {
      env: { NEON_API_KEY: "k" },
    });
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    const doc = JSON.parse(r.stdout) as { error: { code: string; message: string } };
    expect(doc.error.code).toBe("ECONNREFUSED");
    expect(doc.error.message).toMatch(/connection refused/);
  });

  it("with DRPOSTURE_DEBUG=1 the stack trace follows the line", async () => {
    const r = await drposture(["list", "--store", `s3://bucket?region=us-east-1&endpoint=http://127.0.0.1:${deadPort}`, "--key-file", keyFile], {
      env: { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret", DRPOSTURE_DEBUG: "1" },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(STACK_LINE);
  });
});

describe("--json always prints a JSON document", () => {
  it.each([
    ["a usage error from the options", ["list", "--json", "--asset", "../../kv/sessions", "--store", "."], 2, "commander.invalidArgument"],
    ["a missing store", ["verify", "--json", "--key-file", "KEYFILE"], 2, "StoreSpecError"],
    ["a malformed key", ["verify", "--json", "--store", "DIR", "--key-file", "/etc/hostname"], 2, "KeySourceError"],
  ])("%s", async (_what, args, code, errorCode) => {
    const r = await drposture(args.map((a) => (a === "KEYFILE" ? keyFile : a === "DIR" ? dir : a)));
    expect(r.code).toBe(code);
    expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).toBe(errorCode);
  });
});

describe("asset names are names, never paths", () => {
  it.each(["../../kv/sessions", "sessions/../x", "Sessions", "", "a".repeat(41)])("restore --asset %j is refused before anything is read or written", async (asset) => {
    const out = path.join(dir, `never-${readdirSync(dir).length}.json`);
    const r = await drposture(["restore", "kv", "--asset", asset, "--to", `file:${out}`, "--store", dir, "--key-file", keyFile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not an asset: expected NAME/);
    expect(existsSync(out)).toBe(false);
  });
});

describe("stores and targets are checked before anything is read", () => {
  it.each([
    ["an empty --store", ["list", "--store", "", "--key-file", "KEYFILE"], /--store "": expected s3:\/\/BUCKET/],
    ["a store of another scheme", ["verify", "--store", "gs://bucket", "--key-file", "KEYFILE"], /gs:\/\/ is not a store/],
    ["a kv target that is neither file: nor local:", ["restore", "kv", "--asset", "sessions", "--to", "sessions.json", "--store", "/nonexistent", "--key-file", "KEYFILE"], /--to "sessions.json" is not a kv target; expected file:PATH.json/],
    ["a postgres target that is not a connection string", ["restore", "postgres", "--asset", "app", "--to", "localhost", "--store", "/nonexistent", "--key-file", "KEYFILE"], /is not a postgres target; expected a connection string/],
    ["an r2 target of another scheme", ["restore", "r2", "--asset", "media", "--to", "https://bucket.example", "--store", "/nonexistent", "--key-file", "KEYFILE"], /is not a r2 target/],
    ["a neon target that is not a branch id", ["restore", "neon", "--to", "main", "--project", "p", "--from", "2026-11-20T10:00:00Z"], /--to "main" is not a neon target; expected the branch id/],
  ])("%s: exit 2 with what is expected", async (_what, args, message) => {
    const r = await drposture(args.map((a) => (a === "KEYFILE" ? keyFile : a)), { env: { NEON_API_KEY: "k" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    oneLine(r.stderr);
  });
});

describe("classify", () => {
  it("maps node-postgres errors by SQLSTATE with a hint", () => {
    const err = Object.assign(new Error('password authentication failed for user "x"'), { code: "28P01", severity: "FATAL" });
    expect(classify(err)).toEqual({ code: "SQLSTATE-28P01", message: expect.stringMatching(/password authentication failed.*check the user and password/), exitCode: 1 });
  });
  it("an error nobody anticipated is one line with the way to get the stack", () => {
    expect(classify(new TypeError("x is not a function"))).toEqual({ code: "internal", message: "unexpected error: x is not a function (DRPOSTURE_DEBUG=1 prints the stack trace)", exitCode: 1 });
  });
  it("an interrupted command exits 130", () => {
    const err = Object.assign(new Error("interrupted"), { name: "InterruptedError" });
    expect(classify(err).exitCode).toBe(130);
  });
});
