/** Every protected asset has a backup job, a failure alert and a staleness alert that reach someone. */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { assetId, backupWorkers, protectedAssets } from "./backupPlan";
import { ofType, T } from "./resources";

/** Topics in the stack with at least one subscription, by ARN and by resource. */
function reachableTopics(rs: readonly PolicyResource[]): { arns: Set<string>; topics: Set<PolicyResource> } {
  const topics = ofType(rs, T.snsTopic);
  const subs = ofType(rs, T.snsSubscription);
  const live = topics.filter((t) => subs.some((s) => s.props.topic === t.props.arn || (s.propertyDependencies?.topic ?? []).includes(t)));
  return { arns: new Set(live.map((t) => String(t.props.arn))), topics: new Set(live) };
}

const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);

/**
 * Why CloudWatch alarms cannot publish to an encrypted topic, or null when they can: the topic is
 * unencrypted, or its key is declared here with a policy granting cloudwatch.amazonaws.com
 * kms:Decrypt and kms:GenerateDataKey*. The AWS-managed alias/aws/sns key never grants it and
 * its policy cannot be changed (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
 */
export function alarmsBlockedBy(topic: PolicyResource, rs: readonly PolicyResource[]): string | null {
  const keyRef = topic.props.kmsMasterKeyId as string | undefined;
  if (!keyRef) return null;
  if (keyRef.startsWith("alias/aws/")) return `it is encrypted with the AWS-managed key ${keyRef}, which CloudWatch may not use`;
  const key = (topic.propertyDependencies?.kmsMasterKeyId ?? []).find((d) => T.kmsKey.includes(d.type as never)) ?? ofType(rs, T.kmsKey).find((k) => [k.props.arn, k.props.keyId, k.props.id].includes(keyRef));
  if (!key) return `its KMS key ${keyRef} is not declared in this stack, so its policy cannot be checked`;
  const policy = typeof key.props.policy === "string" ? (JSON.parse(key.props.policy) as { Statement?: unknown }) : (key.props.policy as { Statement?: unknown } | undefined);
  const raw = policy?.Statement;
  const statements = (Array.isArray(raw) ? raw : raw ? [raw] : []) as Array<Record<string, unknown>>;
  const granted = new Set<string>();
  for (const st of statements) {
    const principal = st.Principal as { Service?: unknown } | undefined;
    if (st.Effect !== "Allow" || !list(principal?.Service).includes("cloudwatch.amazonaws.com")) continue;
    for (const a of list(st.Action)) granted.add(a);
  }
  const covers = (want: string) => granted.has("kms:*") || granted.has(want) || (want === "kms:GenerateDataKey" && granted.has("kms:GenerateDataKey*"));
  return covers("kms:Decrypt") && covers("kms:GenerateDataKey") ? null : `its KMS key's policy does not grant cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey*`;
}

export const assetsCovered: StackValidationPolicy = {
  name: "assets-covered",
  description:
    "Every protected asset (declared by a DisasterRecovery component or a backup Worker's plan) has a backup job (planned on a Worker with the matching cron trigger), a failure alert (the Worker has a webhook or an SNS topic with a subscriber) and a staleness alert (a CloudWatch alarm on the asset's manifest uploads whose actions reach a topic with a subscriber that CloudWatch may publish to: unencrypted, or under a key whose policy grants CloudWatch).",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const rs = args.resources;
    const workers = backupWorkers(rs);
    const { arns, topics } = reachableTopics(rs);
    const metrics = ofType(rs, T.s3Metric);
    const alarms = ofType(rs, T.alarm);
    for (const [id, { asset, declaredBy }] of protectedAssets(rs)) {
      const w = workers.find((x) => (x.plan?.assets ?? []).some((a) => assetId(a) === id));
      if (!w) {
        report(`${id} is protected but no backup Worker plans a backup of it; add it to the Worker's plan (BACKUP_PLAN).`, declaredBy.urn);
      } else if (!w.crons.includes(asset.cron)) {
        report(`${id} has no cron trigger "${asset.cron}" on Worker ${w.script.props.scriptName}; it is never backed up.`, w.triggers[0]?.urn ?? w.script.urn);
      }
      if (w) {
        const webhook = w.bindings.some((b) => b.name === "ALERT_WEBHOOK_URL" && b.type === "secret_text");
        const snsArn = w.plan?.alerts?.sns?.topicArn;
        const sns = snsArn !== undefined && arns.has(snsArn) && w.bindings.some((b) => b.name === "SNS_ACCESS_KEY_ID");
        if (!webhook && !sns) {
          report(`Backup failures of ${id} reach nobody: Worker ${w.script.props.scriptName} has no ALERT_WEBHOOK_URL secret and no SNS topic with a subscriber. Set drposture:alertWebhookUrl or drposture:alerts.emails.`, w.script.urn);
        }
      }
      const mine = metrics.filter((m) => (m.props.filter?.tags ?? {})["drposture-asset"] === id);
      const alarm = alarms.find((a) => mine.some((m) => a.props.dimensions?.FilterId === m.props.name || (a.propertyDependencies?.dimensions ?? []).includes(m)));
      const targets = alarm ? [...topics].filter((t) => ((alarm.props.alarmActions ?? []) as string[]).includes(String(t.props.arn)) || (alarm.propertyDependencies?.alarmActions ?? []).includes(t)) : [];
      const blocked = targets.map((t) => [t, alarmsBlockedBy(t, rs)] as const);
      if (!alarm) {
        report(`${id} has no staleness alarm: add an S3 request metric filtered on its manifests (tag drposture-asset=${id}) and a CloudWatch alarm on it.`, declaredBy.urn);
      } else if (!targets.length) {
        report(`The staleness alarm of ${id} notifies nobody: its actions must include an SNS topic with a subscriber.`, alarm.urn);
      } else if (blocked.every(([, why]) => why !== null)) {
        const [t, why] = blocked[0] as readonly [PolicyResource, string];
        report(`The staleness alarm of ${id} cannot notify: CloudWatch cannot publish to topic ${t.props.name ?? t.name} because ${why}. Encrypt the topic with a customer-managed key whose policy grants the cloudwatch.amazonaws.com service kms:Decrypt and kms:GenerateDataKey*.`, alarm.urn);
      }
    }
  },
};
