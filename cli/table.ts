/** Plain-text tables for people (machines get --json). */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  return [line(cells[0] as string[]), line(widths.map((w) => "-".repeat(w))), ...cells.slice(1).map(line)].join("\n");
}
