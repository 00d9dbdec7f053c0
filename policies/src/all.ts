/** Every dr-posture policy, in the order reports list them. */
import type { Policies } from "@pulumi/policy";
import { s3KmsEncryption, s3NoPublicAccess, s3Versioning } from "./bucketSecurity";
import { assetsCovered } from "./coverage";
import { backupFrequencyMeetsRpo } from "./frequency";
import { copiesInTwoProviders } from "./isolation";
import { backupIdentityLeastPrivilege } from "./leastPrivilege";
import { r2BucketLock, s3ObjectLock } from "./immutability";
import { postureMonthlyCost } from "./monthlyCost";
import { neonRestoreWindow } from "./neon";
import { restoreTestsScheduled } from "./restoreTests";
import { retentionMinimums } from "./retention";
import { workerSecretsAreSecret } from "./secrets";

export const drposturePolicies: Policies = [
  backupFrequencyMeetsRpo,
  neonRestoreWindow,
  retentionMinimums,
  s3ObjectLock,
  r2BucketLock,
  s3Versioning,
  s3KmsEncryption,
  s3NoPublicAccess,
  backupIdentityLeastPrivilege,
  copiesInTwoProviders,
  workerSecretsAreSecret,
  assetsCovered,
  restoreTestsScheduled,
  postureMonthlyCost,
];
