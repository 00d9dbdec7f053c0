/**
 * A restore's output file (a SQL script for `wrangler d1 execute`, a JSON file for `wrangler kv
 * bulk put`): written under a temporary name beside it and renamed into place only when complete,
 * so a failed or interrupted restore never leaves a file that reads as a finished one. The
 * temporary file holds decrypted data: mode 0600, and removed first on an interrupt.
 */
import { createWriteStream, existsSync, renameSync, rmSync, statSync, type WriteStream } from "node:fs";
import * as path from "node:path";
import { cleanupPath } from "../process/cleanup";

/** The directory `file` would go in, when it is missing (the caller says so before writing). */
export function missingDirectory(file: string): string | undefined {
  const dir = path.dirname(path.resolve(file));
  return existsSync(dir) && statSync(dir).isDirectory() ? undefined : dir;
}

export class AtomicFile {
  private readonly temp: string;
  private out: WriteStream | null = null;
  private forget: (() => void) | null = null;
  private done = false;

  constructor(readonly file: string) {
    this.temp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.partial`);
  }

  /** Opened on the first write, so a restore refused before writing leaves nothing behind. */
  write(text: string): Promise<void> {
    if (!this.out) {
      this.forget = cleanupPath(this.temp, "sensitive");
      this.out = createWriteStream(this.temp, { mode: 0o600 });
    }
    const out = this.out;
    return new Promise<void>((resolve, reject) => out.write(text, (err) => (err ? reject(err) : resolve())));
  }

  /** Puts the complete file in place (nothing if nothing was written). */
  async commit(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.ended();
    if (this.out) renameSync(this.temp, this.file);
    this.forget?.();
  }

  /** Drops what was written. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.ended().catch(() => undefined);
    rmSync(this.temp, { force: true });
    this.forget?.();
  }

  private ended(): Promise<void> {
    const out = this.out;
    return new Promise<void>((resolve, reject) => (out ? out.end((err?: Error | null) => (err ? reject(err) : resolve())) : resolve()));
  }
}
