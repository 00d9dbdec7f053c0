/**
 * BackupWorker: the backup engine on Cloudflare.
 *  - the worker/ bundle (deterministic esbuild output) as a WorkersScript with its bindings:
 *    the protected D1/KV/R2 sources, the R2 backup bucket, the step queue, the plan (json),
 *    and every credential as a secret binding;
 *  - the minimal set of cron triggers derived from the assets' RPOs;
 *  - a queue and its consumer, so a large backup continues in steps (one per invocation);
 *  - restore testing, when on: the scratch resources (RestoreTesting) bound as RESTORE_TEST_*,
 *    the declared integrity checks as RESTORE_TEST_CHECKS, its schedule in the plan and its
 *    cron among the triggers;
 *  - the data-encryption key from @pulumi/random, escrowed in AWS Secrets Manager in the vault
 *    region under a name that carries its key id (so a rebuilt stack, with a new key, never
 *    collides with the secret kept from before), readable by the restorer identity: it survives
 *    the loss of Pulumi state and of the Cloudflare account;
 *  - `backup now`: a trigger key from @pulumi/random bound as TRIGGER_KEY (a secret of its own:
 *    it signs start requests and reads nothing), and the script on its workers.dev URL
 *    (https://SCRIPT.ACCOUNT-SUBDOMAIN.workers.dev), where only signed requests are served.
 */
import * as command from "@pulumi/command";
import * as aws from "@pulumi/aws";
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { createHmac } from "node:crypto";
import * as path from "node:path";
import { DEFAULT_LIMITS, PLAN_VERSION, RESTORE_TEST_BINDINGS, RESTORE_TEST_CHECKS_BINDING, sourceBindingName, type BackupPlan, type PlanAsset } from "../lib/backup/plan";
import { packAssets, PLAN_BINDING, planBindings, planPartName } from "../lib/backup/planBindings";
import { ABANDON_AFTER_MINUTES, QUEUE_MAX_CONCURRENCY, REPLICATION_LAG_MINUTES, STALE_GRACE_MINUTES, type Posture } from "../lib/posture/model";
import { checksTooLarge, restoreTestChecksJson } from "../lib/posture/restoreTesting";
import { bundleWorker } from "../lib/worker/bundle";
import type { ScratchResources } from "./RestoreTesting";

export const WORKER_COMPATIBILITY_DATE = "2026-04-01";
const SUBDOMAIN_SCRIPT = path.join(__dirname, "cloudflare", "workersDevSubdomain.ts");
const REGISTER = path.join(__dirname, "..", "cli", "register.cjs");
/** Attempts of one step before the backup is declared failed (worker/index.ts MAX_STEP_ATTEMPTS). */
export const STEP_MAX_RETRIES = 2;

export interface AccessKeyPair {
  readonly accessKeyId: pulumi.Input<string>;
  readonly secretAccessKey: pulumi.Input<string>;
}

export interface BackupWorkerArgs {
  /** The posture: assets, RPO-derived crons, tiers, Neon target. */
  readonly posture: Posture;
  /** Worker script name. */
  readonly scriptName: pulumi.Input<string>;
  /** Secondary R2 bucket (name, jurisdiction) the Worker writes first. */
  readonly r2Bucket: { readonly name: pulumi.Input<string>; readonly jurisdiction: pulumi.Input<string> };
  /** The S3 copy. */
  readonly s3Bucket: { readonly name: pulumi.Input<string>; readonly region: pulumi.Input<string> };
  /** S3 writer (put only) and verifier (read only) credentials. */
  readonly s3Writer: AccessKeyPair;
  readonly s3Verifier: AccessKeyPair;
  /** SNS alert topic and the publisher identity allowed to publish to it. */
  readonly alertTopic: { readonly arn: pulumi.Input<string>; readonly region: pulumi.Input<string>; readonly publisher: AccessKeyPair };
  /** Alert webhook (secret). */
  readonly alertWebhookUrl?: pulumi.Input<string>;
  /** Neon API key (secret) and API URL for the Neon check. */
  readonly neonApiKey?: pulumi.Input<string>;
  readonly neonApiUrl?: pulumi.Input<string>;
  /** Name prefix of the escrow secrets; each key's secret is `<prefix>/<keyId>`. */
  readonly escrowSecretPrefix: pulumi.Input<string>;
  /** Scratch resources of restore tests (RestoreTesting); required when posture.restoreTesting is set. */
  readonly restoreScratch?: ScratchResources;
}

type Binding = cloudflare.types.input.WorkersScriptBinding;

/** Key id as lib/format/keys.ts derives it (first 8 bytes of HMAC-SHA256(key, label)). */
export function keyIdOf(keyHex: string): string {
  return createHmac("sha256", Buffer.from(keyHex, "hex")).update("drposture/v1/key-id").digest().subarray(0, 8).toString("hex");
}

export class BackupWorker extends pulumi.ComponentResource {
  static readonly __pulumiType = "drposture:worker:BackupWorker";

  readonly scriptName: pulumi.Output<string>;
  readonly crons: string[];
  readonly keyId: pulumi.Output<string>;
  readonly escrowSecretArn: pulumi.Output<string>;
  readonly version: string;
  /** The Worker's workers.dev URL, where `drposture backup now` sends its signed requests. */
  readonly url: pulumi.Output<string>;
  /** The key that signs those requests (secret; 64 hex). */
  readonly triggerKey: pulumi.Output<string>;
  /** Its URN: `pulumi up --replace` it to rotate a leaked trigger key. */
  readonly triggerKeyUrn: pulumi.Output<string>;

  constructor(name: string, args: BackupWorkerArgs, opts?: pulumi.ComponentResourceOptions) {
    const p = args.posture;
    const bundle = bundleWorker();
    const rt = p.restoreTesting;
    // Cloudflare caps cron triggers per account (250 on Workers Paid), not per Worker; the
    // restore-test cron (minute 41) never coincides with a backup cron (minutes 0, */N and 17).
    const crons = [...p.cronSchedule.map((g) => g.cron), ...(rt ? [rt.cron] : [])];
    super(
      BackupWorker.__pulumiType,
      name,
      { scriptName: args.scriptName, crons, schedule: p.cronSchedule, version: bundle.version, assets: p.assets.map((a) => ({ id: a.id, rpoMinutes: a.rpoMinutes, cron: a.backupCron })) },
      opts,
    );
    const parent = { parent: this };
    const accountId = p.accountId;

    // --- the data-encryption key and its escrow ---
    const dataKey = new random.RandomBytes(`${name}-data-key`, { length: 32 }, { ...parent, additionalSecretOutputs: ["hex", "base64"] });
    // The key id is public (every manifest and artifact names it); the key is not.
    this.keyId = pulumi.unsecret(dataKey.hex.apply(keyIdOf));
    const escrow = new aws.secretsmanager.Secret(
      `${name}-key-escrow`,
      {
        region: args.s3Bucket.region,
        name: pulumi.interpolate`${args.escrowSecretPrefix}/${this.keyId}`,
        description: "dr-posture backup data-encryption key (escrow): restores need it when Pulumi state is gone",
        recoveryWindowInDays: 30,
      },
      { parent: this, retainOnDelete: true },
    );
    new aws.secretsmanager.SecretVersion(
      `${name}-key-escrow-version`,
      {
        region: args.s3Bucket.region,
        secretId: escrow.id,
        secretString: pulumi.secret(pulumi.jsonStringify({ keyId: this.keyId, keyHex: dataKey.hex, format: "drposture/v1", stack: p.stack })),
      },
      { parent: this, retainOnDelete: true },
    );
    this.escrowSecretArn = escrow.arn;

    // --- the backup-now trigger key: apart from the data key, so a leak starts backups, reads nothing ---
    const triggerKey = new random.RandomBytes(`${name}-trigger-key`, { length: 32 }, { ...parent, additionalSecretOutputs: ["hex", "base64"] });

    // --- queue for multi-step backups ---
    const queue = new cloudflare.Queue(`${name}-steps`, { accountId, queueName: pulumi.interpolate`${args.scriptName}-steps` }, parent);

    // --- the plan the Worker follows (no secrets in it) ---
    const planAssets: PlanAsset[] = p.assets.map((a) => ({
      kind: a.kind,
      name: a.name,
      sourceId: a.sourceId,
      ...(a.kind === "neon" ? {} : { binding: sourceBindingName(a.kind, a.name) }),
      rpoMinutes: a.rpoMinutes,
      cron: a.backupCron,
      priority: a.priority,
      rtoMinutes: a.rtoMinutes,
      health: a.health,
    }));
    const plan: pulumi.Output<BackupPlan> = pulumi
      .all([args.r2Bucket.name, args.s3Bucket.name, args.s3Bucket.region, args.alertTopic.arn, args.alertTopic.region, args.neonApiUrl ?? ""])
      .apply(([r2Name, s3Name, s3Region, topicArn, topicRegion, neonApiUrl]): BackupPlan => ({
        version: PLAN_VERSION,
        stack: p.stack,
        environment: p.environment,
        assets: planAssets,
        tiers: p.tiers,
        destinations: {
          r2: { bucketName: r2Name },
          s3: { endpoint: `https://s3.${s3Region}.amazonaws.com`, bucket: s3Name, region: s3Region, lockMode: p.vault.objectLockMode, addressing: "virtual" as const },
        },
        ...(p.neon ? { neon: { projectId: p.neon.projectId, branchId: p.neon.branchId, apiUrl: neonApiUrl || "https://console.neon.tech/api/v2", restoreWindowDays: p.neon.restoreWindowDays } } : {}),
        alerts: {
          webhookFormat: p.alerts.webhookFormat,
          staleGraceMinutes: STALE_GRACE_MINUTES,
          replicationLagMinutes: REPLICATION_LAG_MINUTES,
          sns: { topicArn, region: topicRegion },
        },
        limits: DEFAULT_LIMITS,
        ...(rt ? { restoreTesting: { everyDays: rt.everyDays, cron: rt.cron, periodHours: rt.periodHours } } : {}),
        abandonAfterMinutes: ABANDON_AFTER_MINUTES,
      }));

    // The assets depend on posture values only, so their parts are plain JSON known now.
    const planParts = packAssets(planAssets);
    const secret = (bindingName: string, value: pulumi.Input<string>): cloudflare.types.input.WorkersScriptBinding => ({ type: "secret_text", name: bindingName, text: pulumi.secret(value) });
    const sources = p.assets.flatMap((a): Binding[] => {
      const binding = sourceBindingName(a.kind, a.name);
      if (a.kind === "d1") return [{ type: "d1", name: binding, id: a.sourceId }];
      if (a.kind === "kv") return [{ type: "kv_namespace", name: binding, namespaceId: a.sourceId }];
      if (a.kind === "r2") return [{ type: "r2_bucket", name: binding, bucketName: a.sourceId, ...(a.jurisdiction && a.jurisdiction !== "default" ? { jurisdiction: a.jurisdiction } : {}) }];
      return [];
    });
    const script = new cloudflare.WorkersScript(
      `${name}-script`,
      {
        accountId,
        scriptName: args.scriptName,
        content: bundle.content,
        mainModule: "index.js",
        compatibilityDate: WORKER_COMPATIBILITY_DATE,
        compatibilityFlags: ["nodejs_compat"],
        observability: { enabled: true },
        bindings: [
          ...sources,
          {
            type: "r2_bucket",
            name: "BACKUP_R2",
            bucketName: args.r2Bucket.name,
            jurisdiction: pulumi.output(args.r2Bucket.jurisdiction).apply((j) => (j === "default" ? undefined : j)),
          },
          { type: "queue", name: "BACKUP_QUEUE", queueName: queue.queueName },
          // The plan in bindings of at most 5 KB each (Cloudflare's limit per variable).
          { type: "json", name: PLAN_BINDING, json: plan.apply((pl) => planBindings(pl)[PLAN_BINDING] as string) },
          ...planParts.map((part, i): Binding => ({ type: "json", name: planPartName(i), json: JSON.stringify(part) })),
          { type: "plain_text", name: "WORKER_VERSION", text: bundle.version },
          secret("ENCRYPTION_KEY", dataKey.hex),
          secret("TRIGGER_KEY", triggerKey.hex),
          secret("S3_WRITER_ACCESS_KEY_ID", args.s3Writer.accessKeyId),
          secret("S3_WRITER_SECRET_ACCESS_KEY", args.s3Writer.secretAccessKey),
          secret("S3_VERIFIER_ACCESS_KEY_ID", args.s3Verifier.accessKeyId),
          secret("S3_VERIFIER_SECRET_ACCESS_KEY", args.s3Verifier.secretAccessKey),
          secret("SNS_ACCESS_KEY_ID", args.alertTopic.publisher.accessKeyId),
          secret("SNS_SECRET_ACCESS_KEY", args.alertTopic.publisher.secretAccessKey),
          ...(args.alertWebhookUrl ? [secret("ALERT_WEBHOOK_URL", args.alertWebhookUrl)] : []),
          ...(args.neonApiKey ? [secret("NEON_API_KEY", args.neonApiKey)] : []),
          ...restoreTestBindings(p, args.restoreScratch),
        ],
      },
      parent,
    );

    new cloudflare.QueueConsumer(
      `${name}-consumer`,
      {
        accountId,
        queueId: queue.queueId,
        scriptName: script.scriptName,
        type: "worker",
        // One step per invocation: each step's budget is sized to one invocation's limits.
        settings: { batchSize: 1, maxRetries: STEP_MAX_RETRIES, maxWaitTimeMs: 1000, retryDelay: 10, maxConcurrency: QUEUE_MAX_CONCURRENCY },
      },
      parent,
    );
    new cloudflare.WorkersCronTrigger(`${name}-crons`, { accountId, scriptName: script.scriptName, schedules: crons.map((cron) => ({ cron })) }, parent);

    // --- the workers.dev URL: the script's route on (previews off), and the account's subdomain ---
    new cloudflare.WorkersScriptSubdomain(`${name}-workers-dev`, { accountId, scriptName: script.scriptName, enabled: true, previewsEnabled: false }, parent);
    const subdomain = new command.local.Command(
      `${name}-workers-dev-subdomain`,
      { create: `node -r ${JSON.stringify(REGISTER)} ${JSON.stringify(SUBDOMAIN_SCRIPT)}`, environment: { CLOUDFLARE_ACCOUNT_ID: accountId } },
      parent,
    );
    this.url = pulumi.interpolate`https://${script.scriptName}.${subdomain.stdout.apply((s) => s.trim())}.workers.dev`;
    this.triggerKey = pulumi.secret(triggerKey.hex);
    this.triggerKeyUrn = triggerKey.urn;

    this.scriptName = script.scriptName;
    this.crons = crons;
    this.version = bundle.version;
    this.registerOutputs({ scriptName: this.scriptName, crons, keyId: this.keyId, escrowSecretArn: this.escrowSecretArn, version: bundle.version, url: this.url, triggerKey: this.triggerKey });
  }
}

/** RESTORE_TEST_D1/KV/R2 for the scratch resources of the kinds the stack has, and the declared
 * checks as RESTORE_TEST_CHECKS; none when restore testing is off. */
function restoreTestBindings(p: Posture, scratch: ScratchResources | undefined): Binding[] {
  if (!p.restoreTesting) return [];
  const kinds = new Set(p.assets.map((a) => a.kind));
  const missing = (["d1", "kv", "r2"] as const).filter((k) => kinds.has(k) && !scratch?.[k]);
  if (missing.length) throw new pulumi.RunError(`restore testing needs a scratch ${missing.join(", ")} resource (RestoreTesting) for the backup Worker`);
  const checks = restoreTestChecksJson(p.integrity);
  // The schema refuses this first, with the config path; kept so no caller can bind an oversized variable.
  const tooLarge = checksTooLarge(checks);
  if (tooLarge) throw new pulumi.RunError(`drposture:integrity: ${tooLarge}`);
  const r2 = scratch?.r2;
  return [
    ...(scratch?.d1 ? [{ type: "d1", name: RESTORE_TEST_BINDINGS.d1, id: scratch.d1.id }] : []),
    ...(scratch?.kv ? [{ type: "kv_namespace", name: RESTORE_TEST_BINDINGS.kv, namespaceId: scratch.kv.id }] : []),
    ...(r2 ? [{ type: "r2_bucket", name: RESTORE_TEST_BINDINGS.r2, bucketName: r2.name, ...(r2.jurisdiction === "default" ? {} : { jurisdiction: r2.jurisdiction }) }] : []),
    { type: "json", name: RESTORE_TEST_CHECKS_BINDING, json: checks },
  ];
}
