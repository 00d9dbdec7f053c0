/**
 * The arithmetic of backup health baselines (lib/backup/health.ts), on manifests built the way
 * the runner builds them: the history carried forward per mode, the median, the 60 s floor,
 * the minimum of 3 samples, and the shrink percentages with both numbers in the message.
 * The Worker-level behaviour (alerts once, per-asset thresholds, tampering) is in
 * tests/worker/backup-health.test.ts.
 */
import { describe, expect, it } from "vitest";
import { assessHealth, BASELINE_BACKUPS, healthFor, median, trendOf } from "../../lib/backup/health";
import type { Manifest } from "../../lib/format/manifest";

type Mode = Manifest["mode"];
let seq = 0;

/** A KV manifest as committed: `seconds` long, `listed` keys, `bytes` in its entries (full only). */
function next(previous: Manifest | null, o: { mode?: Mode; seconds: number; listed?: number; bytes?: number }): Manifest {
  const start = Date.UTC(2026, 10, 20) + ++seq * 3_600_000;
  const mode = o.mode ?? "full";
  const unsigned: Omit<Manifest, "mac" | "health"> = {
    format: "drposture-manifest/1",
    backupId: `b${String(seq).padStart(4, "0")}`,
    stack: "prod",
    asset: { kind: "kv", name: "sessions", sourceId: "x" },
    tier: "daily",
    mode,
    createdAt: new Date(start).toISOString(),
    sourcePointInTime: new Date(start).toISOString(),
    completedAt: new Date(start + o.seconds * 1000).toISOString(),
    expiresAt: new Date(start + 86_400_000).toISOString(),
    keyId: "k",
    encryption: { cipher: "AES-256-GCM", kdf: "HKDF-SHA256", chunkSize: 65536 },
    artifacts: [{ name: "entries", key: "k", role: "kv-entries", plaintextBytes: o.bytes ?? 1000, ciphertextBytes: 0, plaintextSha256: "", ciphertextSha256: "", chunks: 1, artifactId: "" }],
    counts: { listed: o.listed ?? 100 },
    dependsOn: [],
    details: {},
    producer: { name: "test", version: "1" },
  };
  return { ...unsigned, health: healthFor(unsigned, previous) };
}

function chain(specs: Array<Parameters<typeof next>[1]>): Manifest {
  let m: Manifest | null = null;
  for (const s of specs) m = next(m, s);
  return m as Manifest;
}

describe("health baselines", () => {
  it("median of odd and even counts", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it("keeps the newest 10 of each mode: a daily full among 95 differentials keeps its own baseline", () => {
    const day = (fullSeconds: number) => [{ mode: "full" as Mode, seconds: fullSeconds }, ...Array.from({ length: 95 }, () => ({ mode: "incremental" as Mode, seconds: 20 }))];
    const m = chain([...day(300), ...day(310), ...day(290), { mode: "full", seconds: 320 }]);
    const h = m.health!;
    expect(h.history.filter((s) => s.mode === "incremental")).toHaveLength(BASELINE_BACKUPS);
    expect(h.history.filter((s) => s.mode === "full").map((s) => s.durationSeconds)).toEqual([300, 310, 290]);
    // 320 s against the fulls' median 300 s: fine, although 16x the differentials' 20 s.
    expect(assessHealth(m)).toEqual([]);
  });

  it("slow: needs 3 earlier samples, more than the factor, and at least 60 s more", () => {
    expect(assessHealth(chain([{ seconds: 10 }, { seconds: 10 }, { seconds: 500 }]))).toEqual([]); // 2 samples
    expect(assessHealth(chain([{ seconds: 10 }, { seconds: 10 }, { seconds: 10 }, { seconds: 60 }]))).toEqual([]); // 6x but only 50 s more
    const slow = assessHealth(chain([{ seconds: 10 }, { seconds: 10 }, { seconds: 10 }, { seconds: 80 }]));
    expect(slow.map((f) => f.message)).toEqual([expect.stringMatching(/took 80 s, 8x the median 10 s of the last 3 full backups \(alert above 3x\)/)]);
    expect(assessHealth(chain([{ seconds: 100 }, { seconds: 100 }, { seconds: 100 }, { seconds: 300 }]))).toEqual([]); // exactly 3x
    expect(assessHealth(chain([{ seconds: 100 }, { seconds: 100 }, { seconds: 100 }, { seconds: 301 }])).map((f) => f.kind)).toEqual(["backup-slow"]);
  });

  it("shrink: items and bytes each against the previous backup, with both numbers", () => {
    const m = chain([{ seconds: 1, listed: 1000, bytes: 50_000 }, { seconds: 1, listed: 499, bytes: 24_000 }]);
    expect(assessHealth(m).map((f) => f.message)).toEqual([
      expect.stringMatching(/holds 499 keys, down 50\.1% from 1000 in backup b\d+ \(alert above 50%\)/),
      expect.stringMatching(/holds 24000 bytes, down 52% from 50000 in backup b\d+/),
    ]);
    expect(assessHealth(chain([{ seconds: 1, listed: 1000 }, { seconds: 1, listed: 500 }]))).toEqual([]); // exactly 50%
    expect(assessHealth(chain([{ seconds: 1, listed: 0 }, { seconds: 1, listed: 0 }]))).toEqual([]); // nothing to shrink from
    expect(assessHealth(chain([{ seconds: 1, listed: 1000 }, { seconds: 1, listed: 100 }]), { slowdownFactor: 3, shrinkPercent: false })).toEqual([]);
  });

  it("a differential has no total bytes: its bytes are not compared, its key count is", () => {
    const m = chain([{ mode: "full", seconds: 1, listed: 100, bytes: 10_000 }, { mode: "incremental", seconds: 1, listed: 90, bytes: 10 }]);
    expect(m.health).toMatchObject({ items: 90, bytes: null });
    expect(assessHealth(m)).toEqual([]);
  });

  it("the trend line shows the figures and the change", () => {
    const m = chain([{ seconds: 10, listed: 200 }, { seconds: 10, listed: 200 }, { seconds: 10, listed: 200 }, { seconds: 20, listed: 150 }]);
    expect(trendOf(m)).toBe("20 s, 150 keys (-25%), 2x median");
  });
});
