/**
 * The nightly pg_dump path and its restore, run the way an operator runs them, against the
 * strict local world of the prod stack with the identities the program declares:
 *   drposture backup postgres --store r2://…?endpoint=… --store s3://…?endpoint=…   (writers)
 *   drposture list / verify --read-data 100 / restore postgres, from each store     (readers)
 * The key comes from the escrow (a Secrets Manager stand-in) by prefix, as after losing Pulumi
 * state. Each defect this path had against the real services is a named test here.
 */
import { runSql } from "../../lib/local/postgres";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestPostgres } from "../../lib/drill/digests";
import { sampleFixture } from "../../lib/drill/fixture";
import type { LocalWorld } from "../../lib/local/localWorld";
import { startPgCluster, type PgCluster } from "../../lib/local/postgres";
import { ROOT } from "../helpers/program";
import { worldForTest } from "../helpers/world";

const exec = promisify(execFile);
let world: LocalWorld;
let pg: PgCluster;
let keyHex: string;
const ESCROW = ["--key-escrow", "drposture/prod/data-encryption-key", "--key-escrow-region", "eu-central-1"];

async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [path.join(ROOT, "cli", "bin.cjs"), ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env }, maxBuffer: 16 << 20 });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}


/** The nightly workflow's environment: both writers and the key. */
const writers = () => ({ ...world.cliEnv({ s3: world.s3Keys("writer"), r2: world.r2Keys("writer") }), DRPOSTURE_ENCRYPTION_KEY: keyHex });
/** An operator restoring: the restorer (S3 and the escrow) and the R2 reader token. */
const readers = () => world.cliEnv({ s3: world.s3Keys("restorer"), r2: world.r2Keys("reader") });

beforeAll(async () => {
  [world, pg] = await Promise.all([worldForTest(), startPgCluster()]);
  const escrowed = world.declared.secrets.find((s) => s.name.startsWith("drposture/prod/data-encryption-key/"));
  keyHex = (JSON.parse(escrowed?.secretString ?? "{}") as { keyHex: string }).keyHex;
  await runSql(pg.url(), ["CREATE DATABASE app", "CREATE DATABASE from_s3", "CREATE DATABASE from_r2"]);
  await runSql(pg.url("app"), sampleFixture().postgres ?? []);
}, 120_000);

afterAll(async () => {
  await world?.close();
  await pg?.stop();
});

describe("backup postgres to both providers, then list, verify and restore from each", () => {
  it("commits a backup in R2 (over its S3 API) and in S3, with the writers' identities", async () => {
    const r = await cli(["backup", "postgres", "--url", pg.url("app"), "--store", world.r2Spec(), "--store", world.s3Spec(), "--json"], writers());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { manifest: string; stores: string[] };
    expect(out.stores).toEqual([`r2:${world.r2BucketName}`, `s3:${world.s3BucketName}`]);
    // On S3 the manifest carries the tags the staleness alarm's request metric counts.
    expect(world.vault.data.current(out.manifest)?.tags).toEqual({ "drposture-object": "manifest", "drposture-asset": "neon/app" });
  });

  for (const which of ["s3", "r2"] as const) {
    it(`lists, verifies every byte and restores from ${which}, the key read from the escrow by prefix`, async () => {
      const store = which === "s3" ? world.s3Spec() : world.r2Spec();
      const listed = await cli(["list", "--store", store, "--json", ...ESCROW], readers());
      expect(listed.code, listed.stderr).toBe(0);
      expect((JSON.parse(listed.stdout) as Array<{ asset: string }>).map((x) => x.asset)).toEqual(["neon/app"]);
      const verified = await cli(["verify", "--store", store, "--read-data", "100", "--json", ...ESCROW], readers());
      expect(verified.code, verified.stderr).toBe(0);
      expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, results: [{ manifests: 1, failures: [] }] });
      const target = which === "s3" ? "from_s3" : "from_r2";
      const restored = await cli(["restore", "postgres", "--asset", "app", "--from", "latest", "--to", pg.url(target), "--store", store, "--json", ...ESCROW], readers());
      expect(restored.code, restored.stderr).toBe(0);
      expect((await digestPostgres(pg.url(target))).digest).toBe((await digestPostgres(pg.url("app"))).digest);
    });
  }
});

describe("regressions against the real services' behaviour", () => {
  it("R2: an S3-flavoured client's tags and lock headers get 501 NotImplemented, so no manifest commits", async () => {
    // The same endpoint addressed as plain S3: x-amz-tagging and Object Lock headers are sent.
    const asS3 = `s3://${world.r2BucketName}?region=auto&endpoint=${encodeURIComponent(world.r2.url)}`;
    const before = world.r2.log.length;
    const r = await cli(["backup", "postgres", "--url", pg.url("app"), "--store", asS3], { ...world.cliEnv({ s3: world.r2Keys("writer") }), DRPOSTURE_ENCRYPTION_KEY: keyHex });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/501 NotImplemented/);
    expect(world.r2.log.slice(before).some((l) => l.code === "NotImplemented" && l.path.endsWith("/manifest.json"))).toBe(true);
    // The r2:// store leaves them out and commits (the first test).
  });

  it("S3: list and verify stay inside the tier prefixes the verifier/restorer may list", async () => {
    const before = world.aws.log.length;
    const r = await cli(["verify", "--store", world.s3Spec(), ...ESCROW], readers());
    expect(r.code, r.stderr).toBe(0);
    const lists = world.aws.log.slice(before).filter((l) => l.query.includes("list-type=2"));
    expect(lists.length).toBeGreaterThan(0);
    expect(lists.every((l) => l.status === 200 && /prefix=(daily|weekly|monthly)%2F/.test(l.query))).toBe(true);
  });

  it("temporary credentials (AWS_SESSION_TOKEN) are sent, so SSO and assumed roles work", async () => {
    const session = world.sessionKeys("restorer");
    const ok = await cli(["list", "--store", world.s3Spec()], { ...world.cliEnv({ s3: session }), DRPOSTURE_ENCRYPTION_KEY: keyHex });
    expect(ok.code, ok.stderr).toBe(0);
    const { sessionToken: _t, ...noToken } = session;
    const refused = await cli(["list", "--store", world.s3Spec()], { ...world.cliEnv({ s3: noToken }), DRPOSTURE_ENCRYPTION_KEY: keyHex });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/HTTP 400 InvalidToken/);
  });

  it("the writer's key cannot read the escrow, nor the backups", async () => {
    const r = await cli(["verify", "--store", world.s3Spec(), ...ESCROW], world.cliEnv({ s3: world.s3Keys("writer") }));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/AccessDeniedException|HTTP 403/);
  });
});
