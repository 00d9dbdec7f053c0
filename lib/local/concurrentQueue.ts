/**
 * LOCAL WORLD. A stand-in for a Cloudflare Queue whose consumer runs several invocations at
 * once (max_concurrency): Miniflare's own queue delivers one batch at a time, so a backup's
 * parallel tasks would never overlap locally. The Worker's BACKUP_QUEUE is replaced (in the
 * entry shim) by a producer that posts here; this side delivers each message as its own batch
 * (batch size 1, as the BackupWorker component configures it) through the Worker's real queue
 * handler, up to `concurrency` at a time, honouring delays, explicit acks and retries.
 * As strict as Queues or stricter (https://developers.cloudflare.com/queues/platform/limits/):
 * a message over 128 KB, a batch over 100 messages or 256 KB, or a delay over 12 hours is
 * refused at send; deliveries come in no fixed order (ready messages are taken at random).
 */

export const QUEUE_LIMITS = { messageBytes: 128 * 1024, batchMessages: 100, batchBytes: 256 * 1024, maxDelaySeconds: 12 * 3600 } as const;

interface Pending {
  readonly id: string;
  readonly body: unknown;
  readonly timestamp: Date;
  attempts: number;
}

export interface QueueDelivery {
  readonly id: string;
  readonly timestamp: Date;
  readonly body: unknown;
  readonly attempts: number;
}

/** What workerd's Fetcher.queue() returns for a delivered batch. */
export interface QueueResult {
  readonly outcome: string;
  readonly ackAll?: boolean;
  readonly retryBatch?: { retry: boolean; delaySeconds?: number };
  readonly explicitAcks?: readonly string[];
  readonly retryMessages?: ReadonlyArray<{ msgId: string; delaySeconds?: number }>;
}

export interface SentMessage {
  readonly body: unknown;
  readonly delaySeconds?: number;
}

export class QueueLimitError extends Error {
  override readonly name = "QueueLimitError";
}

export class ConcurrentQueue {
  private readonly ready: Pending[] = [];
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private running = 0;
  private seq = 0;
  private idleWaiters: Array<() => void> = [];
  /** The most deliveries that ran at once. */
  maxRunning = 0;
  delivered = 0;
  /** Every delivered message body, in delivery order (retries included). */
  readonly log: unknown[] = [];
  /** Messages dropped after their last attempt failed. */
  readonly dropped: unknown[] = [];
  dispatch?: (d: QueueDelivery) => Promise<QueueResult>;

  constructor(
    readonly concurrency: number,
    /** Deliveries after the first (Queues' max_retries). */
    readonly maxRetries: number,
  ) {}

  /** The service binding the entry shim's producer posts to: {messages: SentMessage[]}. */
  readonly handler = async (request: Request): Promise<Response> => {
    const { messages } = (await request.json()) as { messages: SentMessage[] };
    try {
      this.send(messages);
    } catch (err) {
      return new Response((err as Error).message, { status: 413 });
    }
    return new Response(null, { status: 204 });
  };

  send(messages: readonly SentMessage[]): void {
    if (messages.length > QUEUE_LIMITS.batchMessages) throw new QueueLimitError(`sendBatch of ${messages.length} messages (at most ${QUEUE_LIMITS.batchMessages})`);
    let total = 0;
    for (const m of messages) {
      const bytes = Buffer.byteLength(JSON.stringify(m.body));
      total += bytes;
      if (bytes > QUEUE_LIMITS.messageBytes) throw new QueueLimitError(`message of ${bytes} bytes (at most ${QUEUE_LIMITS.messageBytes})`);
      if ((m.delaySeconds ?? 0) > QUEUE_LIMITS.maxDelaySeconds) throw new QueueLimitError(`delay of ${m.delaySeconds} s (at most ${QUEUE_LIMITS.maxDelaySeconds})`);
    }
    if (total > QUEUE_LIMITS.batchBytes) throw new QueueLimitError(`batch of ${total} bytes (at most ${QUEUE_LIMITS.batchBytes})`);
    for (const m of messages) this.later({ id: `m${++this.seq}`, body: m.body, timestamp: new Date(), attempts: 0 }, m.delaySeconds ?? 0);
  }

  private later(p: Pending, delaySeconds: number): void {
    if (delaySeconds <= 0) {
      this.ready.push(p);
      this.pump();
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.ready.push(p);
      this.pump();
    }, delaySeconds * 1000);
    this.timers.add(t);
  }

  private pump(): void {
    while (this.running < this.concurrency && this.ready.length && this.dispatch) {
      const [p] = this.ready.splice(Math.floor(Math.random() * this.ready.length), 1) as [Pending];
      this.running++;
      this.maxRunning = Math.max(this.maxRunning, this.running);
      void this.deliver(p).finally(() => {
        this.running--;
        this.pump();
        if (this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  private async deliver(p: Pending): Promise<void> {
    p.attempts++;
    this.delivered++;
    this.log.push(p.body);
    let r: QueueResult;
    try {
      r = await (this.dispatch as NonNullable<typeof this.dispatch>)({ id: p.id, timestamp: p.timestamp, body: p.body, attempts: p.attempts });
    } catch {
      r = { outcome: "exception" };
    }
    const retry = r.retryMessages?.find((m) => m.msgId === p.id);
    const failed = r.outcome !== "ok" || r.retryBatch?.retry || retry;
    if (!failed) return;
    if (p.attempts > this.maxRetries) {
      this.dropped.push(p.body);
      return;
    }
    this.later(p, retry?.delaySeconds ?? r.retryBatch?.delaySeconds ?? 0);
  }

  private isIdle(): boolean {
    return this.running === 0 && this.ready.length === 0 && this.timers.size === 0;
  }

  /** Resolves once nothing is queued, delayed or running. */
  idle(): Promise<void> {
    return this.isIdle() ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r));
  }

  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.ready.length = 0;
  }
}
