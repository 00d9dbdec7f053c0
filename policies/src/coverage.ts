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

export const assetsCovered: StackValidationPolicy = {
  name: "assets-covered",
  description:
    "Every protected asset (declared by a DisasterRecovery component or a backup Worker's plan) has a backup job (planned on a Worker with the matching cron trigger), a failure alert (the Worker has a webhook or an SNS topic with a subscriber) and a staleness alert (a CloudWatch alarm on the asset's manifest uploads whose actions reach a topic with a subscriber).",
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
      const reaches =
        alarm &&
        ((alarm.props.alarmActions ?? []) as string[]).some((arn) => arns.has(arn)) ||
        (alarm && (alarm.propertyDependencies?.alarmActions ?? []).some((d) => topics.has(d)));
      if (!alarm) {
        report(`${id} has no staleness alarm: add an S3 request metric filtered on its manifests (tag drposture-asset=${id}) and a CloudWatch alarm on it.`, declaredBy.urn);
      } else if (!reaches) {
        report(`The staleness alarm of ${id} notifies nobody: its actions must include an SNS topic with a subscriber.`, alarm.urn);
      }
    }
  },
};
