/**
 * BackupStorage over a local directory (Node only: the CLI, the drill's `--keep` output, an R2
 * restore into a directory). Any key maps to its own path (dirKeys.ts: backup keys unchanged,
 * anything else escaped). A put writes to a temporary file and renames it into place, so a
 * crash leaves no object, only a `%partial-*` file that listings ignore. Tags, lock dates, HTTP
 * and custom metadata (and the key of a hashed path) are kept in a sidecar `<name>%meta.json`;
 * nothing enforces tags or locks.
 */
import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { Readable } from "node:stream";
import { randomBytes } from "node:crypto";
import { decodeComponent, encodeDirSegment, encodeKey, isHashedPath, PARTIAL_INFIX, SIDECAR_SUFFIX } from "./dirKeys";
import { streamToFile } from "./streamToFile";
import { bodyBytes, StorageError, type BackupStorage, type Body, type ByteRange, type ObjectInfo, type PutOptions } from "./types";

interface Sidecar {
  key?: string;
  tags?: Record<string, string>;
  retainUntil?: string;
  lockMode?: string;
  httpMetadata?: Record<string, string>;
  customMetadata?: Record<string, string>;
}

const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

export class DirStorage implements BackupStorage {
  readonly label: string;
  constructor(readonly root: string) {
    this.label = `dir:${root}`;
  }

  private pathOf(key: string): string {
    return path.join(path.resolve(this.root), ...encodeKey(key));
  }

  private async sidecar(file: string): Promise<Sidecar | null> {
    try {
      return JSON.parse(await readFile(`${file}${SIDECAR_SUFFIX}`, "utf8")) as Sidecar;
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return null;
      throw new StorageError(`${this.label}: unreadable sidecar ${file}${SIDECAR_SUFFIX}: ${(err as Error).message}`);
    }
  }

  async put(key: string, body: Body, options: PutOptions = {}): Promise<ObjectInfo> {
    const components = encodeKey(key);
    const target = path.join(path.resolve(this.root), ...components);
    await mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}${PARTIAL_INFIX}${randomBytes(4).toString("hex")}`;
    const meta: Sidecar = {
      ...(isHashedPath(components) ? { key } : {}),
      ...(options.tags ? { tags: { ...options.tags } } : {}),
      ...(options.retainUntil ? { retainUntil: options.retainUntil.toISOString() } : {}),
      ...(options.lockMode ? { lockMode: options.lockMode } : {}),
      ...(options.httpMetadata ? { httpMetadata: { ...options.httpMetadata } } : {}),
      ...(options.customMetadata ? { customMetadata: { ...options.customMetadata } } : {}),
    };
    try {
      if (body instanceof ReadableStream) await streamToFile(body as ReadableStream<Uint8Array>, temp);
      else await writeFile(temp, bodyBytes(body));
      // An overwrite without metadata must not keep the previous object's.
      if (Object.keys(meta).length) await writeFile(`${target}${SIDECAR_SUFFIX}`, JSON.stringify(meta));
      else await rm(`${target}${SIDECAR_SUFFIX}`, { force: true });
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
      if (!(await stat(p)).isFile()) return null;
    } catch {
      return null;
    }
    // 1 MiB reads: a sixteenth of the chunks (and their per-chunk stream overhead) of the 64 KiB default.
    const opts = { highWaterMark: 1 << 20, ...(range ? { start: range.offset, ...(range.length !== undefined ? { end: range.offset + range.length - 1 } : {}) } : {}) };
    return Readable.toWeb(createReadStream(p, opts)) as unknown as ReadableStream<Uint8Array>;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const p = this.pathOf(key);
    let s;
    try {
      s = await stat(p);
    } catch {
      return null;
    }
    if (!s.isFile()) return null;
    const meta = await this.sidecar(p);
    return { key, size: s.size, uploaded: s.mtime, ...(meta?.httpMetadata ? { httpMetadata: meta.httpMetadata } : {}), ...(meta?.customMetadata ? { customMetadata: meta.customMetadata } : {}) };
  }

  /** Keys under `prefix`, walking only the directory its complete segments name. */
  private async keysUnder(prefix: string): Promise<string[]> {
    const dirs = prefix.split("/").slice(0, -1);
    const keys: string[] = [];
    const walk = async (dir: string, segments: string[], hashed: boolean): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const full = path.join(dir, e.name);
        const segment = decodeComponent(e.name, e.isDirectory() ? "dir" : "file");
        if (segment === null) continue; // sidecars, uploads in progress, files not in this layout
        if (e.isDirectory()) await walk(full, [...segments, segment === "hashed" ? "" : segment], hashed || segment === "hashed");
        else if (e.isFile()) {
          const key = hashed || segment === "hashed" ? (await this.sidecar(full))?.key : [...segments, segment].join("/");
          if (key === undefined) throw new StorageError(`${this.label}: ${full} has a hashed name but its sidecar does not say its key`);
          if (key.startsWith(prefix)) keys.push(key);
        }
      }
    };
    await walk(path.join(path.resolve(this.root), ...dirs.map(encodeDirSegment)), dirs, dirs.some((d) => encodeDirSegment(d).startsWith("%h")));
    return keys.sort(byUtf8);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for (const key of await this.keysUnder(prefix)) {
      const info = await this.head(key);
      if (info) yield info;
    }
  }

  async delete(key: string): Promise<void> {
    const p = this.pathOf(key);
    await rm(p, { force: true });
    await rm(`${p}${SIDECAR_SUFFIX}`, { force: true });
  }
}
