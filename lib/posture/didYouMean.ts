/** "Did you mean" for a mistyped name: the closest known name within a small edit distance. */

/** Levenshtein distance (insertions, deletions, substitutions), two rows of the usual table. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length] as number;
}

/** The known name closest to `given`, if it is close enough to be a typo (case ignored). */
export function closest(given: string, known: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.min(3, Math.floor(given.length / 3)));
  let best: { name: string; d: number } | undefined;
  for (const name of known) {
    const d = editDistance(given.toLowerCase(), name.toLowerCase());
    if (d <= limit && (!best || d < best.d)) best = { name, d };
  }
  return best?.name;
}
