/**
 * KV reads issued ahead of the key being written, so one task waits on up to `width` reads at
 * once instead of one: a KV read costs a network round trip on Cloudflare, and a task's time is
 * mostly those. Values are consumed strictly in key order (the artifact stays sorted); an
 * unconsumed stream is backpressured, so memory stays at what the runtime buffers per stream.
 * Workers allow six connections waiting for response headers per invocation, hence the width.
 */
import { READS_IN_FLIGHT } from "../../lib/backup/fanout";

/** A value (null: gone since the listing) with the metadata read with it. */
export interface ValueRead {
  readonly value: ReadableStream<Uint8Array> | null;
  readonly metadata: unknown;
}

type Read = Promise<ValueRead>;

export class ReadAhead {
  private readonly issued = new Map<string, Read>();
  private nextToIssue = 0;

  constructor(
    private readonly read: (name: string) => Read,
    private readonly names: readonly string[],
    /** Whether one more read fits the step's operation budget (it is charged when issued). */
    private readonly mayIssue: () => boolean,
    private readonly width = READS_IN_FLIGHT,
  ) {}

  /** The value of `names[i]`, or undefined when the budget ends before it could be read.
   * Reads ahead up to the width. */
  async take(i: number): Promise<ValueRead | undefined> {
    const name = this.names[i] as string;
    let pending = this.issued.get(name);
    if (!pending) {
      if (this.nextToIssue > i || !this.mayIssue()) return undefined;
      this.nextToIssue = i;
      pending = this.issue(i);
    }
    this.issued.delete(name);
    this.fill(i + 1);
    return pending;
  }

  private issue(i: number): Read {
    const name = this.names[i] as string;
    const r = this.read(name);
    r.catch(() => undefined); // surfaced when taken; never an unhandled rejection meanwhile
    this.issued.set(name, r);
    this.nextToIssue = i + 1;
    return r;
  }

  private fill(from: number): void {
    this.nextToIssue = Math.max(this.nextToIssue, from);
    while (this.issued.size < this.width - 1 && this.nextToIssue < this.names.length && this.mayIssue()) this.issue(this.nextToIssue);
  }

  /** Releases reads issued for keys the step will not reach. */
  async cancelRest(): Promise<void> {
    const rest = [...this.issued.values()];
    this.issued.clear();
    for (const r of rest) await r.then((s) => s.value?.cancel(), () => undefined);
  }
}
