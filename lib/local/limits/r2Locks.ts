/**
 * LOCAL WORLD. R2 bucket lock rules (the program's R2BucketLock), evaluated the way R2 applies
 * them: an enabled rule whose prefix matches the key locks the object while its age is below
 * maxAgeSeconds (Age), until a date (Date), or for ever (Indefinite); a locked object can be
 * neither deleted nor overwritten. Shared by the R2 binding wrapper and the R2 S3 endpoint.
 * Source: https://developers.cloudflare.com/r2/buckets/bucket-locks/
 */
export interface R2LockRuleLike {
  readonly id: string;
  readonly enabled: boolean;
  readonly prefix: string;
  readonly condition: { readonly type: string; readonly maxAgeSeconds?: number; readonly date?: string };
}

/** The rule that locks `key` (uploaded at `uploaded`) at `now`, or null. */
export function lockedBy(rules: readonly R2LockRuleLike[], key: string, uploaded: Date, now: Date): R2LockRuleLike | null {
  for (const r of rules) {
    if (!r.enabled || !key.startsWith(r.prefix)) continue;
    const c = r.condition;
    if (c.type === "Indefinite") return r;
    if (c.type === "Age" && now.getTime() - uploaded.getTime() < (c.maxAgeSeconds ?? 0) * 1000) return r;
    if (c.type === "Date" && c.date && now.getTime() < Date.parse(c.date)) return r;
  }
  return null;
}
