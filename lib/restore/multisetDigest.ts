/**
 * A digest of a set of items that can be built in any order and across invocations: the sum,
 * modulo 2^256, of each item's SHA-256 (an additive multiset hash). A restore test adds every
 * item it writes (from the backup's stream) to one digest and every item it reads back from
 * the target to another, part by part; equal digests and counts mean the target holds exactly
 * what the backup holds. Its state is a hex string, so it survives between queue steps.
 * The items come from authenticated artifacts on one side and our own scratch target on the
 * other, so the sum need only catch accidents and bugs, not an adversary choosing items.
 */
import { createHash } from "node:crypto";

const MOD = 1n << 256n;

export interface DigestState {
  readonly count: number;
  /** 64 hex digits. */
  readonly sum: string;
}

export const EMPTY_DIGEST: DigestState = { count: 0, sum: "0".repeat(64) };

export class MultisetDigest {
  private sum: bigint;
  private n: number;

  constructor(from: DigestState = EMPTY_DIGEST) {
    this.sum = BigInt(`0x${from.sum}`);
    this.n = from.count;
  }

  /** Adds one item, given as the canonical text both sides render it to. */
  add(item: string): void {
    this.sum = (this.sum + BigInt(`0x${createHash("sha256").update(item).digest("hex")}`)) % MOD;
    this.n++;
  }

  get state(): DigestState {
    return { count: this.n, sum: this.sum.toString(16).padStart(64, "0") };
  }
}

export const sameDigest = (a: DigestState, b: DigestState) => a.count === b.count && a.sum === b.sum;
