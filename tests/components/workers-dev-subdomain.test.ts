/**
 * The BackupWorker's workers.dev subdomain command, run as `pulumi up` runs it (node with the
 * project's register hook), against a STAND-IN of Cloudflare's API (not Cloudflare) answering
 * GET /accounts/{id}/workers/subdomain in the documented shape {success, result: {subdomain}}.
 */
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/program";

const exec = promisify(execFile);
const ACCOUNT = "0123456789abcdef0123456789abcdef";
let server: Server;
let api: string;
const seen: Array<{ path: string; auth: string | undefined }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ path: req.url ?? "", auth: req.headers.authorization });
    const ok = req.headers.authorization === "Bearer cf-token" && req.url === `/client/v4/accounts/${ACCOUNT}/workers/subdomain`;
    res.writeHead(ok ? 200 : 403, { "content-type": "application/json" });
    res.end(JSON.stringify(ok ? { success: true, errors: [], messages: [], result: { subdomain: "acme-dr" } } : { success: false, errors: [{ code: 10000, message: "Authentication error" }], result: null }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function runCommand(env: Record<string, string | undefined>): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = path.join(ROOT, "components", "cloudflare", "workersDevSubdomain.ts");
  try {
    const r = await exec(process.execPath, ["-r", path.join(ROOT, "cli", "register.cjs"), script], { env: { PATH: process.env.PATH, ...env } as NodeJS.ProcessEnv });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("workers.dev subdomain command", () => {
  it("prints the account's subdomain, asked with the provider's token", async () => {
    const r = await runCommand({ CLOUDFLARE_ACCOUNT_ID: ACCOUNT, CLOUDFLARE_API_TOKEN: "cf-token", CLOUDFLARE_API_URL: api });
    expect(r).toEqual({ code: 0, stdout: "acme-dr", stderr: "" });
    expect(seen.at(-1)).toEqual({ path: `/client/v4/accounts/${ACCOUNT}/workers/subdomain`, auth: "Bearer cf-token" });
  });

  it("fails pulumi up with Cloudflare's reason and what to do when the token is refused", async () => {
    const r = await runCommand({ CLOUDFLARE_ACCOUNT_ID: ACCOUNT, CLOUDFLARE_API_TOKEN: "wrong", CLOUDFLARE_API_URL: api });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`workers.dev subdomain: Cloudflare refused to tell account ${ACCOUNT}'s workers.dev subdomain (Authentication error): CLOUDFLARE_API_TOKEN needs Workers Scripts Read on the account\n`);
  });

  it("names the missing token", async () => {
    const r = await runCommand({ CLOUDFLARE_ACCOUNT_ID: ACCOUNT, CLOUDFLARE_API_URL: api });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^workers.dev subdomain: CLOUDFLARE_API_TOKEN is not set/);
  });
});
