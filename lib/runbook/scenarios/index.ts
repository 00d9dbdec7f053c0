/** Every scenario, in the order the runbook prints them. Slugs are stable names for `--scenario`. */
import { accidentalDeletion } from "./accidentalDeletion";
import { awsLost } from "./awsLost";
import { badDeploy } from "./badDeploy";
import { badMigration } from "./badMigration";
import { cloudflareLost } from "./cloudflareLost";
import { leakedKey } from "./leakedKey";
import { neonOutage } from "./neonOutage";
import { partialRestore } from "./partialRestore";
import type { Scenario } from "./scenario";
import { verificationFailure } from "./verificationFailure";
import { workersOutage } from "./workersOutage";

export type { Scenario } from "./scenario";
export { renderScenario } from "./scenario";

export const SCENARIOS: readonly Scenario[] = [
  neonOutage,
  badMigration,
  accidentalDeletion,
  leakedKey,
  awsLost,
  cloudflareLost,
  workersOutage,
  verificationFailure,
  partialRestore,
  badDeploy,
];

export const SCENARIO_SLUGS: readonly string[] = SCENARIOS.map((s) => s.slug);
