/**
 * Resuming inside an artifact: readLinesAt gives each NDJSON line's plaintext byte offsets,
 * and openArtifactRange at a line's start reads on from there, authenticated chunk by chunk
 * with several chunks per ranged GET, so a restore part that stopped mid-dump continues without
 * reading the bytes before it again (D1 restore tests in the Worker).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { openArtifactRange } from "../../lib/backup/artifactRange";
import { openArtifact, readLinesAt, writeArtifact } from "../../lib/backup/artifacts";
import { textEncoder } from "../../lib/format/bytes";
import { importMasterKey } from "../../lib/format/keys";
import { DirStorage } from "../../lib/storage/dirStorage";
import type { BackupStorage, ByteRange } from "../../lib/storage/types";

const rows = Array.from({ length: 3000 }, (_, i) => ({ r: [{ i: String(i) }, `ünïcödé 名前 ${"x".repeat(i % 97)}`, i % 5 === 0 ? null : { f: String(i / 7) }] }));

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("resuming inside an artifact", () => {
  it("every line read from its own start offset on is the rest of the artifact, with few ranged GETs", async () => {
    const dir = new DirStorage(mkdtempSync(path.join(tmpdir(), "drposture-resume-")));
    const master = await importMasterKey("11".repeat(32));
    const entry = await writeArtifact(dir, master, { key: "daily/d1/x/1/rows.drpenc", name: "rows", role: "d1-rows" }, async (out) => {
      for (const r of rows) await out.write(textEncoder.encode(`${JSON.stringify(r)}\n`));
    }, 4096);
    expect(entry.chunks).toBeGreaterThan(40);
    const all = await collect(readLinesAt(await openArtifact(dir, master, entry)));
    expect(all.map((l) => l.value)).toEqual(rows);
    expect(all.at(-1)!.end).toBe(entry.plaintextBytes);
    for (const at of [1, 17, 1500, 2999]) {
      let gets = 0;
      const counting: BackupStorage = { ...dir, label: dir.label, get: (k: string, r?: ByteRange) => (gets++, dir.get(k, r)), put: dir.put.bind(dir), head: dir.head.bind(dir), list: dir.list.bind(dir), delete: dir.delete.bind(dir) };
      const start = all[at]!.start;
      const rest = await collect(readLinesAt(openArtifactRange(counting, master, entry, start, entry.plaintextBytes - start), start));
      expect(rest.map((l) => l.value)).toEqual(rows.slice(at));
      expect(rest.map((l) => l.start)).toEqual(all.slice(at).map((l) => l.start));
      // The header, then one GET per 16 chunks (4 KiB chunks here).
      expect(gets).toBeLessThanOrEqual(1 + Math.ceil((entry.plaintextBytes - start) / 4096 / 16) + 1);
    }
  });
});
