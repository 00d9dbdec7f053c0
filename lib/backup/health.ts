/**
 * Backup health baselines: a backup that suddenly got much smaller or much slower is the
 * classic sign of a bug in the application or of someone emptying the source.
 *
 * Each manifest carries, signed with it, its own figures (duration, items, bytes of the
 * source state) and the figures of the backups before it (`history`, at most
 * BASELINE_BACKUPS per mode). The baseline therefore travels in locked, MAC-protected
 * manifests: nobody with write access to the bucket can reset or forge it, and the check
 * needs only the newest manifest, which the watchdog reads anyway.
 */
import type { BackupHealth, HealthSample, Manifest } from "../format/manifest";

export type { BackupHealth, HealthSample } from "../format/manifest";

/** How many earlier backups (of the same mode) the duration median is taken over. */
export const BASELINE_BACKUPS = 10;
/** Fewer earlier durations than this and there is no median worth comparing with. */
export const MIN_DURATION_SAMPLES = 3;
/** A slowdown is reported only when it also costs this many seconds: a 2 s backup taking 7 s
 * is queue latency, not a symptom. */
export const SLOWDOWN_FLOOR_SECONDS = 60;

export interface HealthThresholds {
  /** Alert when a backup takes more than this many times the median duration (false: never). */
  readonly slowdownFactor: number | false;
  /** Alert when items or bytes fall by more than this percentage against the previous backup. */
  readonly shrinkPercent: number | false;
}

export const DEFAULT_HEALTH_THRESHOLDS: HealthThresholds = { slowdownFactor: 3, shrinkPercent: 50 };

export interface HealthFinding {
  readonly kind: "backup-slow" | "backup-shrank";
  readonly message: string;
  readonly details: Readonly<Record<string, number | string>>;
}

const sumPlaintext = (m: Pick<Manifest, "artifacts">, role: string) => m.artifacts.filter((a) => a.role === role).reduce((n, a) => n + a.plaintextBytes, 0);

/** Items and bytes of the source state, from what the job counted. */
export function measuredSize(m: Pick<Manifest, "asset" | "mode" | "counts" | "artifacts">): Pick<BackupHealth, "items" | "itemsLabel" | "bytes"> {
  const c = m.counts;
  switch (m.asset.kind) {
    case "d1":
      return { items: c.rows ?? null, itemsLabel: "rows", bytes: sumPlaintext(m, "d1-rows") || null };
    case "kv":
      // `listed`: every key the listing returned, in a full backup and a differential alike.
      return { items: c.listed ?? null, itemsLabel: "keys", bytes: m.mode === "full" ? sumPlaintext(m, "kv-entries") : null };
    case "r2":
      return { items: c.objects ?? null, itemsLabel: "objects", bytes: c.sourceBytes ?? null };
    case "neon":
      return { items: null, itemsLabel: null, bytes: c.bytes ?? null };
  }
}

const durationOf = (m: Pick<Manifest, "createdAt" | "completedAt">) => Math.round(Math.max(0, (Date.parse(m.completedAt) - Date.parse(m.createdAt)) / 1000) * 1000) / 1000;

/** A manifest's figures, from its own signed counts when it was written before `health` existed
 * (the first backup after the upgrade then has a baseline, not none). */
function figuresOf(m: Manifest): HealthSample {
  const { durationSeconds, items, bytes } = m.health ?? { durationSeconds: durationOf(m), ...measuredSize(m) };
  return { backupId: m.backupId, mode: m.mode, durationSeconds, items, bytes };
}

/** The health record of a backup about to be committed, its baseline from the previous one. */
export function healthFor(m: Omit<Manifest, "mac" | "health">, previous: Manifest | null): BackupHealth {
  const durationSeconds = durationOf(m);
  const before = previous ? [...(previous.health?.history ?? []), figuresOf(previous)] : [];
  // Keep the newest BASELINE_BACKUPS of each mode: a KV asset has one full a day among many
  // differentials, and each is compared with its own kind.
  const kept: HealthSample[] = [];
  const perMode = new Map<string, number>();
  for (const s of [...before].reverse()) {
    const n = perMode.get(s.mode) ?? 0;
    if (n >= BASELINE_BACKUPS) continue;
    perMode.set(s.mode, n + 1);
    kept.unshift(s);
  }
  return { durationSeconds, ...measuredSize(m), history: kept };
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const fmtSeconds = (s: number) => (s >= 120 ? `${Math.round(s / 6) / 10} min` : `${Math.round(s * 10) / 10} s`);
const pct = (from: number, to: number) => Math.round(((from - to) / from) * 1000) / 10;

function slowdown(m: Manifest, h: BackupHealth, factor: number): HealthFinding | null {
  const same = h.history.filter((s) => s.mode === m.mode).slice(-BASELINE_BACKUPS);
  if (same.length < MIN_DURATION_SAMPLES) return null;
  const med = median(same.map((s) => s.durationSeconds));
  if (h.durationSeconds <= factor * med || h.durationSeconds - med < SLOWDOWN_FLOOR_SECONDS) return null;
  const ratio = med > 0 ? Math.round((h.durationSeconds / med) * 10) / 10 : Infinity;
  return {
    kind: "backup-slow",
    message: `backup ${m.backupId} took ${fmtSeconds(h.durationSeconds)}, ${ratio}x the median ${fmtSeconds(med)} of the last ${same.length} ${m.mode} backups (alert above ${factor}x)`,
    details: { backupId: m.backupId, durationSeconds: h.durationSeconds, medianSeconds: med, samples: same.length, factor },
  };
}

function shrink(m: Manifest, h: BackupHealth, percent: number): HealthFinding[] {
  const out: HealthFinding[] = [];
  const prev = h.history[h.history.length - 1];
  if (prev && prev.items !== null && h.items !== null && prev.items > 0 && pct(prev.items, h.items) > percent) {
    out.push({
      kind: "backup-shrank",
      message: `backup ${m.backupId} holds ${h.items} ${h.itemsLabel ?? "items"}, down ${pct(prev.items, h.items)}% from ${prev.items} in backup ${prev.backupId} (alert above ${percent}%)`,
      details: { backupId: m.backupId, items: h.items, previousItems: prev.items, previousBackupId: prev.backupId, percent },
    });
  }
  // Bytes against the newest earlier backup that measured them in the same mode.
  const prevBytes = [...h.history].reverse().find((s) => s.mode === m.mode && s.bytes !== null);
  if (prevBytes?.bytes && h.bytes !== null && pct(prevBytes.bytes, h.bytes) > percent) {
    out.push({
      kind: "backup-shrank",
      message: `backup ${m.backupId} holds ${h.bytes} bytes, down ${pct(prevBytes.bytes, h.bytes)}% from ${prevBytes.bytes} in backup ${prevBytes.backupId} (alert above ${percent}%)`,
      details: { backupId: m.backupId, bytes: h.bytes, previousBytes: prevBytes.bytes, previousBackupId: prevBytes.backupId, percent },
    });
  }
  return out;
}

/** What is wrong with a committed backup's figures against its baseline (nothing: []). */
export function assessHealth(m: Manifest, t: HealthThresholds = DEFAULT_HEALTH_THRESHOLDS): HealthFinding[] {
  const h = m.health;
  if (!h) return [];
  const slow = t.slowdownFactor === false ? null : slowdown(m, h, t.slowdownFactor);
  return [...(slow ? [slow] : []), ...(t.shrinkPercent === false ? [] : shrink(m, h, t.shrinkPercent))];
}

/** One line for `drposture list`: the figures and how they moved against the previous backup. */
export function trendOf(m: Manifest): string {
  const h = m.health;
  if (!h) return "";
  const prev = h.history[h.history.length - 1];
  const parts = [fmtSeconds(h.durationSeconds)];
  if (h.items !== null) parts.push(`${h.items} ${h.itemsLabel ?? "items"}${prev?.items ? ` (${signed(h.items, prev.items)})` : ""}`);
  const same = h.history.filter((s) => s.mode === m.mode);
  if (same.length >= MIN_DURATION_SAMPLES) parts.push(`${Math.round((h.durationSeconds / Math.max(median(same.map((s) => s.durationSeconds)), 0.001)) * 10) / 10}x median`);
  return parts.join(", ");
}

function signed(now: number, before: number): string {
  const change = Math.round(((now - before) / before) * 1000) / 10;
  return `${change >= 0 ? "+" : ""}${change}%`;
}
