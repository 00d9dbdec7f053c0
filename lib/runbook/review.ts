/** After the scenario: integrity checks after every restore, the incident record, the review. */
import type { Ctx } from "./context";
import { mdText, mins, row } from "./markdown";

/** Hours after resolution by which the post-incident review is held. */
export const REVIEW_DEADLINE_HOURS = 48;

export function afterEveryRestore(_c: Ctx): string[] {
  return [
    "## After every restore",
    "",
    "- Counts and checksums: `drposture restore ... --validate-only` prints what will be written; compare row/key/object counts with the manifest (`drposture list --json`).",
    "- No orphaned rows: every foreign key resolves (`PRAGMA foreign_key_check` on D1; for Postgres, a NOT EXISTS join per foreign key).",
    "- Sequences continue where they were (each owned sequence at or past its column's max).",
    "- The migration table's last entries are the expected ones (`d1_migrations`, `schema_migrations`).",
    "- Then the application's smoke tests of the critical paths (sign-in, checkout, upload).",
    "",
  ];
}

export function incidentRecord(_c: Ctx): string[] {
  return [
    "## Incident record (the scribe fills it in during the incident)",
    "",
    "```text",
    "Incident:                 Severity:            Commander:",
    "Detected at (UTC):        By (alert/person):",
    "Scenario:                 Assets affected:",
    "Decision (restore from / to, --from):",
    "Restore started:          Verified at:          RTO achieved vs target:",
    "Data lost (RPO achieved): Status updates sent (times):",
    "```",
    "",
  ];
}

export function postIncidentReview(c: Ctx): string[] {
  return [
    "## Post-incident review",
    "",
    `Held within **${REVIEW_DEADLINE_HOURS} hours** of the Resolved update, blameless, with the incident record at hand. Its output is a short document with:`,
    "",
    "1. **Timeline (UTC)**: detection, each escalation step, each decision, each restore started and verified, each status update, resolution.",
    "2. **Impact**: users and features affected, for how long; data lost (by asset: from when to when), data restored.",
    "3. **Root cause**: what failed, and why nothing stopped it earlier (alert, policy, review, test).",
    "4. **RTO and RPO achieved vs target**, per asset restored:",
    "",
    "| Asset | RTO target | RTO achieved | RPO target | RPO achieved (data lost) | Backup used |",
    "| --- | --- | --- | --- | --- | --- |",
    ...c.p.assets.map((a) => row([mdText(a.id), mins(a.rtoMinutes), "", mins(a.rpoMinutes), "", ""])),
    "",
    "5. **Follow-ups**, each with an owner and a due date: a stack config change (targets, retention)? a policy change? a new alert? a drill scenario (`drposture drill`) that reproduces this incident? a runbook change?",
    "",
  ];
}
