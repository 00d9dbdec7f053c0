/** Items the whole posture shares: the Workers plan, cron invocations, KMS, alarms and their
 * metrics, the escrow secret, alert notifications. */
import { CPU_MS_PER_INVOCATION, KMS_KEYS, KMS_REQUESTS_PER_DAY, S3_METRICS_PER_FILTER, SECRETS } from "./assumptions";
import { DAYS_PER_MONTH, firingsPerDay } from "./cadence";
import { cronFiringsPerDay } from "./checks";
import type { Quantity } from "./estimate";
import type { CostInput } from "./input";

export function sharedQuantities(input: CostInput): Quantity[] {
  const cronRuns = cronFiringsPerDay(input) * DAYS_PER_MONTH;
  // A staleness metric has data in the hours a manifest of its asset is uploaded.
  const metricMonths = input.assets.reduce((n, a) => n + S3_METRICS_PER_FILTER * Math.min(1, firingsPerDay(a.cron) / 24), 0);
  const alerts = input.sizes.alertsPerMonth ?? 0;
  return [
    { priceId: "cf.workers.base", quantity: 1, footnotes: ["allowances"] },
    { priceId: "cf.workers.requests", quantity: cronRuns, footnotes: ["requests"] },
    { priceId: "cf.workers.cpu", quantity: cronRuns * CPU_MS_PER_INVOCATION, footnotes: ["cpu"] },
    { priceId: "aws.kms.key", quantity: KMS_KEYS, footnotes: ["kms"] },
    { priceId: "aws.kms.requests", quantity: KMS_REQUESTS_PER_DAY * DAYS_PER_MONTH, footnotes: ["kms"] },
    { priceId: "aws.cloudwatch.alarm", quantity: input.assets.length, footnotes: ["alarms"] },
    { priceId: "aws.cloudwatch.metric", quantity: metricMonths, footnotes: ["metrics"] },
    { priceId: "aws.secrets.secret", quantity: SECRETS, footnotes: ["secrets"] },
    { priceId: "aws.secrets.api", quantity: 0, footnotes: ["secrets"] },
    { priceId: "aws.sns.publish", quantity: alerts, footnotes: ["alerts"] },
    { priceId: "aws.sns.email", quantity: alerts * input.alertEmails, footnotes: ["alerts"] },
  ];
}
