/**
 * `drposture:incident`: who answers an incident, how fast, and where users read about it. The
 * runbook renders it as the severity matrix, the roles and contacts, the escalation timings and
 * the status-update templates. Every part is optional: the defaults are the response times of the
 * DR plans we replace (P0 15 min … P3 24 h) and escalation at T+0/10/30/60 minutes.
 *
 * Free text (meanings, names, how to reach someone, escalation targets) is printed into Markdown
 * tables and HTML: one line of printable text, so it can neither break a table row nor smuggle a
 * line into a pasted block. The runbook escapes it on top of this; it never reaches a shell block.
 */
import { z } from "zod";
import { closest } from "./didYouMean";

/** The roles the runbook assigns duties to (incident commander, communications, scribe). */
export const DOCUMENTED_ROLES = ["incident-commander", "communications", "scribe"] as const;
/** Longest free-text value: a table cell, not a paragraph. */
export const FREE_TEXT_MAX = 200;
/** A week: the longest response time or escalation step that still describes an incident. */
const WEEK_MINUTES = 10080;

// C0/C1 controls (newline, tab, escape...), Unicode line/paragraph separators and the
// bidirectional overrides that make text display differently from what it holds.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** Said in the description of every free-text field (the config reference shows no length). */
const FREE_TEXT_RULE = `one line, at most ${FREE_TEXT_MAX} characters`;

const freeText = (what: string) =>
  z
    .string()
    .max(FREE_TEXT_MAX)
    .refine((v) => v.trim().length > 0, { error: `must not be empty (${what})` })
    .refine((v) => !UNPRINTABLE.test(v), { error: `must be one line of printable text: no newline, tab or other control character (${what})` })
    .refine((v) => v.trim() === v || v.trim() === "", { error: `must not start or end with spaces (${what})` });

const severityName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,19}$/, { error: "must be 1-20 letters, digits, '-' or '_', starting with a letter or digit (e.g. P0, SEV1)" })
  .meta({ description: "Severity name as people say it (P0, SEV1); unique." });

const minutes = (min: number) => z.number().int().min(min).max(WEEK_MINUTES);

const severity = z.strictObject({
  name: severityName,
  meaning: freeText("what makes an incident this severe").meta({ description: `What makes an incident this severe, e.g. "all users down or data loss" (${FREE_TEXT_RULE}).` }),
  respondWithinMinutes: minutes(1).meta({ description: "Time from detection to the first responder at work, minutes." }),
});

/** Roles: a lowercase slug. The three documented roles get duties in the runbook; a team may add
 * its own (security, database-owner, vendor-liaison: real incidents need them and a closed list
 * would push them into a wrong role), but a near miss of a documented role is a typo. */
const role = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,39}$/, { error: `must be a lowercase role name (1-40 of a-z, 0-9, '-'), e.g. ${DOCUMENTED_ROLES.join(", ")}` })
  .superRefine((v, ctx) => {
    const near = (DOCUMENTED_ROLES as readonly string[]).includes(v) ? undefined : closest(v, DOCUMENTED_ROLES);
    if (near) ctx.addIssue({ code: "custom", input: v, message: `is not a documented role; did you mean ${near}? (documented: ${DOCUMENTED_ROLES.join(", ")}; other roles are allowed when clearly different)` });
  })
  .meta({ description: `Role: ${DOCUMENTED_ROLES.join(", ")} (the runbook gives each its duties), or a role of your own (e.g. security).` });

const contact = z.strictObject({
  role,
  name: freeText("the person or rota").meta({ description: `Person or rota holding the role (${FREE_TEXT_RULE}).` }),
  reach: freeText("how to reach them").meta({ description: `How to reach them: phone, pager, chat handle (${FREE_TEXT_RULE}).` }),
});

const escalationStep = z.strictObject({
  afterMinutes: minutes(0).meta({ description: "Minutes after detection (0: at once)." }),
  to: freeText("who is paged at this step").meta({ description: `Who is paged or told at this step (${FREE_TEXT_RULE}).` }),
});

function uniqueSeverities(list: ReadonlyArray<z.output<typeof severity>>, ctx: z.RefinementCtx): void {
  const seen = new Map<string, number>();
  list.forEach((s, i) => {
    const key = s.name.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) ctx.addIssue({ code: "custom", path: [i, "name"], input: s.name, message: `duplicates severities[${first}].name: severity names must be unique (case ignored)` });
    else seen.set(key, i);
    const prev = list[i - 1];
    if (prev && s.respondWithinMinutes < prev.respondWithinMinutes) {
      ctx.addIssue({ code: "custom", path: [i, "respondWithinMinutes"], input: s.respondWithinMinutes, message: `must be >= ${prev.respondWithinMinutes} (${prev.name}'s): list severities most severe first, each answered no faster than the one before` });
    }
  });
}

function increasingSteps(list: ReadonlyArray<z.output<typeof escalationStep>>, ctx: z.RefinementCtx): void {
  list.forEach((step, i) => {
    const prev = list[i - 1];
    if (prev && step.afterMinutes <= prev.afterMinutes) {
      ctx.addIssue({ code: "custom", path: [i, "afterMinutes"], input: step.afterMinutes, message: `must be > ${prev.afterMinutes} (escalation[${i - 1}].afterMinutes): list the steps in increasing afterMinutes` });
    }
  });
}

export const incidentConfig = z
  .strictObject({
    severities: z
      .array(severity)
      .min(1)
      .max(10)
      .superRefine(uniqueSeverities)
      .optional()
      .meta({ description: "Severity levels, most severe first. Default: P0 15 min, P1 60, P2 240, P3 1440." }),
    contacts: z.array(contact).max(50).optional().meta({ description: "Who holds each role; several per role are allowed (primary first)." }),
    escalation: z
      .array(escalationStep)
      .min(1)
      .max(20)
      .superRefine(increasingSteps)
      .optional()
      .meta({ description: "Escalation steps in increasing afterMinutes. Default: T+0 on-call, T+10 incident commander, T+30 engineering lead, T+60 executive." }),
    statusPage: z
      .url({ protocol: /^https$/, hostname: z.regexes.domain, error: "must be an https:// URL with a domain name" })
      .max(FREE_TEXT_MAX)
      .refine((v) => !UNPRINTABLE.test(v) && !/[\s<>"'`]/.test(v), { error: "must be a plain URL: no spaces, quotes or angle brackets" })
      .optional()
      .meta({ description: "Public status page (https); the status-update templates link to it." }),
  })
  .optional()
  .meta({ description: "Incident response: severities with response times, roles and contacts, escalation timings, status page. Rendered into the runbook." });

export type IncidentConfig = NonNullable<z.output<typeof incidentConfig>>;

export interface IncidentPosture {
  readonly severities: ReadonlyArray<{ readonly name: string; readonly meaning: string; readonly respondWithinMinutes: number }>;
  readonly contacts: ReadonlyArray<{ readonly role: string; readonly name: string; readonly reach: string }>;
  readonly escalation: ReadonlyArray<{ readonly afterMinutes: number; readonly to: string }>;
  readonly statusPage: string | null;
  /** Which parts are the defaults (the runbook says so, and how to declare them). */
  readonly defaulted: { readonly severities: boolean; readonly escalation: boolean };
}

export const DEFAULT_SEVERITIES: IncidentPosture["severities"] = [
  { name: "P0", meaning: "Critical path down for all users, or data lost or exposed", respondWithinMinutes: 15 },
  { name: "P1", meaning: "Critical path down for some users, or a major feature down for all", respondWithinMinutes: 60 },
  { name: "P2", meaning: "Degraded service with a workaround; backups failing or stale", respondWithinMinutes: 240 },
  { name: "P3", meaning: "Minor issue without user impact now", respondWithinMinutes: 1440 },
];

export const DEFAULT_ESCALATION: IncidentPosture["escalation"] = [
  { afterMinutes: 0, to: "the on-call engineer (whoever receives the alert)" },
  { afterMinutes: 10, to: "the incident commander" },
  { afterMinutes: 30, to: "the engineering lead" },
  { afterMinutes: 60, to: "the executive on call" },
];

export function incidentPosture(cfg: IncidentConfig | undefined): IncidentPosture {
  return {
    severities: cfg?.severities ?? DEFAULT_SEVERITIES,
    contacts: cfg?.contacts ?? [],
    escalation: cfg?.escalation ?? DEFAULT_ESCALATION,
    statusPage: cfg?.statusPage ?? null,
    defaulted: { severities: !cfg?.severities, escalation: !cfg?.escalation },
  };
}
