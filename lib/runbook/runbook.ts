/**
 * The runbook, generated from the posture: every number and name comes from the stack config
 * and the naming of the components, so it cannot drift from what `pulumi up` built. Bucket
 * names carry a random suffix and are read from `pulumi stack output` (or, without Pulumi
 * state, from the account's bucket list).
 *
 * Layout: the header (targets, where everything is, the offline key copy), incident response
 * (severity, roles, escalation, status updates), one section per scenario, then the checks after
 * every restore, the incident record and the post-incident review. `scenario` keeps the header
 * and that one scenario.
 */
import type { Posture } from "../posture/model";
import { contextFor } from "./context";
import { incidentResponse } from "./incident";
import { offlineKeyCopy } from "./offlineKey";
import { overview } from "./overview";
import { afterEveryRestore, incidentRecord, postIncidentReview } from "./review";
import { renderScenario, SCENARIOS } from "./scenarios";

export { namesFor } from "./commands";
export { SCENARIO_SLUGS } from "./scenarios";

export function generateRunbook(p: Posture, generatedAt = new Date(), scenario?: string): string {
  const c = contextFor(p, generatedAt);
  const header = [...overview(c), ...offlineKeyCopy(c)];
  if (scenario !== undefined) {
    const one = SCENARIOS.find((s) => s.slug === scenario);
    if (!one) throw new Error(`unknown scenario ${scenario}`);
    return [...header, ...renderScenario(one, c)].join("\n");
  }
  return [...header, ...incidentResponse(c), ...SCENARIOS.flatMap((s) => renderScenario(s, c)), ...afterEveryRestore(c), ...incidentRecord(c), ...postIncidentReview(c)].join("\n");
}
