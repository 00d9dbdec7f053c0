/**
 * dr-posture: read the stack config, declare the environment's DR posture, export what an
 * operator needs to run backups, verification and restores.
 */
import { DisasterRecovery } from "./components/DisasterRecovery";
import { loadPostureFromStackConfig } from "./lib/posture/pulumiConfig";

const { posture, secrets } = loadPostureFromStackConfig();
const dr = new DisasterRecovery(`drposture-${posture.stack}`, { posture, secrets });

export const environment = posture.environment;
export const r2BackupBucket = dr.vault.r2BucketName;
export const s3BackupBucket = dr.vault.s3BucketName;
export const s3BackupBucketArn = dr.vault.s3BucketArn;
export const s3Region = dr.vault.s3Region;
export const kmsKeyArn = dr.vault.kmsKeyArn;
export const writerArn = dr.access.s3.writer.userArn;
export const verifierArn = dr.access.s3.verifier.userArn;
export const restorerArn = dr.access.s3.restorer.userArn;
// The writer's key is also the nightly pg_dump workflow's (.github/workflows/pg-backup.yml).
export const writerAccessKeyId = dr.access.s3.writer.accessKeyId;
export const writerSecretAccessKey = dr.access.s3.writer.secretAccessKey;
export const verifierAccessKeyId = dr.access.s3.verifier.accessKeyId;
export const verifierSecretAccessKey = dr.access.s3.verifier.secretAccessKey;
export const restorerAccessKeyId = dr.access.s3.restorer.accessKeyId;
export const restorerSecretAccessKey = dr.access.s3.restorer.secretAccessKey;
export const r2WriterAccessKeyId = dr.access.r2.writer.accessKeyId;
export const r2WriterSecretAccessKey = dr.access.r2.writer.secretAccessKey;
export const r2ReaderAccessKeyId = dr.access.r2.reader.accessKeyId;
export const r2ReaderSecretAccessKey = dr.access.r2.reader.secretAccessKey;
export const alertTopicArn = dr.alerts.topicArn;
export const stalenessAlarms = dr.alerts.alarmNames;
export const neonSettings = dr.neon?.applied;
export const backupWorker = dr.worker.scriptName;
export const backupWorkerVersion = dr.worker.version;
export const backupCrons = dr.worker.crons;
export const encryptionKeyId = dr.worker.keyId;
export const encryptionKeyEscrow = dr.worker.escrowSecretArn;
export const rpoRtoTable = dr.rpoRtoTable;
// `drposture backup now`: the Worker's workers.dev URL and the key that signs its requests (secret).
export const backupWorkerUrl = dr.worker.url;
export const backupTriggerKey = dr.worker.triggerKey;
// URNs the runbook's "leaked key" scenario passes to `pulumi up --replace`.
export const credentialUrns = {
  s3Writer: dr.access.s3.writer.keyUrn,
  s3Verifier: dr.access.s3.verifier.keyUrn,
  s3Restorer: dr.access.s3.restorer.keyUrn,
  r2Writer: dr.access.r2.writer.tokenUrn,
  r2Reader: dr.access.r2.reader.tokenUrn,
  backupTrigger: dr.worker.triggerKeyUrn,
};
