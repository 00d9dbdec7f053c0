/**
 * Every price `drposture cost` uses, in one place: value (USD, as a decimal string, never a
 * float), the unit it is per, what the vendor includes free each month, the page it was read
 * from and when. `confirmed: false` means the figure was not found on the vendor's own page
 * (only in third-party copies citing it): check it before relying on it. Plain data, no
 * imports: the policy pack loads this file too (policies/src/monthlyCost.ts).
 */
export interface Price {
  readonly id: string;
  readonly label: string;
  /** USD per `per` units, as a decimal string ("0.50"). */
  readonly usd: string;
  readonly per: number;
  readonly unit: string;
  /** Included in the plan or free tier each month, account-wide (shared with everything else on the account). */
  readonly includedPerMonth?: number;
  readonly source: string;
  /** When the figure was read from the source (YYYY-MM-DD). */
  readonly asOf: string;
  readonly confirmed: boolean;
  readonly note?: string;
}

const READ = "2026-11-23";
const CF_WORKERS = "https://developers.cloudflare.com/workers/platform/pricing/";
const CF_KV = "https://developers.cloudflare.com/kv/platform/pricing/";
const CF_R2 = "https://developers.cloudflare.com/r2/pricing/";
const CF_QUEUES = "https://developers.cloudflare.com/queues/platform/pricing/";
const CF_D1 = "https://developers.cloudflare.com/d1/platform/pricing/";
const NEON = "https://neon.com/docs/introduction/plans";
const AWS_S3 = "https://aws.amazon.com/s3/pricing/";
const AWS_NOTE = "AWS's pricing page is not in the searchable corpus; figure found in third-party documents quoting AWS's price list";

const cf = (id: string, label: string, usd: string, per: number, unit: string, includedPerMonth: number | undefined, source: string, note?: string): Price => ({
  id, label, usd, per, unit, ...(includedPerMonth !== undefined ? { includedPerMonth } : {}), source, asOf: READ, confirmed: true, ...(note ? { note } : {}),
});
const aws = (id: string, label: string, usd: string, per: number, unit: string, includedPerMonth: number | undefined, source: string, note = AWS_NOTE): Price => ({
  id, label, usd, per, unit, ...(includedPerMonth !== undefined ? { includedPerMonth } : {}), source, asOf: READ, confirmed: false, note,
});

export const PRICES: readonly Price[] = [
  cf("cf.workers.base", "Workers Paid plan", "5.00", 1, "account-month", undefined, CF_WORKERS, "minimum charge per account; includes the Workers, KV, Queues and D1 allowances below"),
  cf("cf.workers.requests", "Workers requests", "0.30", 1_000_000, "requests", 10_000_000, CF_WORKERS, "cron and queue-consumer invocations counted as requests (the page's cron example counts each run as one)"),
  cf("cf.workers.cpu", "Workers CPU time", "0.02", 1_000_000, "CPU ms", 30_000_000, CF_WORKERS),
  cf("cf.kv.reads", "KV reads", "0.50", 1_000_000, "reads", 10_000_000, CF_KV),
  cf("cf.kv.writes", "KV writes", "5.00", 1_000_000, "writes", 1_000_000, CF_KV),
  cf("cf.kv.deletes", "KV deletes", "5.00", 1_000_000, "deletes", 1_000_000, CF_KV),
  cf("cf.kv.lists", "KV lists", "5.00", 1_000_000, "lists", 1_000_000, CF_KV),
  cf("cf.kv.storage", "KV storage", "0.50", 1, "GB-month", 1, CF_KV),
  cf("cf.r2.storage", "R2 Standard storage", "0.015", 1, "GB-month", 10, CF_R2, "Cloudflare rounds billed usage up to the next unit; not modelled (allowances are account-wide)"),
  cf("cf.r2.classA", "R2 Class A operations", "4.50", 1_000_000, "operations", 1_000_000, CF_R2, "PutObject, ListObjects, CreateMultipartUpload, UploadPart, CompleteMultipartUpload"),
  cf("cf.r2.classB", "R2 Class B operations", "0.36", 1_000_000, "operations", 10_000_000, CF_R2, "GetObject, HeadObject; DeleteObject is free"),
  cf("cf.queues.ops", "Queues operations", "0.40", 1_000_000, "operations (64 KB)", 1_000_000, CF_QUEUES, "a message is 1 write + 1 read + 1 delete per 64 KB"),
  cf("cf.d1.rowsRead", "D1 rows read", "0.001", 1_000_000, "rows", 25_000_000_000, CF_D1),
  cf("cf.d1.rowsWritten", "D1 rows written", "1.00", 1_000_000, "rows", 50_000_000, CF_D1),
  cf("cf.d1.storage", "D1 storage", "0.75", 1, "GB-month", 5, CF_D1),
  aws("aws.s3.storage.eu-central-1", "S3 Standard storage (eu-central-1)", "0.0245", 1, "GB-month", undefined, AWS_S3),
  aws("aws.s3.put.eu-central-1", "S3 PUT/COPY/POST/LIST (eu-central-1)", "0.0054", 1_000, "requests", undefined, AWS_S3),
  aws("aws.s3.get.eu-central-1", "S3 GET and other (eu-central-1)", "0.00043", 1_000, "requests", undefined, AWS_S3),
  aws("aws.s3.storage.us-west-2", "S3 Standard storage (us-west-2)", "0.023", 1, "GB-month", undefined, AWS_S3),
  aws("aws.s3.put.us-west-2", "S3 PUT/COPY/POST/LIST (us-west-2)", "0.005", 1_000, "requests", undefined, AWS_S3),
  aws("aws.s3.get.us-west-2", "S3 GET and other (us-west-2)", "0.0004", 1_000, "requests", undefined, AWS_S3),
  aws("aws.s3.storage.us-east-1", "S3 Standard storage (us-east-1)", "0.023", 1, "GB-month", undefined, AWS_S3),
  aws("aws.s3.put.us-east-1", "S3 PUT/COPY/POST/LIST (us-east-1)", "0.005", 1_000, "requests", undefined, AWS_S3),
  aws("aws.s3.get.us-east-1", "S3 GET and other (us-east-1)", "0.0004", 1_000, "requests", undefined, AWS_S3),
  aws("aws.kms.key", "KMS customer managed key", "1.00", 1, "key-month", undefined, "https://aws.amazon.com/kms/pricing/"),
  aws("aws.kms.requests", "KMS requests", "0.03", 10_000, "requests", 20_000, "https://aws.amazon.com/kms/pricing/", `${AWS_NOTE}; the 20,000 free requests are the AWS Free Tier's`),
  aws("aws.cloudwatch.alarm", "CloudWatch standard-resolution alarm", "0.10", 1, "alarm-month", 10, "https://aws.amazon.com/cloudwatch/pricing/", `${AWS_NOTE}; 10 alarms free (AWS Free Tier)`),
  aws("aws.cloudwatch.metric", "CloudWatch custom metric (S3 request metrics)", "0.30", 1, "metric-month", 10, "https://aws.amazon.com/cloudwatch/pricing/", `${AWS_NOTE}; S3 request metrics are billed as custom metrics, first 10,000 metrics tier; 10 metrics free (AWS Free Tier)`),
  aws("aws.sns.publish", "SNS publishes", "0.50", 1_000_000, "requests", 1_000_000, "https://aws.amazon.com/sns/pricing/"),
  aws("aws.sns.email", "SNS email deliveries", "2.00", 100_000, "notifications", 1_000, "https://aws.amazon.com/sns/pricing/"),
  aws("aws.sns.http", "SNS HTTP/S deliveries", "0.60", 1_000_000, "notifications", 100_000, "https://aws.amazon.com/sns/pricing/", `${AWS_NOTE}; no HTTP subscription is declared by drposture (the webhook is called by the Worker)`),
  aws("aws.secrets.secret", "Secrets Manager secret", "0.40", 1, "secret-month", undefined, "https://aws.amazon.com/secrets-manager/pricing/"),
  aws("aws.secrets.api", "Secrets Manager API calls", "0.05", 10_000, "calls", undefined, "https://aws.amazon.com/secrets-manager/pricing/"),
  cf("neon.history", "Neon instant restore (history) storage", "0.20", 1, "GB-month", undefined, NEON, "Launch and Scale plans; Free: no charge (6 h, 1 GB cap)"),
  cf("neon.snapshots", "Neon snapshot storage", "0.09", 1, "GB-month", undefined, NEON, "billed from May 1, 2026"),
];

const byId = new Map(PRICES.map((p) => [p.id, p]));

export class MissingPriceError extends Error {
  override readonly name = "MissingPriceError";
}

export function price(id: string): Price {
  const p = byId.get(id);
  if (!p) throw new MissingPriceError(`no price ${id} in lib/cost/prices.ts: add it with its source and date`);
  return p;
}

/** S3 prices exist for these regions only (a region without them cannot be costed). */
export const S3_PRICED_REGIONS = PRICES.filter((p) => p.id.startsWith("aws.s3.storage.")).map((p) => p.id.slice("aws.s3.storage.".length));

/** Neon plans with published history and snapshot rates. */
export const NEON_PRICED_PLANS = ["free", "launch", "scale"] as const;
