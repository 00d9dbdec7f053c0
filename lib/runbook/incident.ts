/**
 * Incident response, from `drposture:incident`: the severity matrix, roles and contacts, the
 * escalation timings and the four status-update templates. Free text from the config goes
 * through mdText; the status page URL is validated as a plain https URL and printed as a link.
 */
import { DOCUMENTED_ROLES, type IncidentPosture } from "../posture/incidentConfig";
import type { Ctx } from "./context";
import { mdText, mins, row } from "./markdown";

const DUTIES: Record<(typeof DOCUMENTED_ROLES)[number], string> = {
  "incident-commander": "owns the incident: sets the severity, picks the scenario, decides every restore (`--from`, target, `--mode`) and when it is over; does not run the commands",
  communications: "posts the status updates below on the status page and internally, on time, and answers questions so the commander is not interrupted",
  scribe: "keeps the incident record below as it happens: times (UTC), decisions, commands run and their output (backup ids, counts)",
};

function severityMatrix(i: IncidentPosture): string[] {
  return [
    "### Severity",
    "",
    "| Severity | Meaning | First response within |",
    "| --- | --- | --- |",
    ...i.severities.map((s) => row([`**${mdText(s.name)}**`, mdText(s.meaning), mins(s.respondWithinMinutes)])),
    "",
    ...(i.defaulted.severities ? ["(The default levels; declare your own in `drposture:incident.severities`.)", ""] : []),
    "Any data loss, or a restore of production data, is at least the most severe level until the scope is known.",
    "",
  ];
}

function rolesAndContacts(i: IncidentPosture): string[] {
  const documented = DOCUMENTED_ROLES as readonly string[];
  const others = [...new Set(i.contacts.map((c) => c.role).filter((r) => !documented.includes(r)))];
  const whoFor = (role: string) => i.contacts.filter((c) => c.role === role);
  const lines = ["### Roles and contacts", "", "| Role | Duty | Who | Reach |", "| --- | --- | --- | --- |"];
  for (const role of DOCUMENTED_ROLES) {
    const who = whoFor(role);
    if (!who.length) lines.push(row([`**${role}**`, DUTIES[role], "*not declared: the first responder takes it until handed over*", ""]));
    who.forEach((c, k) => lines.push(row([k === 0 ? `**${role}**` : `${role} (backup)`, k === 0 ? DUTIES[role] : "", mdText(c.name), mdText(c.reach)])));
  }
  for (const role of others) whoFor(role).forEach((c, k) => lines.push(row([k === 0 ? `**${mdText(role)}**` : `${mdText(role)} (backup)`, "", mdText(c.name), mdText(c.reach)])));
  lines.push("", ...(i.contacts.length ? [] : ["Declare who holds each role in `drposture:incident.contacts`.", ""]));
  return lines;
}

function escalation(i: IncidentPosture): string[] {
  return [
    "### Escalation",
    "",
    "If the incident is not under control (commander named, scenario chosen, users told), page the next step:",
    "",
    "| After detection | Page |",
    "| --- | --- |",
    ...i.escalation.map((e) => row([`T+${e.afterMinutes === 0 ? "0" : mins(e.afterMinutes)}`, mdText(e.to)])),
    "",
    ...(i.defaulted.escalation ? ["(The default steps; declare your own in `drposture:incident.escalation`.)", ""] : []),
  ];
}

/** The status page as validation allows it (a plain https URL); anything else (a posture built
 * without validation) is not printed as a link or inside the text blocks. */
const plainUrl = (url: string | null): string | null => (url && /^https:\/\/[A-Za-z0-9.-]+(\/[^\s<>"'`\\]*)?$/.test(url) ? url : null);

/** The four updates, each a fill-in text block; the status page is where they go. */
function statusTemplates(i: IncidentPosture): string[] {
  const page = plainUrl(i.statusPage);
  const where = page ? `Post each on <${page}> and in the internal incident channel.` : "Post each on the status page and in the internal incident channel (declare the page in `drposture:incident.statusPage`).";
  const link = page ? ` Follow updates at ${page}.` : "";
  const block = (title: string, text: string) => [`**${title}**`, "", "```text", text, "```", ""];
  return [
    "### Status updates",
    "",
    `${where} Update at least every 30 minutes while the incident is open, even with nothing new.`,
    "",
    ...block("Investigating", `[Investigating] We are investigating <what users see: errors, slowness, missing data> affecting <who>. Started at <HH:MM> UTC. Next update by <HH:MM> UTC.${link}`),
    ...block("Identified", `[Identified] The cause is identified: <cause, in plain words>. We are <restoring from backup / rolling back / failing over>. Data written after <HH:MM> UTC may <be delayed / need to be re-entered>. Next update by <HH:MM> UTC.${link}`),
    ...block("Monitoring", `[Monitoring] A fix is in place since <HH:MM> UTC and we are watching the results. <What users may still notice>. Next update by <HH:MM> UTC.${link}`),
    ...block("Resolved", `[Resolved] Resolved at <HH:MM> UTC. From <start> to <end> UTC, <impact>. <Data lost or restored, if any>. A post-incident review follows within 48 hours.${link}`),
  ];
}

export function incidentResponse(c: Ctx): string[] {
  const i = c.p.incident;
  return ["## Incident response", "", ...severityMatrix(i), ...rolesAndContacts(i), ...escalation(i), ...statusTemplates(i)];
}
