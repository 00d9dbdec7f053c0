/**
 * AlertRules: where alerts go, and the alerts that can be declared at the infrastructure level.
 *  - destinations: an SNS topic (in the vault region, so it outlives a primary-region outage)
 *    with email subscriptions, encrypted with a customer-managed KMS key whose policy admits
 *    CloudWatch (alarms cannot publish to a topic under the AWS-managed alias/aws/sns key,
 *    whose policy cannot be changed); optionally a Cloudflare notification webhook (accounts
 *    with a Pro-or-higher zone) and Cloudflare's PagerDuty destination;
 *  - staleness, out of band: per asset, an S3 request metric counting manifest uploads
 *    (objects tagged drposture-object=manifest and drposture-asset=<kind>/<name>) and a
 *    CloudWatch alarm when none arrived within the asset's RPO. It keeps working when the
 *    backup Worker, its cron triggers or Cloudflare itself are gone;
 *  - Cloudflare incidents (which can stop the Worker) go to those Cloudflare destinations and
 *    the alert emails.
 * The Worker's own failure alerts are sent to these destinations by the backup Worker.
 */
import * as aws from "@pulumi/aws";
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import type { WebhookFormat } from "../lib/alerts/alerts";
import { cloudflareWebhookDestination } from "../lib/alerts/cloudflareWebhook";

/** Object tags the backup writer sets on every manifest; the metric filters count them. */
export const MANIFEST_TAGS = { object: "drposture-object", asset: "drposture-asset" } as const;

/** Formats whose URL carries the secret that Cloudflare's webhook destination keeps apart. */
const SECRET_IN_URL: readonly WebhookFormat[] = ["slack", "discord"];

export interface StalenessTarget {
  /** Asset id, "kind/name". */
  readonly assetId: string;
  readonly rpoMinutes: number;
}

export interface AlertRulesArgs {
  /** Cloudflare account for the notification webhook and policy. */
  readonly accountId: pulumi.Input<string>;
  /** Prefix of alert resource names. */
  readonly namePrefix: pulumi.Input<string>;
  /** AWS region for the SNS topic and alarms (the vault region). */
  readonly region: pulumi.Input<string>;
  /** Email addresses subscribed to the SNS topic. */
  readonly emails: readonly string[];
  /** Webhook URL (secret) for Cloudflare notifications and Worker alerts. */
  readonly webhookUrl?: pulumi.Input<string>;
  /** Payload format of webhookUrl: decides how Cloudflare's destination splits its secret. */
  readonly webhookFormat: WebhookFormat;
  /** Create a Cloudflare webhook destination for webhookUrl (needs a Pro-or-higher zone). */
  readonly cloudflareWebhook: boolean;
  /** Cloudflare PagerDuty destination (connected in the dashboard) for incident notifications. */
  readonly cloudflarePagerDutyId?: string;
  /** S3 backup bucket whose manifest uploads are counted. */
  readonly s3BucketName: pulumi.Input<string>;
  /** One staleness alarm per asset, over its RPO window. */
  readonly staleness: readonly StalenessTarget[];
}

export class AlertRules extends pulumi.ComponentResource {
  static readonly __pulumiType = "drposture:alerts:AlertRules";

  readonly topicArn: pulumi.Output<string>;
  readonly alarmNames: pulumi.Output<string[]>;
  /** Identity allowed only to publish to the topic (the backup Worker's failure alerts). */
  readonly publisher: { readonly arn: pulumi.Output<string>; readonly accessKeyId: pulumi.Output<string>; readonly secretAccessKey: pulumi.Output<string> };
  readonly webhookDestinationId: pulumi.Output<string> | undefined;

  constructor(name: string, args: AlertRulesArgs, opts?: pulumi.ComponentResourceOptions) {
    // The webhook URL is a secret: only whether one is set reaches the component's inputs.
    const { webhookUrl, ...visible } = args;
    super(AlertRules.__pulumiType, name, { ...visible, hasWebhook: webhookUrl !== undefined }, opts);
    const parent = { parent: this };
    const region = args.region;

    const account = aws.getCallerIdentityOutput({}, parent).accountId;
    // "CloudWatch Alarms does not have authorization to access the SNS topic encryption key"
    // is what alarms on an alias/aws/sns topic record: the key must grant CloudWatch
    // (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
    const topicKey = new aws.kms.Key(
      `${name}-topic-key`,
      {
        region,
        description: pulumi.interpolate`dr-posture alert topic encryption for ${args.namePrefix}`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            { Sid: "AccountAdministersKey", Effect: "Allow", Principal: { AWS: pulumi.interpolate`arn:aws:iam::${account}:root` }, Action: "kms:*", Resource: "*" },
            {
              Sid: "CloudWatchAlarmsPublish",
              Effect: "Allow",
              Principal: { Service: "cloudwatch.amazonaws.com" },
              Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
              Resource: "*",
              Condition: { StringEquals: { "aws:SourceAccount": account } },
            },
          ],
        }),
      },
      parent,
    );
    new aws.kms.Alias(`${name}-topic-key-alias`, { region, name: pulumi.interpolate`alias/${args.namePrefix}-alerts`, targetKeyId: topicKey.keyId }, parent);
    const topic = new aws.sns.Topic(`${name}-topic`, { region, name: pulumi.interpolate`${args.namePrefix}-alerts`, kmsMasterKeyId: topicKey.arn }, parent);
    const publisher = new aws.iam.User(`${name}-publisher`, { name: pulumi.interpolate`${args.namePrefix}-alert-publisher`, path: "/drposture/", forceDestroy: true }, parent);
    new aws.iam.UserPolicy(
      `${name}-publisher-policy`,
      {
        user: publisher.name,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            { Sid: "PublishAlerts", Effect: "Allow", Action: ["sns:Publish"], Resource: topic.arn },
            // "The publisher must have the kms:GenerateDataKey and kms:Decrypt permissions for
            // the AWS KMS key" of an encrypted topic (sns-key-management.html#send-to-encrypted-topic).
            { Sid: "EncryptAlerts", Effect: "Allow", Action: ["kms:GenerateDataKey*", "kms:Decrypt"], Resource: topicKey.arn, Condition: { StringEquals: { "kms:ViaService": pulumi.interpolate`sns.${region}.amazonaws.com` } } },
          ],
        }),
      },
      parent,
    );
    const publisherKey = new aws.iam.AccessKey(`${name}-publisher-key`, { user: publisher.name }, { ...parent, additionalSecretOutputs: ["secret"] });
    this.publisher = { arn: publisher.arn, accessKeyId: publisherKey.id, secretAccessKey: pulumi.secret(publisherKey.secret) };
    args.emails.forEach((email, i) => {
      new aws.sns.TopicSubscription(`${name}-email-${i}`, { region, topic: topic.arn, protocol: "email", endpoint: email }, parent);
    });

    const alarms = args.staleness.map((target) => {
      const slug = target.assetId.replace("/", "-");
      const metric = new aws.s3.BucketMetric(
        `${name}-manifests-${slug}`,
        {
          region,
          bucket: args.s3BucketName,
          name: `manifests-${slug}`,
          filter: { tags: { [MANIFEST_TAGS.object]: "manifest", [MANIFEST_TAGS.asset]: target.assetId } },
        },
        parent,
      );
      // One period spanning the RPO (CloudWatch periods are whole minutes, at most one day);
      // no data means no uploads, which is exactly the condition to alarm on.
      const periodSeconds = Math.min(target.rpoMinutes, 1440) * 60;
      return new aws.cloudwatch.MetricAlarm(
        `${name}-stale-${slug}`,
        {
          region,
          name: pulumi.interpolate`${args.namePrefix}-backup-stale-${slug}`,
          alarmDescription: `No committed backup (manifest upload) of ${target.assetId} within its RPO of ${target.rpoMinutes} min.`,
          namespace: "AWS/S3",
          metricName: "PutRequests",
          dimensions: { BucketName: args.s3BucketName, FilterId: metric.name },
          statistic: "Sum",
          period: periodSeconds,
          evaluationPeriods: 1,
          threshold: 1,
          comparisonOperator: "LessThanThreshold",
          treatMissingData: "breaching",
          alarmActions: [topic.arn],
          okActions: [topic.arn],
        },
        parent,
      );
    });

    this.webhookDestinationId = this.cloudflareIncidents(name, args, parent);

    this.topicArn = topic.arn;
    this.alarmNames = pulumi.all(alarms.map((a) => a.name));
    this.registerOutputs({ topicArn: this.topicArn, alarmNames: this.alarmNames });
  }

  /** Cloudflare incidents (which can stop the Worker) to the Cloudflare destinations declared. */
  private cloudflareIncidents(name: string, args: AlertRulesArgs, parent: pulumi.ResourceOptions): pulumi.Output<string> | undefined {
    let webhook: cloudflare.NotificationPolicyWebhooks | undefined;
    if (args.cloudflareWebhook && args.webhookUrl !== undefined) {
      const dest = pulumi.output(args.webhookUrl).apply((url) => cloudflareWebhookDestination(url, args.webhookFormat));
      webhook = new cloudflare.NotificationPolicyWebhooks(
        `${name}-webhook`,
        {
          accountId: args.accountId,
          name: pulumi.interpolate`${args.namePrefix}-alerts`,
          url: pulumi.secret(dest.url),
          // Slack and Discord: the URL's last segment, passed apart as Cloudflare keeps it.
          ...(SECRET_IN_URL.includes(args.webhookFormat) ? { secret: pulumi.secret(dest.apply((d) => d.secret as string)) } : {}),
        },
        parent,
      );
    }
    const mechanisms = {
      ...(webhook ? { webhooks: [{ id: webhook.id }] } : {}),
      ...(args.cloudflarePagerDutyId ? { pagerduties: [{ id: args.cloudflarePagerDutyId }] } : {}),
      ...(args.emails.length ? { emails: args.emails.map((id) => ({ id })) } : {}),
    };
    if (!Object.keys(mechanisms).length) return undefined;
    new cloudflare.NotificationPolicy(
      `${name}-cloudflare-incidents`,
      {
        accountId: args.accountId,
        name: pulumi.interpolate`${args.namePrefix}-cloudflare-incidents`,
        description: "Cloudflare incidents can stop the backup Worker or the R2 copy.",
        alertType: "incident_alert",
        enabled: true,
        mechanisms,
      },
      parent,
    );
    return webhook?.id;
  }
}
