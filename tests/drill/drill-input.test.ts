/**
 * The drill's input, as operators give it (issue #9 items 13 and 14): --corrupt must name one
 * of the drill's assets and is checked before anything starts; a Postgres fixture whose schema,
 * table and column names need quoting (spaces, capitals, double quotes) is measured, restored and
 * checked like any other.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { drposture } from "../helpers/cli";
import { filesBelow, startCli, type Run } from "../helpers/interruptible";
import { QUOTED_TABLE } from "../helpers/pgBackupFixture";

const runs: Run[] = [];
afterEach(async () => {
  for (const r of runs.splice(0)) await r.reap();
});

describe("drill --corrupt", () => {
  it("an asset the drill does not have: exit 2 listing its assets, before anything starts", async () => {
    const run = startCli(["drill", "--local", "--corrupt", "nosuch/asset", "--report", path.join(tmpdir(), "drposture-never-written")]);
    runs.push(run);
    const started = Date.now();
    const exit = await run.exited;
    expect(exit.code).toBe(2);
    expect(run.stderr()).toMatch(/^drposture: --corrupt nosuch\/asset: not an asset of this drill; expected one of d1\/app-db, neon\/app, kv\/sessions, r2\/user-uploads\n$/);
    // Nothing was set up: no phase, no server, no temporary data.
    expect(run.stderr()).not.toMatch(/drill: setup/);
    expect(filesBelow(run.tmp)).toEqual([]);
    expect((exit.at - started) / 1000).toBeLessThan(10);
    expect(existsSync(path.join(tmpdir(), "drposture-never-written"))).toBe(false);
  });
});

describe("drill with quoted Postgres identifiers", () => {
  it("a schema, tables and columns named with spaces, capitals and quotes: restored and verified", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "drposture-drill-quoted-"));
    const fixture = path.join(dir, "fixture.json");
    writeFileSync(
      fixture,
      JSON.stringify({
        postgres: [
          ...QUOTED_TABLE,
          // A foreign key between quoted columns: the orphan check builds SQL from their names.
          'CREATE TABLE "My Schema"."Line ""Notes""" ("Item Id" int REFERENCES "My Schema"."Order Items" (id), "Text" text)',
          'INSERT INTO "My Schema"."Line ""Notes""" VALUES (1, \'first\'), (2, \'second "quoted"\')',
        ],
        kv: { sessions: [{ key: "k", value: "v" }] },
      }),
    );
    const r = await drposture(["drill", "--local", "--json", "--fixture", fixture, "--report", dir], { timeoutMs: 240_000 });
    rmSync(dir, { recursive: true, force: true });
    expect(r.code, r.stderr).toBe(0);
    const pg = JSON.parse(r.stdout).assets.find((a: { kind: string }) => a.kind === "postgres");
    expect(pg).toMatchObject({ verified: true, sourceCount: 4, restoredCount: 4 });
    expect(pg.integrity.find((i: { check: string }) => i.check === "postgres: foreign keys resolve")).toMatchObject({ ok: true, detail: "1 foreign key(s), 0 orphaned row(s)" });
  }, 240_000);
});
