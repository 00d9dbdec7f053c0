/**
 * BackupStorage over a local directory (Node only: the CLI, the drill's `--keep` output).
 * Object keys map to paths; a put writes to a temporary file and renames it into place, so a
 * crash leaves no object, only a `.partial-*` file that listings ignore. Tags and lock dates
 * are kept in a sidecar `.meta.json` for inspection; nothing enforces them.
 */
import { createReadStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { Readable } from "node:stream";
import { randomBytes } from "node:crypto";
import { streamToFile } from "./streamToFile";
import { bodyBytes, StorageError, type BackupStorage, type Body, type ByteRange, type ObjectInfo, type PutOptions } from "./types";

const PARTIAL = ".partial-";
const META = ".meta.json";

export class DirStorage implements BackupStorage {
  readonly label: string;
  constructor(readonly root: string) {
    this.label = `dir:${root}`;
  }

  private pathOf(key: string): string {
    const p = path.resolve(this.root, key);
    if (!p.startsWith(path.resolve(this.root) + path.sep)) throw new StorageError(`${this.label}: key escapes the directory: ${key}`);
    return p;
  }

  async put(key: string, body: Body, options: PutOptions = {}): Promise<ObjectInfo> {
    const target = this.pathOf(key);
    await mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}${PARTIAL}${randomBytes(4).toString("hex")}`;
    try {
      if (body instanceof ReadableStream) {
        await streamToFile(body as ReadableStream<Uint8Array>, temp);
      } else {
        await writeFile(temp, bodyBytes(body));
      }
      if (options.tags || options.retainUntil || options.httpMetadata || options.customMetadata) {
        await writeFile(
          `${target}${META}`,
          JSON.stringify({ tags: options.tags, retainUntil: options.retainUntil?.toISOString(), lockMode: options.lockMode, httpMetadata: options.httpMetadata, customMetadata: options.customMetadata }),
        );
      }
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    const s = await stat(target);
    return { key, size: s.size, uploaded: s.mtime };
  }

  async get(key: string, range?: ByteRange): Promise<ReadableStream<Uint8Array> | null> {
    const p = this.pathOf(key);
    try {
      await stat(p);
    } catch {
      return null;
    }
    // 1 MiB reads: a sixteenth of the chunks (and their per-chunk stream overhead) of the 64 KiB default.
    const opts = { highWaterMark: 1 << 20, ...(range ? { start: range.offset, ...(range.length !== undefined ? { end: range.offset + range.length - 1 } : {}) } : {}) };
    return Readable.toWeb(createReadStream(p, opts)) as unknown as ReadableStream<Uint8Array>;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const s = await stat(this.pathOf(key));
      return s.isFile() ? { key, size: s.size, uploaded: s.mtime } : null;
    } catch {
      return null;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const keys: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (!e.name.includes(PARTIAL) && !e.name.endsWith(META)) {
          const key = path.relative(this.root, full).split(path.sep).join("/");
          if (key.startsWith(prefix)) keys.push(key);
        }
      }
    };
    await walk(this.root);
    for (const key of keys.sort()) {
      const info = await this.head(key);
      if (info) yield info;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
    await rm(`${this.pathOf(key)}${META}`, { force: true });
  }
}
