/**
 * The drill's per-asset steps: seed a source, measure it, destroy it, restore it into an empty
 * target, measure the target. Each works on one DrillAsset in the drill environment.
 */
import { runSql } from "../local/postgres";
import { onCleanup } from "../process/cleanup";
import { fromBase64 } from "../format/bytes";
import { bindingSink, restoreD1, type D1Like } from "../restore/d1Restore";
import { bindingKvSink, kvKeys, restoreKv, type KvLike } from "../restore/kvRestore";
import { openArtifact, readLines } from "../backup/artifacts";
import { bindingR2Sink, restoreR2, type R2Like } from "../restore/r2Restore";
import { restorePostgres } from "../restore/postgresRestore";
import type { Resolved } from "../restore/resolve";
import type { RestoreReport } from "../restore/modes";
import type { MasterKey } from "../format/keys";
import type { BackupStorage } from "../storage/types";
import { digestD1, digestKv, digestPostgres, digestR2, type Digest } from "./digests";
import type { DrillAsset, DrillEnvironment } from "./environment";
import type { Fixture } from "./fixture";
import { d1Integrity } from "../integrity/d1";
import { postgresIntegrity } from "../integrity/postgres";
import type { IntegrityResult } from "../integrity/result";


const mf = (env: DrillEnvironment) => env.worker.mf;

export async function seed(env: DrillEnvironment, a: DrillAsset, fixture: Fixture): Promise<void> {
  if (a.kind === "neon") {
    await runSql(env.pg.url(), [`CREATE DATABASE ${a.source}`]);
    await runSql(env.pg.url(a.source), fixture.postgres ?? []);
  } else if (a.kind === "d1") {
    const db = (await mf(env).getD1Database(a.source)) as unknown as D1Like & { exec(sql: string): Promise<unknown>; prepare(sql: string): { run(): Promise<unknown> } };
    const stmts = fixture.d1?.[a.name] ?? [];
    for (let i = 0; i < stmts.length; i += 100) await db.batch(stmts.slice(i, i + 100).map((s) => db.prepare(s)));
  } else if (a.kind === "kv") {
    const kv = await mf(env).getKVNamespace(a.source);
    for (const e of fixture.kv?.[a.name] ?? []) {
      const value = e.base64 !== undefined ? fromBase64(e.base64) : (e.value as string);
      await kv.put(e.key, value, { ...(e.metadata !== undefined ? { metadata: e.metadata } : {}), ...(e.expiration !== undefined ? { expiration: e.expiration } : {}) });
    }
  } else {
    const r2 = await mf(env).getR2Bucket(a.source);
    for (const o of fixture.r2?.[a.name] ?? []) {
      const body = o.base64 !== undefined ? fromBase64(o.base64) : new TextEncoder().encode(o.text ?? "");
      await r2.put(o.key, body, { ...(o.httpMetadata ? { httpMetadata: o.httpMetadata } : {}), ...(o.customMetadata ? { customMetadata: o.customMetadata } : {}) });
    }
  }
}

export async function measure(env: DrillEnvironment, a: DrillAsset, which: "source" | "target"): Promise<Digest> {
  const binding = which === "source" ? a.source : a.target;
  if (a.kind === "neon") return digestPostgres(env.pg.url(binding));
  if (a.kind === "d1") return digestD1((await mf(env).getD1Database(binding)) as unknown as D1Like);
  if (a.kind === "kv") return digestKv((await mf(env).getKVNamespace(binding)) as never);
  return digestR2((await mf(env).getR2Bucket(binding)) as never);
}

/** The disaster: every source is destroyed. */
export async function destroy(env: DrillEnvironment, a: DrillAsset): Promise<void> {
  if (a.kind === "neon") {
    await runSql(env.pg.url(), [`DROP DATABASE ${a.source} WITH (FORCE)`]);
  } else if (a.kind === "d1") {
    const db = (await mf(env).getD1Database(a.source)) as unknown as D1Like;
    const objects = (await db.prepare("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").bind().all()).results as Array<{ type: string; name: string }>;
    const order = ["trigger", "view", "index", "table"];
    const drops = objects.filter((o) => order.includes(o.type)).sort((x, y) => order.indexOf(x.type) - order.indexOf(y.type));
    for (const o of drops) await db.batch([db.prepare("PRAGMA defer_foreign_keys = ON"), db.prepare(`DROP ${o.type.toUpperCase()} IF EXISTS "${o.name.replace(/"/g, '""')}"`)]).catch(() => undefined);
  } else if (a.kind === "kv") {
    const kv = await mf(env).getKVNamespace(a.source);
    for await (const k of kvKeys(kv)) await kv.delete(k.name);
  } else {
    const r2 = await mf(env).getR2Bucket(a.source);
    for (;;) {
      const page = await r2.list();
      if (!page.objects.length) break;
      await r2.delete(page.objects.map((o) => o.key));
    }
  }
}

export async function rebuildTarget(env: DrillEnvironment, a: DrillAsset): Promise<void> {
  if (a.kind === "neon") await runSql(env.pg.url(), [`CREATE DATABASE ${a.target}`]);
  // D1/KV/R2 targets are fresh, empty bindings of the workerd instance.
}

export async function restoreInto(env: DrillEnvironment, a: DrillAsset, store: BackupStorage, master: MasterKey, r: Resolved): Promise<RestoreReport> {
  const options = { mode: "fail" as const, validateOnly: false, registerUndo: onCleanup };
  if (a.kind === "neon") return restorePostgres(store, master, r, env.pg.url(a.target), options);
  if (a.kind === "d1") {
    const db = (await mf(env).getD1Database(a.target)) as unknown as D1Like;
    async function* lines() {
      for (const x of r.manifest.artifacts.filter((y) => y.role === "d1-rows")) yield* readLines(await openArtifact(store, master, x));
    }
    return restoreD1(lines(), bindingSink(db, a.target), options);
  }
  if (a.kind === "kv") return restoreKv(store, master, r, bindingKvSink((await mf(env).getKVNamespace(a.target)) as unknown as KvLike, a.target), options);
  return restoreR2(store, master, r, bindingR2Sink((await mf(env).getR2Bucket(a.target)) as unknown as R2Like, a.target), options);
}

export async function integrity(env: DrillEnvironment, a: DrillAsset): Promise<IntegrityResult[]> {
  if (a.kind === "neon") return postgresIntegrity(env.pg.url(a.target));
  if (a.kind === "d1") return d1Integrity((await mf(env).getD1Database(a.target)) as unknown as D1Like);
  return [];
}
