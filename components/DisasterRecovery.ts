/**
 * DisasterRecovery: the whole DR posture of one environment, built from the posture model.
 * Its own inputs carry the posture values (targets, tiers, lock mode...) so the policy pack
 * can judge the component as well as the resources under it.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Posture } from "../lib/posture/model";
import { resourceNames } from "../lib/posture/naming";
import type { PostureSecrets } from "../lib/posture/pulumiConfig";
import { AlertRules } from "./AlertRules";
import { BackupAccess } from "./BackupAccess";
import { BackupVault } from "./BackupVault";
import { BackupWorker } from "./BackupWorker";
import { NeonPitr } from "./NeonPitr";
import { RestoreTesting, type ScratchKind } from "./RestoreTesting";

export interface DisasterRecoveryArgs {
  /** The validated posture (see lib/posture/model.ts). */
  readonly posture: Posture;
  /** Secret config values, as secret Outputs. */
  readonly secrets: PostureSecrets;
  /** Neon API base URL override (tests point it at the stand-in). */
  readonly neonApiUrl?: pulumi.Input<string>;
}

export interface RpoRtoRow {
  asset: string;
  kind: string;
  rpoMinutes: number;
  rtoMinutes: number;
  priority: number;
  backupCron: string;
}

export class DisasterRecovery extends pulumi.ComponentResource {
  static readonly __pulumiType = "drposture:index:DisasterRecovery";

  readonly vault: BackupVault;
  readonly access: BackupAccess;
  readonly alerts: AlertRules;
  readonly worker: BackupWorker;
  readonly neon?: NeonPitr;
  readonly restoreTesting?: RestoreTesting;
  readonly rpoRtoTable: RpoRtoRow[];

  constructor(name: string, args: DisasterRecoveryArgs, opts?: pulumi.ComponentResourceOptions) {
    const p = args.posture;
    super(DisasterRecovery.__pulumiType, name, postureInputs(p), opts);
    const parent = { parent: this };
    const names = resourceNames(pulumi.getProject(), p.stack);
    const namePrefix = names.prefix;
    const tags = { "drposture:stack": p.stack, "drposture:environment": p.environment };

    this.vault = new BackupVault(
      `${name}-vault`,
      {
        accountId: p.accountId,
        namePrefix,
        tiers: p.tiers,
        s3Region: p.vault.s3Region,
        ...(p.vault.r2Location ? { r2Location: p.vault.r2Location } : {}),
        r2Jurisdiction: p.vault.r2Jurisdiction,
        objectLockMode: p.vault.objectLockMode,
        tags,
      },
      parent,
    );

    this.access = new BackupAccess(
      `${name}-access`,
      {
        accountId: p.accountId,
        s3BucketArn: this.vault.s3BucketArn,
        kmsKeyArn: this.vault.kmsKeyArn,
        s3Region: p.vault.s3Region,
        r2BucketName: this.vault.r2BucketName,
        r2Jurisdiction: this.vault.r2Jurisdiction,
        tiers: p.tiers,
        namePrefix,
        escrowSecretPrefix: names.escrowSecret,
      },
      parent,
    );

    this.alerts = new AlertRules(
      `${name}-alerts`,
      {
        accountId: p.accountId,
        namePrefix,
        region: p.vault.s3Region,
        emails: p.alerts.emails,
        ...(args.secrets.alertWebhookUrl ? { webhookUrl: args.secrets.alertWebhookUrl } : {}),
        webhookFormat: p.alerts.webhookFormat,
        cloudflareWebhook: p.alerts.cloudflareWebhook,
        ...(p.alerts.cloudflarePagerDutyId ? { cloudflarePagerDutyId: p.alerts.cloudflarePagerDutyId } : {}),
        s3BucketName: this.vault.s3BucketName,
        staleness: p.assets.map((a) => ({ assetId: a.id, rpoMinutes: a.rpoMinutes })),
      },
      parent,
    );

    if (p.restoreTesting) {
      const kinds = (["d1", "kv", "r2"] as const).filter((k): k is ScratchKind => p.assets.some((a) => a.kind === k));
      this.restoreTesting = new RestoreTesting(
        `${name}-restore-testing`,
        {
          accountId: p.accountId,
          scratchName: names.restoreScratch,
          kinds,
          jurisdiction: p.vault.r2Jurisdiction,
          ...(p.vault.r2Location ? { location: p.vault.r2Location } : {}),
          everyDays: p.restoreTesting.everyDays,
          cron: p.restoreTesting.cron,
          periodHours: p.restoreTesting.periodHours,
          rotation: p.restoreTesting.rotation,
        },
        parent,
      );
    }

    this.worker = new BackupWorker(
      `${name}-worker`,
      {
        posture: p,
        scriptName: names.worker,
        r2Bucket: { name: this.vault.r2BucketName, jurisdiction: this.vault.r2Jurisdiction },
        s3Bucket: { name: this.vault.s3BucketName, region: p.vault.s3Region },
        s3Writer: this.access.s3.writer,
        s3Verifier: this.access.s3.verifier,
        alertTopic: { arn: this.alerts.topicArn, region: p.vault.s3Region, publisher: this.alerts.publisher },
        ...(args.secrets.alertWebhookUrl ? { alertWebhookUrl: args.secrets.alertWebhookUrl } : {}),
        ...(args.secrets.neonApiKey ? { neonApiKey: args.secrets.neonApiKey } : {}),
        ...(args.neonApiUrl ? { neonApiUrl: args.neonApiUrl } : {}),
        escrowSecretPrefix: names.escrowSecret,
        ...(this.restoreTesting ? { restoreScratch: this.restoreTesting.scratch } : {}),
      },
      parent,
    );

    if (p.neon) {
      if (!args.secrets.neonApiKey) {
        throw new pulumi.RunError(
          "drposture:neonApiKey: is required when drposture:neon is set (pulumi config set --secret neonApiKey <key>)",
        );
      }
      this.neon = new NeonPitr(
        `${name}-neon`,
        {
          projectId: p.neon.projectId,
          branchId: p.neon.branchId,
          historyRetentionSeconds: p.neon.historyRetentionSeconds,
          snapshotSchedule: p.neon.snapshotSchedule,
          apiKey: args.secrets.neonApiKey,
          ...(args.neonApiUrl ? { apiUrl: args.neonApiUrl } : {}),
        },
        parent,
      );
    }

    this.rpoRtoTable = p.assets.map((a) => ({
      asset: a.id,
      kind: a.kind,
      rpoMinutes: a.rpoMinutes,
      rtoMinutes: a.rtoMinutes,
      priority: a.priority,
      backupCron: a.backupCron,
    }));
    this.registerOutputs({
      r2BucketName: this.vault.r2BucketName,
      s3BucketName: this.vault.s3BucketName,
      rpoRtoTable: this.rpoRtoTable,
    });
  }
}

/** The posture as the component's inputs: plain numbers the policy pack can compare. */
function postureInputs(p: Posture): Record<string, unknown> {
  return {
    stack: p.stack,
    environment: p.environment,
    primaryRegion: p.primaryRegion,
    assets: p.assets.map((a) => ({
      id: a.id,
      kind: a.kind,
      name: a.name,
      sourceId: a.sourceId,
      rpoMinutes: a.rpoMinutes,
      rtoMinutes: a.rtoMinutes,
      priority: a.priority,
      backupCron: a.backupCron,
    })),
    retention: p.retention,
    tiers: p.tiers,
    vault: p.vault,
    neon: p.neon ? { projectId: p.neon.projectId, branchId: p.neon.branchId, restoreWindowDays: p.neon.restoreWindowDays, plan: p.neon.plan, snapshots: p.neon.snapshots } : undefined,
    alerts: p.alerts,
    restoreTesting: p.restoreTesting ?? null,
    // Declared sizes: the policy pack's posture-monthly-cost estimates the cost from them.
    sizes: p.sizes ?? null,
  };
}
