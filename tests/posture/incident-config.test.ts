/**
 * `drposture:incident`: each rule names the config path, says what is allowed and shows what was
 * given; the defaults (P0-P3, T+0/10/30/60) are resolved in the posture when nothing is declared.
 */
import { describe, expect, it } from "vitest";
import { PostureConfigError } from "../../lib/posture/errors";
import { DEFAULT_ESCALATION, DEFAULT_SEVERITIES } from "../../lib/posture/incidentConfig";
import { parsePosture } from "../../lib/posture/model";

function raw(incident?: unknown): Record<string, unknown> {
  return {
    environment: "prod",
    primaryRegion: "us-east-1",
    cloudflare: { accountId: "4b3f2f0e9c1d4a7e8f6a5b4c3d2e1f09" },
    targets: { rpoMinutes: 60, rtoMinutes: 240 },
    assets: { d1: [{ name: "app-db", databaseId: "6f1c2b7e-2d4a-4c1e-9b3f-8a7d6c5e4f31" }] },
    retention: { daily: 35, weekly: 12, monthly: 12 },
    vault: { s3Region: "eu-central-1" },
    ...(incident === undefined ? {} : { incident }),
  };
}

function problems(incident: unknown): string[] {
  try {
    parsePosture(raw(incident), "prod");
  } catch (err) {
    expect(err).toBeInstanceOf(PostureConfigError);
    return (err as PostureConfigError).problems;
  }
  throw new Error("expected the incident config to be rejected");
}

const sev = (name: string, respondWithinMinutes: number, meaning = "something") => ({ name, meaning, respondWithinMinutes });
const who = (role: string, name = "Dana", reach = "+1 555 0100") => ({ role, name, reach });

describe("drposture:incident", () => {
  it("absent: the default severities (P0-P3: 15/60/240/1440 min) and escalation (T+0/10/30/60), no contacts, no status page", () => {
    const i = parsePosture(raw(), "prod").incident;
    expect(i.severities.map((s) => [s.name, s.respondWithinMinutes])).toEqual([["P0", 15], ["P1", 60], ["P2", 240], ["P3", 1440]]);
    expect(i.escalation.map((e) => e.afterMinutes)).toEqual([0, 10, 30, 60]);
    expect(i).toMatchObject({ contacts: [], statusPage: null, defaulted: { severities: true, escalation: true } });
  });

  it("declared: kept as written, in order; only the parts left out are defaulted", () => {
    const incident = {
      severities: [sev("SEV1", 15, "all users down or data loss"), sev("SEV2", 15), sev("SEV3", 240)],
      contacts: [who("incident-commander"), who("incident-commander", "Backup"), who("security", "Sec team", "security@example.com")],
      statusPage: "https://status.example.com/acme",
    };
    const i = parsePosture(raw(incident), "prod").incident;
    expect(i.severities).toEqual(incident.severities);
    expect(i.contacts).toEqual(incident.contacts);
    expect(i.escalation).toEqual(DEFAULT_ESCALATION);
    expect(i.statusPage).toBe("https://status.example.com/acme");
    expect(i.defaulted).toEqual({ severities: false, escalation: true });
    expect(DEFAULT_SEVERITIES).toHaveLength(4);
  });

  it("free text that looks like code or HTML is valid: it is escaped where it is printed, never run", () => {
    const hostile = `$(touch PWNED) \`id\` <script>alert(1)</script> | ** [x](javascript:alert(1)) ' "`;
    expect(parsePosture(raw({ contacts: [who("scribe", hostile, hostile)] }), "prod").incident.contacts[0]?.name).toBe(hostile);
  });

  it.each([
    ["duplicate severity names (case ignored)", { severities: [sev("SEV1", 15), sev("sev1", 60)] }, 'drposture:incident.severities[1].name: duplicates severities[0].name: severity names must be unique (case ignored), got "sev1"'],
    ["a less severe level answered faster", { severities: [sev("P0", 60), sev("P1", 15)] }, "drposture:incident.severities[1].respondWithinMinutes: must be >= 60 (P0's): list severities most severe first, each answered no faster than the one before, got 15"],
    ["a severity name with spaces", { severities: [sev("Sev 1", 15)] }, "drposture:incident.severities[0].name: must be 1-20 letters, digits, '-' or '_', starting with a letter or digit (e.g. P0, SEV1), got \"Sev 1\""],
    ["no severities", { severities: [] }, "drposture:incident.severities: must be >= 1 item(s), got 0"],
    ["a response time of 0", { severities: [sev("P0", 0)] }, "drposture:incident.severities[0].respondWithinMinutes: must be >= 1, got 0"],
    ["a response time over a week", { severities: [sev("P0", 20000)] }, "drposture:incident.severities[0].respondWithinMinutes: must be <= 10080, got 20000"],
    ["escalation not in increasing order", { escalation: [{ afterMinutes: 10, to: "a" }, { afterMinutes: 10, to: "b" }] }, "drposture:incident.escalation[1].afterMinutes: must be > 10 (escalation[0].afterMinutes): list the steps in increasing afterMinutes, got 10"],
    ["escalation going back in time", { escalation: [{ afterMinutes: 30, to: "a" }, { afterMinutes: 5, to: "b" }] }, "drposture:incident.escalation[1].afterMinutes: must be > 30"],
    ["a negative escalation step", { escalation: [{ afterMinutes: -1, to: "a" }] }, "drposture:incident.escalation[0].afterMinutes: must be >= 0, got -1"],
    ["a status page over http", { statusPage: "http://status.example.com" }, 'drposture:incident.statusPage: must be an https:// URL with a domain name, got "http://status.example.com"'],
    ["a status page that is not a URL", { statusPage: "status page" }, "drposture:incident.statusPage: must be an https:// URL with a domain name"],
    ["a status page with markup", { statusPage: 'https://status.example.com/"><script>' }, "drposture:incident.statusPage: must be a plain URL: no spaces, quotes or angle brackets"],
    ["an empty name", { contacts: [who("scribe", "")] }, 'drposture:incident.contacts[0].name: must not be empty (the person or rota), got ""'],
    ["a blank reach", { contacts: [who("scribe", "Dana", "   ")] }, 'drposture:incident.contacts[0].reach: must not be empty (how to reach them), got "   "'],
    ["a newline in a name", { contacts: [who("scribe", "Dana\n| x | y |")] }, 'drposture:incident.contacts[0].name: must be one line of printable text: no newline, tab or other control character (the person or rota), got "Dana\\n| x | y |"'],
    ["a tab in a meaning", { severities: [sev("P0", 15, "a\tb")] }, "drposture:incident.severities[0].meaning: must be one line of printable text"],
    ["a Unicode line separator", { escalation: [{ afterMinutes: 0, to: "a\u2028b" }] }, "drposture:incident.escalation[0].to: must be one line of printable text"],
    ["a bidirectional override", { contacts: [who("scribe", "Dana \u202Eevil")] }, "drposture:incident.contacts[0].name: must be one line of printable text"],
    ["an escape sequence", { contacts: [who("scribe", "\u001b[31mred")] }, "drposture:incident.contacts[0].name: must be one line of printable text"],
    ["surrounding spaces", { contacts: [who("scribe", " Dana")] }, 'drposture:incident.contacts[0].name: must not start or end with spaces (the person or rota), got " Dana"'],
    ["free text over 200 characters", { contacts: [who("scribe", "x".repeat(201))] }, "drposture:incident.contacts[0].name: must be <= 200 character(s), got 201"],
    ["a near miss of a documented role", { contacts: [who("incident-comander")] }, 'drposture:incident.contacts[0].role: is not a documented role; did you mean incident-commander? (documented: incident-commander, communications, scribe; other roles are allowed when clearly different), got "incident-comander"'],
    ["a role in capitals", { contacts: [who("Scribe")] }, "drposture:incident.contacts[0].role: must be a lowercase role name (1-40 of a-z, 0-9, '-'), e.g. incident-commander, communications, scribe, got \"Scribe\""],
    ["an unknown key", { pager: "x" }, "drposture:incident.pager: unknown key; known keys: severities, contacts, escalation, statusPage"],
    ["an unknown key in a contact", { contacts: [{ ...who("scribe"), phone: "1" }] }, "drposture:incident.contacts[0].phone: unknown key"],
  ])("%s", (_label, incident, expected) => {
    expect(problems(incident).join("\n")).toContain(expected);
  });

  it("other roles are allowed when clearly not a documented one", () => {
    const roles = ["security", "database-owner", "vendor-liaison", "executive"];
    expect(parsePosture(raw({ contacts: roles.map((r) => who(r)) }), "prod").incident.contacts.map((c) => c.role)).toEqual(roles);
  });
});
