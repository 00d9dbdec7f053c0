/**
 * One KV backup task over one list page (or the rest of one): reads each key's value as a
 * stream, several reads in flight (kvReadAhead.ts), until the part's operation or byte budget
 * is spent; writes changed values (all of them in a full backup) and deletions into the entries
 * artifact, and records each key's hash for the index. In a differential backup the page's key range is merged with the base
 * backup's index lines: a key the base has and the listing lacks is a deletion.
 */
import { compareUtf8, type KvEntryRecord, type KvIndexLine } from "../../lib/backup/kvRecords";
import { ReadAhead, type ValueRead } from "./kvReadAhead";
import { streamValue, writeKept, type EntrySink, type ListedKey } from "./kvValue";

/** Values up to this size are held to compare with the base before writing. */
export const SMALL_VALUE_BYTES = 1024 * 1024;

export interface PageBudget {
  readonly opsPerStep: number;
  readonly bytesPerStep: number;
  /** Operations already spent in this step (the listing). */
  readonly opsSpent: number;
}

/** The listed key with the metadata read together with its value. */
function withMetadata(k: ListedKey, read: ValueRead): ListedKey {
  const { metadata: _listed, ...rest } = k;
  return read.metadata !== null && read.metadata !== undefined ? { ...rest, metadata: read.metadata } : rest;
}

export class KvPageWalk {
  readonly index: KvIndexLine[] = [];
  written = 0;
  deleted = 0;
  /** True when the budget ended the step before the page did. */
  stopped = false;
  /** Listed keys handled in this step (every key of the namespace, changed or not). */
  handled = 0;
  private ops: number;
  private bytes = 0;
  /** Next base line to merge. */
  private b = 0;

  constructor(
    private readonly kv: KVNamespace,
    private readonly budget: PageBudget,
    /** The base index's lines over this page's key range (differential), or null (full). */
    private readonly base: readonly KvIndexLine[] | null,
    /** Last key already handled by an earlier step of this page. */
    public lastDone: string | null,
  ) {
    this.ops = budget.opsSpent;
  }

  async run(keys: readonly ListedKey[], out: EntrySink): Promise<void> {
    const ahead = new ReadAhead((name) => this.read(name), keys.map((k) => k.name), () => this.ops + 1 <= this.budget.opsPerStep);
    try {
      for (const [i, k] of keys.entries()) {
        const read = this.bytes >= this.budget.bytesPerStep ? undefined : await ahead.take(i);
        if (read === undefined) {
          this.stopped = true;
          return;
        }
        await this.deletionsBefore(out, k.name);
        await this.key(withMetadata(k, read), read.value, out);
        this.lastDone = k.name;
        this.handled++;
      }
      await this.deletionsBefore(out, null);
    } finally {
      await ahead.cancelRest();
    }
  }

  private async key(k: ListedKey, stream: ReadableStream<Uint8Array> | null, out: EntrySink): Promise<void> {
    const before = this.base && this.base[this.b]?.[0] === k.name ? (this.base[this.b++] as KvIndexLine)[1] : undefined;
    if (stream === null) {
      // Expired or deleted since the listing: a deletion if the base had it.
      if (before !== undefined) await this.deletion(out, k.name);
      return;
    }
    if (!this.base) {
      const r = await streamValue(stream, k, out);
      this.record(k, r.hash, r.bytes);
      this.written++;
      return;
    }
    const r = await streamValue(stream, k, null, SMALL_VALUE_BYTES);
    this.record(k, r.hash, r.bytes);
    if (r.hash === before) return;
    if (r.kept) {
      await writeKept(out, k, r.kept);
      this.written++;
      return;
    }
    // Too large to have been held: read it again, this time into the artifact; the index
    // records what was written (the value may have changed between the reads).
    this.index.pop();
    const again = await this.read(k.name);
    if (again.value) {
      const w = await streamValue(again.value, withMetadata(k, again), out);
      this.index.push([k.name, w.hash]);
      this.written++;
    } else if (before !== undefined) await this.deletion(out, k.name);
  }

  /** The value and its metadata in one read: the listing's metadata may be older than the
   * value by the time a task reads it (tasks run minutes after their page was listed). */
  private read(name: string): Promise<ValueRead> {
    this.ops++;
    return this.kv.getWithMetadata(name, "stream");
  }

  private record(k: ListedKey, hash: string, bytes: number): void {
    this.index.push([k.name, hash]);
    this.bytes += bytes;
  }

  private async deletion(out: EntrySink, key: string): Promise<void> {
    await out.line({ k: key, deleted: true } satisfies KvEntryRecord);
    this.deleted++;
  }

  /** Base keys before `key` (all the rest when null) that the listing no longer has. */
  private async deletionsBefore(out: EntrySink, key: string | null): Promise<void> {
    const base = this.base;
    if (!base) return;
    while (this.b < base.length && (key === null || compareUtf8((base[this.b] as KvIndexLine)[0], key) < 0)) {
      const gone = (base[this.b] as KvIndexLine)[0];
      if (this.lastDone === null || compareUtf8(gone, this.lastDone) > 0) await this.deletion(out, gone);
      this.b++;
    }
  }
}
