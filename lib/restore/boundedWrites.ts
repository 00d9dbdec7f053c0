/**
 * Writes kept in flight side by side, bounded by count and bytes: a KV namespace through its
 * binding answers one put per round trip (about 20 ms to the `wrangler dev` state), so 16 at
 * a time restore a namespace many times faster, while memory stays bounded (values reach
 * 25 MiB). The first failure is raised by the next `add` or by `drain`; writes never reject
 * unobserved.
 */
export class BoundedWrites {
  private readonly pending = new Set<Promise<void>>();
  private bytes = 0;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly maxWrites: number,
    private readonly maxBytes: number,
  ) {}

  /** Starts `write` once there is room; throws the first failure of any earlier write. */
  async add(size: number, write: () => Promise<void>): Promise<void> {
    while (this.pending.size && (this.pending.size >= this.maxWrites || this.bytes + size > this.maxBytes)) await Promise.race(this.pending);
    this.raise();
    this.bytes += size;
    const tracked: Promise<void> = write().then(
      () => this.settle(tracked, size),
      (error: unknown) => {
        this.failure ??= { error };
        this.settle(tracked, size);
      },
    );
    this.pending.add(tracked);
  }

  /** Waits for every write; throws the first failure. */
  async drain(): Promise<void> {
    await Promise.all(this.pending);
    this.raise();
  }

  private settle(p: Promise<void>, size: number): void {
    this.pending.delete(p);
    this.bytes -= size;
  }

  private raise(): void {
    if (this.failure) throw this.failure.error;
  }
}
