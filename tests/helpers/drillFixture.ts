/**
 * A compact drill fixture for tests whose point is the drill's phases and failures, not its
 * data volume: the built-in sample cut down to a tenth of its D1 rows, KV keys and R2 objects,
 * keeping every kind of value it has (D1 schema with trigger, view, FTS table and migrations,
 * Unicode, blobs, 64-bit integers; KV text, binary, metadata, expiration; R2 metadata, an empty
 * object, a 1.5 MB one and a Unicode key; the whole Postgres sample, generated server-side).
 * Seeding, backing up and restoring it takes seconds where the full sample takes a minute.
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { sampleFixture, type Fixture } from "../../lib/drill/fixture";

/** The first `n` statements inserting into `table`. */
function firstInserts(sql: readonly string[], table: string, n: number): string[] {
  return sql.filter((s) => s.startsWith(`INSERT INTO ${table} `)).slice(0, n);
}

export function compactDrillFixture(): Fixture {
  const sample = sampleFixture();
  const d1 = sample.d1?.["app-db"] ?? [];
  const kv = sample.kv?.sessions ?? [];
  const r2 = sample.r2?.["user-uploads"] ?? [];
  return {
    d1: {
      "app-db": [
        // The schema and the migrations table: every statement that is not a bulk row.
        ...d1.filter((s) => !/^INSERT INTO (users|orders|product_search) /.test(s)),
        // Orders reference users 1..40 only (user_id = j % 400 + 1).
        ...firstInserts(d1, "users", 40),
        ...firstInserts(d1, "orders", 40),
        ...firstInserts(d1, "product_search", 6),
      ],
    },
    kv: { sessions: kv.slice(0, 30) },
    r2: { "user-uploads": [...r2.slice(0, 3), ...r2.filter((o) => !o.key.startsWith("avatars/"))] },
    postgres: sample.postgres ?? [],
  };
}

/** Writes the compact fixture as `drill --fixture` reads it; returns the file. */
export function writeCompactDrillFixture(dir: string): string {
  const file = path.join(dir, "compact-fixture.json");
  writeFileSync(file, JSON.stringify(compactDrillFixture()));
  return file;
}
