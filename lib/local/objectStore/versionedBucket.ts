/**
 * LOCAL WORLD. The data of one versioned S3 bucket: every version of every key (bodies on disk),
 * delete markers, per-version Object Lock retention and legal hold, tags and metadata, and
 * multipart uploads in progress. It holds no rules; the AWS flavour (awsS3.ts) decides what a
 * caller may do to it. Keys sort in UTF-8 byte order, as S3 lists them.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";

export type LockMode = "COMPLIANCE" | "GOVERNANCE";

export interface Retention {
  readonly mode: LockMode;
  readonly retainUntil: Date;
}

export interface StoredChecksum {
  readonly algorithm: string;
  readonly value: string;
  readonly type: "FULL_OBJECT" | "COMPOSITE";
}

export interface ObjectVersion {
  readonly key: string;
  readonly versionId: string;
  readonly deleteMarker: boolean;
  readonly size: number;
  /** Quoted, as S3 returns it. */
  readonly etag: string;
  readonly lastModified: Date;
  /** Body file; absent for delete markers. */
  readonly file?: string;
  /** content-type, cache-control, content-disposition, content-encoding, content-language, expires. */
  readonly contentHeaders: Readonly<Record<string, string>>;
  /** User metadata: names without the x-amz-meta- prefix, lower case; values as sent. */
  readonly userMetadata: Readonly<Record<string, string>>;
  tags: Record<string, string>;
  retention?: Retention;
  legalHold: boolean;
  readonly checksum?: StoredChecksum;
}

export interface UploadPart {
  readonly number: number;
  readonly file: string;
  readonly size: number;
  readonly etag: string;
  readonly md5Hex: string;
  readonly checksum?: string;
}

export interface MultipartUpload {
  readonly uploadId: string;
  readonly key: string;
  readonly initiated: Date;
  readonly contentHeaders: Readonly<Record<string, string>>;
  readonly userMetadata: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
  readonly retention?: Retention;
  readonly checksumAlgorithm?: string;
  readonly parts: Map<number, UploadPart>;
}

export function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

export class VersionedBucket {
  private readonly versions = new Map<string, ObjectVersion[]>();
  readonly uploads = new Map<string, MultipartUpload>();
  private readonly bodies: string;

  constructor(readonly name: string, dir: string) {
    this.bodies = path.join(dir, name);
    mkdirSync(this.bodies, { recursive: true });
  }

  newVersionId(): string {
    return randomBytes(16).toString("base64url");
  }

  /** Writes a body to disk and returns its file (named by a fresh id). */
  storeBody(body: Uint8Array): string {
    const file = path.join(this.bodies, randomBytes(12).toString("hex"));
    writeFileSync(file, body);
    return file;
  }

  dropFile(file: string): void {
    rmSync(file, { force: true });
  }

  /** The newest version of a key (possibly a delete marker). */
  latest(key: string): ObjectVersion | undefined {
    const all = this.versions.get(key);
    return all?.[all.length - 1];
  }

  /** What a plain GET sees: the newest version, unless it is a delete marker. */
  current(key: string): ObjectVersion | undefined {
    const v = this.latest(key);
    return v && !v.deleteMarker ? v : undefined;
  }

  version(key: string, versionId: string): ObjectVersion | undefined {
    return this.versions.get(key)?.find((v) => v.versionId === versionId);
  }

  add(v: ObjectVersion): void {
    this.versions.set(v.key, [...(this.versions.get(v.key) ?? []), v]);
  }

  remove(key: string, versionId: string): void {
    const rest = (this.versions.get(key) ?? []).filter((v) => v.versionId !== versionId);
    if (rest.length) this.versions.set(key, rest);
    else this.versions.delete(key);
  }

  /** Keys whose newest version is an object (not a delete marker), in UTF-8 byte order. */
  currentKeys(): string[] {
    return [...this.versions.keys()].filter((k) => this.current(k)).sort(utf8Compare);
  }

  /** Every version and delete marker, by key (UTF-8 order), newest first within a key. */
  allVersions(): ObjectVersion[] {
    return [...this.versions.keys()].sort(utf8Compare).flatMap((k) => [...(this.versions.get(k) ?? [])].reverse());
  }
}
