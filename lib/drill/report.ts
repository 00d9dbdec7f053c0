/** Drill reports: JSON for machines, Markdown for the incident channel, HTML with a timeline. */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { DrillReport } from "./runDrill";

const secs = (s: number) => (s < 60 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`);
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function markdownReport(r: DrillReport): string {
  const lines = [
    `# Restore drill: ${r.passed ? "PASSED" : "FAILED"}`,
    "",
    `Stack targets: **${r.stack}**. Started ${r.startedAt}, disaster at ${r.disasterAt}, finished ${r.finishedAt}. Alerts delivered during the drill: ${r.alertsDelivered}.`,
    "",
    "| Asset | Verified | Source | Restored | RTO (target) | RPO (target) | Backup |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...r.assets.map(
      (a) =>
        `| ${a.kind}/${a.name} | ${a.verified ? "yes" : "**no**"} | ${a.sourceCount} | ${a.restoredCount} | ${secs(a.rtoSeconds)} (${secs(a.rtoTargetSeconds)}) | ${secs(a.rpoSeconds)} (${secs(a.rpoTargetSeconds)}) | ${a.backupId ?? "-"} |`,
    ),
    "",
    "## Integrity checks",
    "",
    ...r.assets.flatMap((a) => [
      ...a.integrity.map((i) => `- ${a.kind}/${a.name}: ${i.ok ? "ok" : "**FAILED**"} - ${i.check}: ${i.detail}`),
      ...(a.error ? [`- ${a.kind}/${a.name}: **error** - ${a.error}`] : []),
      `- ${a.kind}/${a.name}: digest ${a.sourceDigest.slice(0, 16)} -> ${a.restoredDigest.slice(0, 16) || "(none)"}`,
    ]),
    "",
    "## Restore tests (the Worker, into scratch resources)",
    "",
    ...(r.restoreTests.length
      ? [
          "| Asset | Passed | Restored | Digest | Duration (RTO) | Error |",
          "| --- | --- | --- | --- | --- | --- |",
          ...r.restoreTests.map((t) => `| ${t.asset} | ${t.passed ? "yes" : "**no**"} | ${t.restoredCount} | ${t.digestMatches === null ? "n/a" : t.digestMatches ? "matches" : "**differs**"} | ${secs(t.seconds)} (${t.rtoTargetSeconds === null ? "-" : secs(t.rtoTargetSeconds)}) | ${t.error ?? ""} |`),
        ]
      : ["Restore testing is off for this stack."]),
    "",
    "## Backup now (signed request to the Worker)",
    "",
    ...(r.backupNow
      ? [`${r.backupNow.asset}: ${r.backupNow.committed ? `backup ${r.backupNow.backupId} committed` : `**not committed**${r.backupNow.error ? ` - ${r.backupNow.error}` : ""}`} in ${secs(r.backupNow.seconds)}.`]
      : ["No asset of the Worker to back up."]),
    "",
    "## Workers limits",
    "",
    `${r.workersLimits.invocations} invocations; most in one: ${Object.entries(r.workersLimits.peaks).map(([k, v]) => `${k} ${v} of ${r.workersLimits.limits[k] ?? "?"}`).join(", ")}.`,
    ...(r.workersLimits.violations.length ? r.workersLimits.violations.map((v) => `- **over a limit**: ${v}`) : ["No invocation went over a limit."]),
    "",
    "## Timeline",
    "",
    "| Phase | Asset | Start | Duration |",
    "| --- | --- | --- | --- |",
    ...r.phases.map((p) => `| ${p.name} | ${p.asset ?? ""} | ${p.startSeconds.toFixed(2)} s | ${(p.endSeconds - p.startSeconds).toFixed(2)} s |`),
    "",
  ];
  return lines.join("\n");
}

/** A horizontal bar per phase on a shared time axis (inline SVG, no scripts, no downloads). */
export function timelineSvg(r: DrillReport): string {
  const total = Math.max(...r.phases.map((p) => p.endSeconds), 1);
  const row = 22;
  const left = 330;
  const width = 900;
  const scale = (width - left - 20) / total;
  const colour = (name: string) => (name.startsWith("restore") ? "#2e7d32" : name.startsWith("backup") ? "#1565c0" : name.startsWith("disaster") || name.startsWith("fault") ? "#c62828" : "#757575");
  const bars = r.phases.map((p, i) => {
    const y = 10 + i * row;
    const label = esc(`${p.name}${p.asset ? ` (${p.asset})` : ""}`);
    const x = left + p.startSeconds * scale;
    const w = Math.max(2, (p.endSeconds - p.startSeconds) * scale);
    return `<text x="${left - 8}" y="${y + 14}" text-anchor="end" font-size="12">${label}</text><rect x="${x.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${row - 6}" fill="${colour(p.name)}"><title>${label}: ${(p.endSeconds - p.startSeconds).toFixed(2)} s</title></rect>`;
  });
  const height = 40 + r.phases.length * row;
  const ticks = Array.from({ length: 6 }, (_, i) => (total * i) / 5).map(
    (t) => `<line x1="${left + t * scale}" y1="5" x2="${left + t * scale}" y2="${height - 25}" stroke="#ddd"/><text x="${left + t * scale}" y="${height - 10}" font-size="11" text-anchor="middle">${t.toFixed(1)} s</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">${ticks.join("")}${bars.join("")}</svg>`;
}

export function htmlReport(r: DrillReport): string {
  const rows = r.assets
    .map(
      (a) =>
        `<tr class="${a.verified && a.withinTargets ? "ok" : "bad"}"><td>${esc(`${a.kind}/${a.name}`)}</td><td>${a.verified ? "yes" : "no"}</td><td>${a.sourceCount}</td><td>${a.restoredCount}</td><td>${secs(a.rtoSeconds)} / ${secs(a.rtoTargetSeconds)}</td><td>${secs(a.rpoSeconds)} / ${secs(a.rpoTargetSeconds)}</td><td>${esc(a.error ?? "")}</td></tr>`,
    )
    .join("");
  return `<!doctype html><html><head><meta charset="utf-8"><title>Restore drill ${r.passed ? "passed" : "failed"}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}tr.ok td:nth-child(2){color:#2e7d32}tr.bad td{background:#fdecea}</style></head>
<body><h1>Restore drill: ${r.passed ? "PASSED" : "FAILED"}</h1><p>Targets from stack ${esc(r.stack)}. Disaster at ${r.disasterAt}.</p>
<table><tr><th>Asset</th><th>Verified</th><th>Source</th><th>Restored</th><th>RTO / target</th><th>RPO / target</th><th>Error</th></tr>${rows}</table>
<h2>Restore tests</h2><ul>${r.restoreTests.map((t) => `<li>${esc(t.asset)}: ${t.passed ? "passed" : "<b>FAILED</b>"}, ${t.restoredCount} restored in ${secs(t.seconds)}${t.error ? `: ${esc(t.error)}` : ""}</li>`).join("")}</ul>
<h2>Backup now</h2><p>${r.backupNow ? `${esc(r.backupNow.asset)}: ${r.backupNow.committed ? `backup ${esc(r.backupNow.backupId ?? "")} committed` : `<b>not committed</b>${r.backupNow.error ? `: ${esc(r.backupNow.error)}` : ""}`} in ${secs(r.backupNow.seconds)}` : "No asset of the Worker to back up."}</p>
<h2>Timeline</h2>${timelineSvg(r)}
<h2>Integrity checks</h2><ul>${r.assets.flatMap((a) => a.integrity.map((i) => `<li>${esc(`${a.kind}/${a.name}`)}: ${i.ok ? "ok" : "<b>FAILED</b>"} ${esc(i.check)}: ${esc(i.detail)}</li>`)).join("")}</ul>
</body></html>\n`;
}

/** The report as the issue's JSON contract plus the phases. */
export function jsonReport(r: DrillReport): Record<string, unknown> {
  return {
    passed: r.passed,
    assets: r.assets.map((a) => ({
      kind: a.kind,
      name: a.name,
      verified: a.verified,
      sourceCount: a.sourceCount,
      restoredCount: a.restoredCount,
      sourceDigest: a.sourceDigest,
      restoredDigest: a.restoredDigest,
      rtoSeconds: Number(a.rtoSeconds.toFixed(3)),
      rpoSeconds: Number(a.rpoSeconds.toFixed(3)),
      rtoTargetSeconds: a.rtoTargetSeconds,
      rpoTargetSeconds: a.rpoTargetSeconds,
      withinTargets: a.withinTargets,
      backupId: a.backupId,
      integrity: a.integrity,
      error: a.error,
    })),
    restoreTests: r.restoreTests.map((t) => ({ ...t, seconds: Number(t.seconds.toFixed(3)) })),
    backupNow: r.backupNow ? { asset: r.backupNow.asset, backupId: r.backupNow.backupId, seconds: Number(r.backupNow.seconds.toFixed(3)), committed: r.backupNow.committed, ...(r.backupNow.error ? { error: r.backupNow.error } : {}) } : null,
    stack: r.stack,
    startedAt: r.startedAt,
    disasterAt: r.disasterAt,
    finishedAt: r.finishedAt,
    phases: r.phases.map((p) => ({ ...p, startSeconds: Number(p.startSeconds.toFixed(3)), endSeconds: Number(p.endSeconds.toFixed(3)) })),
    workersLimits: r.workersLimits,
  };
}

export function writeReports(r: DrillReport, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const files = { "drill-report.json": `${JSON.stringify(jsonReport(r), null, 2)}\n`, "drill-report.md": markdownReport(r), "drill-report.html": htmlReport(r) };
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return Object.keys(files).map((f) => path.join(dir, f));
}
