/**
 * Reads a previous backup's index artifacts (sorted lines, split in parts) in key order from a
 * saved position: how differential KV and incremental R2 backups merge the live listing with
 * what the earlier backup holds, one page at a time, without loading the whole index.
 */
import { openArtifact, readLines } from "../../lib/backup/artifacts";
import { compareUtf8 } from "../../lib/backup/kvRecords";
import type { ArtifactEntry } from "../../lib/format/manifest";
import type { JobContext } from "../engine/job";

export interface IndexPosition {
  part: number;
  entry: number;
}

export const START: IndexPosition = { part: 0, entry: 0 };

/** Lines whose key is <= `last` (all remaining when `last` is null), the position after them,
 * and the position of each line (to resume in the middle). */
export async function linesUpTo<T>(
  ctx: JobContext,
  parts: readonly ArtifactEntry[],
  pos: IndexPosition,
  last: string | null,
  keyOf: (line: T) => string,
): Promise<{ lines: T[]; pos: IndexPosition; at: IndexPosition[] }> {
  const out: T[] = [];
  const at: IndexPosition[] = [];
  let { part, entry } = pos;
  while (part < parts.length) {
    const lines: T[] = [];
    for await (const l of readLines(await openArtifact(ctx.storage, ctx.master, parts[part] as ArtifactEntry))) lines.push(l as T);
    while (entry < lines.length) {
      const line = lines[entry] as T;
      if (last !== null && compareUtf8(keyOf(line), last) > 0) return { lines: out, pos: { part, entry }, at };
      out.push(line);
      at.push({ part, entry });
      entry++;
    }
    part++;
    entry = 0;
  }
  return { lines: out, pos: { part, entry }, at };
}
