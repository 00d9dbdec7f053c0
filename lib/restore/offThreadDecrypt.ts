/**
 * Decrypts an artifact to a file in a worker thread, so that authenticating and hashing it
 * (AES-256-GCM per chunk and two SHA-256s: ~3 s of CPU per GiB on the development machine)
 * runs on another core while this thread keeps downloading. On one thread the two took turns:
 * a restore from S3 cost the download plus the decryption, one after the other.
 *
 * The worker runs the same decryptArtifact transform as every other reader: each chunk is
 * authenticated before it is written, and sizes and hashes are checked against the manifest
 * entry at the end, before this function returns. Its errors come back by name, message and
 * reason (an ArtifactIntegrityError stays one). Bytes posted but not yet taken by the worker
 * are bounded (MAX_IN_FLIGHT): a fast store does not fill memory.
 */
import * as path from "node:path";
import { parentPort, Worker, workerData } from "node:worker_threads";
import { ArtifactIntegrityError, decryptArtifact, type ExpectedArtifact } from "../format/artifactCipher";
import type { MasterKey } from "../format/keys";
import { onCleanup } from "../process/cleanup";
import { streamToFile } from "../storage/streamToFile";

/** Network pieces (16-64 KiB) are gathered into batches handed over without a copy. */
const BATCH_BYTES = 1 << 20;
/** Ciphertext posted to the worker and not yet taken by its decryption: the memory bound. */
const MAX_IN_FLIGHT = 16 << 20;
/** The worker reports what it has taken every few batches: a message per batch cost as much
 * CPU as a fifth of the decryption. */
const REPORT_EVERY = 4 * BATCH_BYTES;

export interface DecryptJob {
  /** CryptoKeys clone into a worker thread; the key material never leaves the key objects. */
  readonly master: MasterKey;
  readonly expected: ExpectedArtifact;
  /** Names the artifact in error messages. */
  readonly label: string;
  readonly file: string;
  readonly mode: number;
}

type ToWorker = { readonly batch: Uint8Array } | { readonly end: true };
type FromWorker =
  | { readonly taken: number; readonly written: number }
  | { readonly done: number }
  | { readonly error: { readonly name: string; readonly message: string; readonly reason?: ArtifactIntegrityError["reason"] } };

/** The worker loads this file through the repository's TypeScript hook, as the CLI does. */
const BOOT = `require(${JSON.stringify(path.resolve(__dirname, "..", "..", "cli", "register.cjs"))}); require(${JSON.stringify(__filename)}).runDecryptWorker();`;

function rebuilt(e: { name: string; message: string; reason?: ArtifactIntegrityError["reason"] }): Error {
  if (e.name === "ArtifactIntegrityError") return new ArtifactIntegrityError(e.message, e.reason ?? "tampered");
  return Object.assign(new Error(e.message), { name: e.name });
}

/**
 * Streams `body` (the artifact's ciphertext) into a worker that decrypts it to `job.file`.
 * Resolves with the plaintext size once every chunk and the manifest's hashes have checked out.
 * `onBytes` (plaintext bytes written so far) runs on this thread and may throw to stop.
 */
export async function decryptToFileOffThread(body: ReadableStream<Uint8Array>, job: DecryptJob, onBytes?: (n: number) => void): Promise<number> {
  const worker = new Worker(BOOT, { eval: true, workerData: job });
  // Stopped before the decrypted file's directory is removed (newest sensitive undo runs first).
  const unregister = onCleanup("stop the decrypting worker thread", () => worker.terminate(), "sensitive");
  let taken = 0;
  let written = 0;
  let wake: (() => void) | null = null;
  const outcome = new Promise<number>((resolve, reject) => {
    worker.on("message", (m: FromWorker) => {
      if ("taken" in m) {
        taken = m.taken;
        written = m.written;
        wake?.();
      } else if ("done" in m) resolve(m.done);
      else reject(rebuilt(m.error));
    });
    worker.on("error", reject);
    worker.on("exit", (code) => reject(new Error(`the decrypting worker thread stopped (exit ${code}) before it finished`)));
  });
  // A failure in the worker (a chunk that does not authenticate) stops the download at once.
  let failure: unknown = null;
  outcome.catch((err: unknown) => (failure = err));
  let posted = 0;
  const post = async (batch: Uint8Array) => {
    if (failure) throw failure;
    while (posted - taken > MAX_IN_FLIGHT) await Promise.race([new Promise<void>((r) => (wake = r)), outcome]);
    posted += batch.byteLength;
    worker.postMessage({ batch } satisfies ToWorker, [batch.buffer as ArrayBuffer]);
    onBytes?.(written);
  };
  try {
    // allocUnsafeSlow: an ArrayBuffer of its own (transferable), not zero-filled first.
    let batch: Uint8Array = Buffer.allocUnsafeSlow(BATCH_BYTES);
    let fill = 0;
    for await (const piece of body as unknown as AsyncIterable<Uint8Array>) {
      for (let at = 0; at < piece.byteLength; ) {
        const n = Math.min(BATCH_BYTES - fill, piece.byteLength - at);
        batch.set(piece.subarray(at, at + n), fill);
        fill += n;
        at += n;
        if (fill === BATCH_BYTES) {
          await post(batch);
          batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
          fill = 0;
        }
      }
    }
    if (fill > 0) await post(batch.subarray(0, fill));
    worker.postMessage({ end: true } satisfies ToWorker);
    const size = await outcome;
    onBytes?.(size);
    return size;
  } finally {
    unregister();
    await worker.terminate();
  }
}

/** The worker's side: batches in, the decryptArtifact transform, the file out. */
export function runDecryptWorker(): void {
  const job = workerData as DecryptJob;
  const port = parentPort;
  if (!port) throw new Error("runDecryptWorker runs in a worker thread");
  const queued: Uint8Array[] = [];
  let ended = false;
  let notify: (() => void) | null = null;
  let taken = 0;
  let reported = 0;
  let written = 0;
  port.on("message", (m: ToWorker) => {
    if ("end" in m) ended = true;
    else queued.push(m.batch);
    notify?.();
    notify = null;
  });
  const incoming = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        while (!queued.length && !ended) await new Promise<void>((r) => (notify = r));
        const next = queued.shift();
        if (!next) return controller.close();
        taken += next.byteLength;
        if (taken - reported >= REPORT_EVERY) {
          reported = taken;
          port.postMessage({ taken, written } satisfies FromWorker);
        }
        controller.enqueue(next);
      },
    },
    { highWaterMark: 0 },
  );
  const { stream } = decryptArtifact(job.master, job.expected, job.label);
  streamToFile(incoming.pipeThrough(stream), job.file, { mode: job.mode, onBytes: (n) => (written = n) }).then(
    (size) => port.postMessage({ done: size } satisfies FromWorker),
    (err: unknown) => {
      const e = err as { name?: string; message?: string; reason?: ArtifactIntegrityError["reason"] };
      port.postMessage({ error: { name: e.name ?? "Error", message: e.message ?? String(err), ...(e.reason ? { reason: e.reason } : {}) } } satisfies FromWorker);
    },
  );
}
