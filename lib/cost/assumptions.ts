/**
 * The estimate's assumptions, each a footnote the output prints under the table it marks.
 * Anything the code does not decide (CPU time, record sizes, how a vendor measures) is here.
 */
export const CPU_MS_PER_INVOCATION = 10;
export const CPU_MS_PER_ITEM = 0.05;
export const CPU_MS_PER_MIB = 10;
/** S3 request metrics with data when a manifest is uploaded: AllRequests, PutRequests,
 * BytesUploaded, FirstByteLatency, TotalRequestLatency, 4xxErrors, 5xxErrors. */
export const S3_METRICS_PER_FILTER = 7;
/** With an S3 Bucket Key, S3 asks KMS for a bucket-level key for a limited time instead of a
 * data key per object: modelled as one GenerateDataKey and one Decrypt an hour. */
export const KMS_REQUESTS_PER_DAY = 48;
/** KMS keys drposture declares: the vault's (S3 SSE-KMS) and the alert topic's. */
export const KMS_KEYS = 2;
/** Secrets Manager secrets drposture declares: the data-key escrow. */
export const SECRETS = 1;
export const GB_CLOUDFLARE = 1e9;
export const GB_AWS = 1024 ** 3;

export const FOOTNOTES: Readonly<Record<string, string>> = {
  allowances: "Included allowances (Workers Paid, KV, R2, Queues, D1; AWS Free Tier) are per account and shared with everything else on it; the credit line assumes this stack is alone on the account.",
  tiers: "Tier split as chooseTier (lib/backup/catalog.ts) decides: 12 monthly and ~50.5 weekly backups a year, the rest daily; copies kept for the tier's days (R2: lifecycle = lock), S3 for the tier's days plus the noncurrent-version days (the expired version stays noncurrent that long).",
  kvFull: "KV: the first backup of each UTC day is full (weekly/monthly ones always are); the others are differential against it. Every backup lists the namespace (one list per step of min(1000, opsPerStep - 1) keys) and reads every value (worker/jobs/kv.ts).",
  kvDiff: "KV differential: holds the keys changed since the day's full, on average half a day's dailyChangedKeys; changed keys over 1 MiB are read twice (not counted).",
  records: "Artifact sizes are estimates of the NDJSON lines (KV entry: key + base64 value + 16 B; KV index line: key + 72 B; R2 inventory line: 290 B); encryption adds a small per-chunk overhead (not counted).",
  d1Dump: "D1: the dump is taken as the database's bytes; rows read = every row once (schema queries not counted); a database over d1SnapshotBytes is read in pages (worker/jobs/d1.ts).",
  r2Reuse: "R2: an object's earlier copy is reused only while it lives at least as long as the new backup (r2Records.ts reusable()): a monthly backup copies the whole bucket, a weekly one what changed since the monthly, a daily one what changed since the last weekly or monthly.",
  neonDump: "Neon pg_dump: run outside the Worker (`drposture backup postgres`, e.g. from CI) on the asset's schedule into R2 and S3; dump bytes = dumpBytes, else databaseBytes.",
  neonHistory: "Neon history: dailyChangeBytes x restore window, billed on the root branch.",
  neonSnapshots: "Neon snapshots: modelled as one full copy plus the changes over the span the kept snapshots reach back (Neon does not say how snapshot GB are measured; unconfirmed).",
  neonUnpriced: "Neon publishes history and snapshot rates for Free, Launch and Scale only; other plans are listed without a price.",
  watchdog: "Watchdog: after every cron firing, per asset: R2 GET pointer + manifest, LIST of the three tiers, S3 LIST (is it copied?); one asset an hour has up to 64 MiB of its newest backup read back.",
  restoreTests: "Restore tests: one asset per firing of the restore-test cron, in turn; each empties the scratch resource, restores the newest backup into it and reads it back (scratch KV: deletes, writes, lists, reads; D1: rows deleted and written, read back; R2: puts, lists, gets). The scratch copy stays stored until the next test. Steps estimated as 3 operations per item. Neon branch compute not counted.",
  cpu: `CPU time is assumed, not measured: ${CPU_MS_PER_INVOCATION} ms per invocation, ${CPU_MS_PER_ITEM} ms per key/row/object, ${CPU_MS_PER_MIB} ms per MiB encrypted (bench/scale measures the real figures).`,
  requests: "Workers requests: one per cron firing and one per queue message (consumer batch size 1).",
  queue: "Queues: every step is one message under 64 KB: 3 operations (write, read, delete); retries not counted.",
  kms: `KMS: S3 Bucket Key on: S3 asks KMS for a bucket-level key for a limited time, not per object; modelled as ${KMS_REQUESTS_PER_DAY} requests a day. The alert topic's key is used only when alerts are published. Key rotation charges not counted.`,
  metrics: `S3 request metrics (one filter per asset, manifests only): ${S3_METRICS_PER_FILTER} metrics with data in each hour a manifest is uploaded, billed as custom metrics prorated by the hour (unconfirmed).`,
  alarms: "One CloudWatch staleness alarm per asset (components/AlertRules.ts).",
  alerts: "SNS: drposture:sizes.alertsPerMonth publishes, each delivered to every alert email; no HTTP subscription is declared.",
  secrets: "Secrets Manager: the data-key escrow secret; GetSecretValue only at restores and drills (not counted).",
  gb: "GB: Cloudflare and Neon storage in GB of 10^9 bytes (larger quantity, so the estimate errs high); AWS in GB of 2^30 bytes as AWS bills.",
  rounding: "Money: quantities to 6 decimals, each line rounded half up to whole micro-dollars, totals summed from lines and shown half up to the cent.",
};
