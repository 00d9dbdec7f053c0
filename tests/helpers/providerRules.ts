/**
 * Constraints the real providers and APIs enforce on the inputs this program registers, which
 * Pulumi mocks and TypeScript types do not. Each rule names its type token and the page the limit
 * comes from (found in the docs/pages/code corpora or /work/research/aws.md). A rule returns one
 * finding per offending input; `check` turns findings into messages naming resource and path.
 */
import type { Registration } from "../../lib/pulumi/registrations";
import { unwrapSecret } from "./program";

export type Registered = Pick<Registration, "urn" | "type" | "name" | "inputs">;

export interface Finding {
  readonly path: string;
  readonly value: unknown;
  readonly allowed: string;
}

export interface Rule {
  readonly id: string;
  /** Type token the rule applies to. */
  readonly type: string;
  readonly source: string;
  /** Findings for one resource; `all` is every registration, for cross-resource limits. */
  readonly check: (inputs: Record<string, unknown>, all: readonly Registered[]) => Finding[];
}

export interface Violation extends Finding {
  readonly rule: string;
  readonly resource: string;
  readonly source: string;
  readonly message: string;
}

/** Inputs with every Pulumi secret wrapper removed (values are checked, not their secrecy). */
export function plain(value: unknown): unknown {
  const v = unwrapSecret(value).value;
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

function plainInputs(r: Registered): Record<string, unknown> {
  return plain(r.inputs) as Record<string, unknown>;
}

/** Runs `rules` over `resources`; a rule sees only resources of its type. */
export function check(rules: readonly Rule[], resources: readonly Registered[]): Violation[] {
  const out: Violation[] = [];
  for (const rule of rules) {
    for (const r of resources.filter((x) => x.type === rule.type)) {
      for (const f of rule.check(plainInputs(r), resources)) {
        const message = `${r.urn}: ${f.path} = ${JSON.stringify(f.value)} — ${f.allowed} [${rule.id}; ${rule.source}]`;
        out.push({ ...f, rule: rule.id, resource: r.urn, source: rule.source, message });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// small helpers

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const obj = (v: unknown): Record<string, unknown> => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const find = (path: string, value: unknown, allowed: string): Finding => ({ path, value, allowed });

function intIn(path: string, v: unknown, min: number, max: number): Finding[] {
  if (v === undefined) return [];
  return isInt(v) && v >= min && v <= max ? [] : [find(path, v, `an integer in [${min}, ${max}]`)];
}

// ---------------------------------------------------------------------------------------------
// Cloudflare R2

const R2_DATA_LOCATION = "https://developers.cloudflare.com/r2/reference/data-location/";
// Location hints, table "Available hints".
export const R2_LOCATIONS = ["wnam", "enam", "weur", "eeur", "apac", "oc"] as const;
// "default" (no jurisdiction), "eu" and "fedramp" from the data-location page's "Available
// jurisdictions"; "us" added by https://developers.cloudflare.com/changelog/post/2026-08-17-r2-us-jurisdiction/
export const R2_JURISDICTIONS = ["default", "eu", "fedramp", "us"] as const;
// https://developers.cloudflare.com/r2/buckets/storage-classes/ : Standard, Infrequent Access;
// API spelling from Cloudflare's OpenAPI r2_storage_class enum (mirrored at
// https://raw.githubusercontent.com/api-evangelist/engineering-platform/refs/heads/main/json-schema/apis-io-engineering-platform-r2-storage-class-schema.json)
export const R2_STORAGE_CLASSES = ["Standard", "InfrequentAccess"] as const;

/** R2 bucket names: 3-63 chars, lowercase letters, digits, hyphens, alphanumeric at both ends.
 * https://developers.cloudflare.com/r2/buckets/create-buckets/ ("only lowercase letters (a-z), numbers (0-9), and hyphens (-)")
 * and Wrangler's check, https://github.com/cloudflare/workers-sdk/blob/main/packages/wrangler/src/r2/helpers.ts
 * ("begin and end with an alphanumeric character ... between 3 and 63 characters long"). */
export const R2_BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

function r2BucketRef(prefix: string, name: unknown, jurisdiction: unknown): Finding[] {
  const out: Finding[] = [];
  if (typeof name !== "string" || !R2_BUCKET_NAME.test(name)) out.push(find(`${prefix}bucketName`, name, "3-63 of a-z 0-9 -, alphanumeric first and last"));
  if (jurisdiction !== undefined && !(R2_JURISDICTIONS as readonly unknown[]).includes(jurisdiction)) {
    out.push(find(`${prefix}jurisdiction`, jurisdiction, `one of ${R2_JURISDICTIONS.join(", ")}`));
  }
  return out;
}

const r2Rules: Rule[] = [
  {
    id: "r2-bucket",
    type: "cloudflare:index/r2Bucket:R2Bucket",
    source: `${R2_DATA_LOCATION} ; https://developers.cloudflare.com/r2/buckets/create-buckets/ ; https://developers.cloudflare.com/r2/buckets/storage-classes/`,
    check: (i) => [
      ...(i.location === undefined || (R2_LOCATIONS as readonly unknown[]).includes(i.location) ? [] : [find("location", i.location, `a location hint: ${R2_LOCATIONS.join(", ")}`)]),
      ...(i.storageClass === undefined || (R2_STORAGE_CLASSES as readonly unknown[]).includes(i.storageClass) ? [] : [find("storageClass", i.storageClass, `one of ${R2_STORAGE_CLASSES.join(", ")}`)]),
      ...r2BucketRef("", i.name, i.jurisdiction).map((f) => (f.path === "bucketName" ? { ...f, path: "name" } : f)),
    ],
  },
  // Lifecycle and lock address the bucket by name and jurisdiction: same rules.
  { id: "r2-lifecycle-bucket", type: "cloudflare:index/r2BucketLifecycle:R2BucketLifecycle", source: R2_DATA_LOCATION, check: (i) => r2BucketRef("", i.bucketName, i.jurisdiction) },
  { id: "r2-lock-bucket", type: "cloudflare:index/r2BucketLock:R2BucketLock", source: R2_DATA_LOCATION, check: (i) => r2BucketRef("", i.bucketName, i.jurisdiction) },
];

// ---------------------------------------------------------------------------------------------
// Cloudflare D1 and Workers KV (the restore-test scratch resources)

const D1_CREATE = "https://developers.cloudflare.com/api/resources/d1/subresources/database/methods/create/";
const KV_CREATE = "https://developers.cloudflare.com/api/resources/kv/subresources/namespaces/methods/create/";
// D1: jurisdiction "eu" | "fedramp" (the provider adds "us"), primary_location_hint one of the six
// hints; read_replication.mode "auto" | "disabled" (Terraform/Pulumi D1Database docs). The API
// documents no format for the name; it must be unique in the account, so unique in the stack.
export const D1_JURISDICTIONS = ["eu", "fedramp", "us"] as const;
// KV: "title ... maxLength 512"; "A 400 is returned if the account already owns a namespace with
// this title"; jurisdiction "eu" | "fedramp" | "us" (provider docs).
export const KV_TITLE_MAX = 512;
/** D1 database ids are UUIDs; KV namespace ids are 32 hex characters ("maxLength 32"). */
export const D1_DATABASE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const KV_NAMESPACE_ID = /^[0-9a-f]{32}$/;

const oneOf = (path: string, v: unknown, allowed: readonly string[]): Finding[] => (v === undefined || allowed.includes(v as string) ? [] : [find(path, v, `one of ${allowed.join(", ")}`)]);
function uniqueIn(all: readonly Registered[], type: string, field: string, value: unknown, what: string): Finding[] {
  const same = all.filter((r) => r.type === type && plainInputs(r)[field] === value).length;
  return same > 1 ? [find(field, value, `unique per account (${same} ${what} in the stack share it)`)] : [];
}

const storageRules: Rule[] = [
  {
    id: "d1-database",
    type: "cloudflare:index/d1Database:D1Database",
    source: `${D1_CREATE} ; https://www.pulumi.com/registry/packages/cloudflare/api-docs/d1database/`,
    check: (i, all) => [
      ...(typeof i.name === "string" && i.name.length > 0 ? uniqueIn(all, "cloudflare:index/d1Database:D1Database", "name", i.name, "D1 databases") : [find("name", i.name, "a non-empty name")]),
      ...oneOf("jurisdiction", i.jurisdiction, D1_JURISDICTIONS),
      ...oneOf("primaryLocationHint", i.primaryLocationHint, R2_LOCATIONS),
      ...oneOf("readReplication.mode", obj(i.readReplication).mode, ["auto", "disabled"]),
    ],
  },
  {
    id: "kv-namespace",
    type: "cloudflare:index/workersKvNamespace:WorkersKvNamespace",
    source: KV_CREATE,
    check: (i, all) => [
      ...(typeof i.title === "string" && i.title.length > 0 && i.title.length <= KV_TITLE_MAX
        ? uniqueIn(all, "cloudflare:index/workersKvNamespace:WorkersKvNamespace", "title", i.title, "KV namespaces")
        : [find("title", i.title, `1-${KV_TITLE_MAX} characters`)]),
      ...oneOf("jurisdiction", i.jurisdiction, D1_JURISDICTIONS),
    ],
  },
];

// ---------------------------------------------------------------------------------------------
// Cloudflare Worker cron triggers

interface CronField {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Extra characters beyond `* , - /` the docs list for the field. */
  readonly lw?: boolean;
  readonly lHash?: boolean;
}

// https://developers.cloudflare.com/workers/configuration/cron-triggers/ "Supported cron
// expressions": five fields, with values and characters per field as in this table.
const CRON_FIELDS: readonly CronField[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31, lw: true },
  { name: "month", min: 1, max: 12, names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"] },
  { name: "weekday", min: 1, max: 7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], lHash: true },
];

function cronValue(v: string, f: CronField): boolean {
  if (/^\d+$/.test(v)) return Number(v) >= f.min && Number(v) <= f.max;
  return f.names?.includes(v.toUpperCase()) ?? false;
}

function cronItem(item: string, f: CronField): boolean {
  if (f.lw && /^(L|LW)$/.test(item)) return true;
  if (f.lw && /^\d+W$/.test(item)) return cronValue(item.slice(0, -1), f);
  if (f.lHash && /^[A-Za-z0-9]+L$/.test(item)) return cronValue(item.slice(0, -1), f);
  if (f.lHash && /^[A-Za-z0-9]+#\d+$/.test(item)) {
    const [v, n] = item.split("#") as [string, string];
    return cronValue(v, f) && Number(n) >= 1;
  }
  const m = /^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d+))?$/.exec(item);
  if (!m) return false;
  if (m[2] !== undefined && Number(m[2]) < 1) return false;
  if (m[1] === "*") return true;
  return (m[1] as string).split("-").every((v) => cronValue(v, f));
}

/** Why a cron expression is outside Cloudflare's documented syntax, or undefined if it is inside. */
export function cronProblem(cron: string): string | undefined {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) return `5 fields (minute hour day-of-month month weekday), got ${fields.length}`;
  for (const [i, f] of CRON_FIELDS.entries()) {
    const field = fields[i] as string;
    if (!field.split(",").every((item) => cronItem(item, f))) {
      const extra = f.lw ? " L W" : f.lHash ? " L #" : "";
      return `${f.name} field "${field}": values ${f.min}-${f.max}${f.names ? " or 3-letter names" : ""}, characters * , - /${extra}`;
    }
  }
  return undefined;
}

// https://developers.cloudflare.com/workers/platform/limits/ "Number of Cron Triggers per account":
// 5 on Workers Free, 250 on Workers Paid. Cloudflare documents no per-Worker figure; this
// program's Worker needs Paid (15-min Cron CPU time, Queues), so the Paid account cap applies.
export const CRON_TRIGGERS_PER_ACCOUNT_PAID = 250;

const cronRules: Rule[] = [
  {
    id: "worker-cron-syntax",
    type: "cloudflare:index/workersCronTrigger:WorkersCronTrigger",
    source: "https://developers.cloudflare.com/workers/configuration/cron-triggers/#supported-cron-expressions",
    check: (i) =>
      arr(i.schedules).flatMap((s, n) => {
        const cron = obj(s).cron;
        const problem = typeof cron === "string" ? cronProblem(cron) : "a string";
        return problem ? [find(`schedules[${n}].cron`, cron, problem)] : [];
      }),
  },
  {
    id: "worker-cron-count",
    type: "cloudflare:index/workersCronTrigger:WorkersCronTrigger",
    source: "https://developers.cloudflare.com/workers/platform/limits/#account-plan-limits",
    check: (_i, all) => {
      const total = all.filter((r) => r.type === "cloudflare:index/workersCronTrigger:WorkersCronTrigger").reduce((n, r) => n + arr(plainInputs(r).schedules).length, 0);
      return total <= CRON_TRIGGERS_PER_ACCOUNT_PAID ? [] : [find("schedules (all triggers in the stack)", total, `at most ${CRON_TRIGGERS_PER_ACCOUNT_PAID} per account (Workers Paid)`)];
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Cloudflare Queues

const QUEUES_LIMITS = "https://developers.cloudflare.com/queues/platform/limits/";

const queueRules: Rule[] = [
  {
    id: "queue-consumer-settings",
    type: "cloudflare:index/queueConsumer:QueueConsumer",
    source: `${QUEUES_LIMITS} ; https://developers.cloudflare.com/queues/configuration/configure-queues/`,
    check: (i) => {
      const s = obj(i.settings);
      return [
        // "Maximum consumer batch size | 100 messages"
        ...intIn("settings.batchSize", s.batchSize, 1, 100),
        // "Message retries | 100"
        ...intIn("settings.maxRetries", s.maxRetries, 0, 100),
        // "Maximum Batch wait time | 60 seconds" (the provider takes milliseconds)
        ...intIn("settings.maxWaitTimeMs", s.maxWaitTimeMs, 0, 60_000),
        // "Concurrent consumer invocations | 250 push-based only"
        ...intIn("settings.maxConcurrency", s.maxConcurrency, 1, 250),
        // "delaySeconds (when sending or retrying) | 12 hours" (a later page revision says 24 h;
        // 12 h holds under both)
        ...intIn("settings.retryDelay", s.retryDelay, 0, 43_200),
        // "visibilityTimeout (pull-based queues) | 12 hours" (the provider takes milliseconds)
        ...intIn("settings.visibilityTimeoutMs", s.visibilityTimeoutMs, 0, 43_200_000),
      ];
    },
  },
  {
    id: "queue-message-retention",
    type: "cloudflare:index/queue:Queue",
    source: QUEUES_LIMITS,
    // "Message retention period | 4 days (default). Configurable to 14 days"
    check: (i) => intIn("settings.messageRetentionPeriod", obj(i.settings).messageRetentionPeriod, 1, 14 * 86_400),
  },
];

// ---------------------------------------------------------------------------------------------
// Cloudflare account API tokens

const TOKENS_R2 = "https://developers.cloudflare.com/r2/api/tokens/";
const TOKENS_VIA_API = "https://developers.cloudflare.com/fundamentals/api/how-to/create-via-api/";
const R2_BUCKET_RESOURCE = /^com\.cloudflare\.edge\.r2\.bucket\.([0-9a-f]{32})_([a-z]+)_(.+)$/;

/** Findings for one resource key of a token policy, per the documented resource forms. */
function tokenResource(path: string, key: string, value: unknown, accountId: unknown, all: readonly Registered[]): Finding[] {
  // Bucket: "com.cloudflare.edge.r2.bucket.<ACCOUNT_ID>_<JURISDICTION>_<BUCKET_NAME>": "*" (R2 tokens page).
  const bucket = R2_BUCKET_RESOURCE.exec(key);
  if (bucket) {
    const [, account, jurisdiction, name] = bucket as unknown as [string, string, string, string];
    const out: Finding[] = [];
    if (value !== "*") out.push(find(`${path}["${key}"]`, value, `"*"`));
    if (account !== accountId) out.push(find(`${path}["${key}"]`, account, `the token's account id ${String(accountId)}`));
    out.push(...r2BucketRef(`${path}["${key}"].`, name, jurisdiction));
    // The bucket must be one the stack declares, in that jurisdiction.
    const declared = all.some((r) => r.type === "cloudflare:index/r2Bucket:R2Bucket" && plainInputs(r).name === name && (plainInputs(r).jurisdiction ?? "default") === jurisdiction);
    if (!declared) out.push(find(`${path}["${key}"]`, `${jurisdiction}/${name}`, "an R2 bucket registered in this stack with that jurisdiction"));
    return out;
  }
  // Account: "com.cloudflare.api.account.<ACCOUNT_ID>": "*", or all its buckets/zones as a nested object.
  if (/^com\.cloudflare\.api\.account\.([0-9a-f]{32}|\*)$/.test(key)) {
    if (value === "*") return [];
    const nested = obj(value);
    const ok = Object.keys(nested).length > 0 && Object.entries(nested).every(([k, v]) => /^com\.cloudflare\.(edge\.r2\.bucket|api\.account\.zone)\.\*$/.test(k) && v === "*");
    return ok ? [] : [find(`${path}["${key}"]`, value, `"*" or {"com.cloudflare.edge.r2.bucket.*": "*"} / {"com.cloudflare.api.account.zone.*": "*"}`)];
  }
  // Zone: "com.cloudflare.api.account.zone.<ZONE_ID>" or ".*".
  if (/^com\.cloudflare\.api\.account\.zone\.([0-9a-f]{32}|\*)$/.test(key)) return value === "*" ? [] : [find(`${path}["${key}"]`, value, `"*"`)];
  return [find(`${path} key`, key, "com.cloudflare.api.account.<id>, com.cloudflare.api.account.zone.<id> or com.cloudflare.edge.r2.bucket.<account>_<jurisdiction>_<bucket>")];
}

const tokenRules: Rule[] = [
  {
    id: "account-token-policies",
    type: "cloudflare:index/accountToken:AccountToken",
    source: `${TOKENS_R2}#resources ; ${TOKENS_VIA_API}#1-define-the-access-policy`,
    check: (i, all) =>
      arr(i.policies).flatMap((p, n) => {
        const policy = obj(p);
        const at = `policies[${n}]`;
        const out: Finding[] = [];
        // "effect: Defines whether this policy is allowing or denying access."
        if (policy.effect !== "allow" && policy.effect !== "deny") out.push(find(`${at}.effect`, policy.effect, `"allow" or "deny"`));
        // "It is only required to pass the id of the permission group in the policy."
        const groups = arr(policy.permissionGroups);
        if (groups.length === 0) out.push(find(`${at}.permissionGroups`, groups, "at least one permission group"));
        groups.forEach((g, k) => {
          if (typeof obj(g).id !== "string" || (obj(g).id as string).length === 0) out.push(find(`${at}.permissionGroups[${k}].id`, obj(g).id, "a permission group id"));
        });
        // The provider takes `resources` as a JSON string.
        let resources: Record<string, unknown> = {};
        try {
          resources = obj(typeof policy.resources === "string" ? JSON.parse(policy.resources) : policy.resources);
        } catch {
          out.push(find(`${at}.resources`, policy.resources, "a JSON object of resource keys"));
        }
        if (Object.keys(resources).length === 0) out.push(find(`${at}.resources`, policy.resources, "at least one resource"));
        for (const [key, value] of Object.entries(resources)) out.push(...tokenResource(`${at}.resources`, key, value, i.accountId, all));
        return out;
      }),
  },
];

// ---------------------------------------------------------------------------------------------
// Cloudflare Worker script

const WORKERS_LIMITS = "https://developers.cloudflare.com/workers/platform/limits/#environment-variables";
// "The maximum number of environment variables (secret and text combined) for a Worker is 128
// variables on the Workers Paid plan, and 64 variables on the Workers Free plan."
export const WORKER_ENV_VARS_MAX_PAID = 128;
// "Each environment variable has a size limitation of 5 KB." Counted as 5,000 bytes, the smaller
// reading of KB, so a value that passes here passes either way.
export const WORKER_ENV_VAR_MAX_BYTES = 5_000;
const TEXT_BINDINGS = new Set(["plain_text", "secret_text", "json"]);

const workerRules: Rule[] = [
  {
    id: "worker-script-name",
    type: "cloudflare:index/workersScript:WorkersScript",
    // Pattern: Cloudflare OpenAPI workers_script_name (mirrored at
    // https://raw.githubusercontent.com/api-evangelist/engineering-platform/refs/heads/main/json-schema/apis-io-engineering-platform-workers-script-name-schema.json);
    // 63 chars: "Script naming conventions" of the Workers Scripts API docs
    // (https://developers.cloudflare.com/workers/tooling/api/scripts/#script-naming-conventions, via the mirror https://www.kancloud.cn/orchie/cloudflare_worker/1627269).
    source: "Cloudflare OpenAPI workers_script_name; developers.cloudflare.com/workers/tooling/api/scripts/#script-naming-conventions",
    check: (i) => {
      const n = str(i.scriptName);
      return n !== undefined && /^[a-z0-9_][a-z0-9-_]*$/.test(n) && n.length <= 63 ? [] : [find("scriptName", i.scriptName, "^[a-z0-9_][a-z0-9-_]*$, at most 63 characters")];
    },
  },
  {
    id: "worker-bindings",
    type: "cloudflare:index/workersScript:WorkersScript",
    source: `${WORKERS_LIMITS} ; Cloudflare OpenAPI workers_binding_name ("A JavaScript variable name for the binding") ; ${D1_CREATE} ; ${KV_CREATE}`,
    check: (i) => {
      const bindings = arr(i.bindings).map(obj);
      const out: Finding[] = [];
      bindings.forEach((b, n) => {
        if (typeof b.name !== "string" || !/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(b.name)) out.push(find(`bindings[${n}].name`, b.name, "a JavaScript identifier"));
        if (b.type === "d1" && !(typeof b.id === "string" && D1_DATABASE_ID.test(b.id))) out.push(find(`bindings[${n}] (${String(b.name)}).id`, b.id, "a D1 database UUID"));
        if (b.type === "kv_namespace" && !(typeof b.namespaceId === "string" && KV_NAMESPACE_ID.test(b.namespaceId))) out.push(find(`bindings[${n}] (${String(b.name)}).namespaceId`, b.namespaceId, "a KV namespace id (32 hex)"));
        if (b.type === "r2_bucket") out.push(...r2BucketRef(`bindings[${n}] (${String(b.name)}).`, b.bucketName, b.jurisdiction));
        if (TEXT_BINDINGS.has(String(b.type))) {
          const text = String(b.type) === "json" ? b.json : b.text;
          const bytes = typeof text === "string" ? Buffer.byteLength(text, "utf8") : 0;
          if (bytes > WORKER_ENV_VAR_MAX_BYTES) out.push(find(`bindings[${n}] (${String(b.name)}) size`, bytes, `at most ${WORKER_ENV_VAR_MAX_BYTES} bytes per environment variable`));
        }
      });
      const vars = bindings.filter((b) => TEXT_BINDINGS.has(String(b.type))).length;
      if (vars > WORKER_ENV_VARS_MAX_PAID) out.push(find("bindings (text, json and secret)", vars, `at most ${WORKER_ENV_VARS_MAX_PAID} environment variables per Worker (Paid)`));
      return out;
    },
  },
  {
    id: "worker-workers-dev-route",
    type: "cloudflare:index/workersScriptSubdomain:WorkersScriptSubdomain",
    // POST /accounts/{account_id}/workers/scripts/{script_name}/subdomain: account_id
    // "Identifier. maxLength 32", body "enabled: boolean" (required), "previews_enabled: optional
    // boolean"; the script must exist (a route of a script the program does not declare is a 404).
    source: "https://developers.cloudflare.com/api/resources/workers/subresources/scripts/subresources/subdomain/methods/create ; https://www.pulumi.com/registry/packages/cloudflare/api-docs/workersscriptsubdomain",
    check: (i, all) => {
      const out: Finding[] = [];
      if (!(typeof i.accountId === "string" && /^[0-9a-f]{32}$/.test(i.accountId))) out.push(find("accountId", i.accountId, "a Cloudflare account id (32 hex)"));
      if (typeof i.enabled !== "boolean") out.push(find("enabled", i.enabled, "a boolean (required)"));
      if (i.previewsEnabled !== undefined && typeof i.previewsEnabled !== "boolean") out.push(find("previewsEnabled", i.previewsEnabled, "a boolean"));
      const scripts = all.filter((r) => r.type === "cloudflare:index/workersScript:WorkersScript").map((r) => (plain(r.inputs) as Record<string, unknown>).scriptName);
      if (!scripts.includes(i.scriptName)) out.push(find("scriptName", i.scriptName, `a script the program declares (${scripts.map(String).join(", ")})`));
      return out;
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Neon (settings reach the API through the NeonPitr command's environment)

const NEON_COMMAND = "command:local:Command";
// "Restore window ... Maximum: Free 6 hours, Launch 7 days, Scale 30 days" and the API's
// ProjectCreateRequest.history_retention_seconds "@max 2592000".
const NEON_RESTORE_WINDOW = "https://neon.com/docs/introduction/restore-window";
const NEON_BACKUP_RESTORE = "https://neon.com/docs/guides/backup-restore";
export const NEON_HISTORY_MAX_SECONDS = 2_592_000;

interface NeonScheduleItem {
  frequency?: unknown;
  hour?: unknown;
  day?: unknown;
  month?: unknown;
  retention_seconds?: unknown;
}

function neonEnv(i: Record<string, unknown>): Record<string, unknown> | undefined {
  const env = obj(i.environment);
  return "NEON_HISTORY_RETENTION_SECONDS" in env || "NEON_BACKUP_SCHEDULE" in env ? env : undefined;
}

function neonSchedule(env: Record<string, unknown>): NeonScheduleItem[] {
  const raw = env.NEON_BACKUP_SCHEDULE;
  return typeof raw === "string" ? (arr(JSON.parse(raw)) as NeonScheduleItem[]) : [];
}

// Longest gap between two snapshots of one schedule item, so the count below is a lower bound.
const NEON_PERIOD_SECONDS: Record<string, number> = { hourly: 3_600, daily: 86_400, weekly: 604_800, monthly: 31 * 86_400, yearly: 366 * 86_400 };

/** Snapshots a schedule keeps at once (at least): per item, retention / interval. Infinity when an
 * item keeps its snapshots forever ("If not set, the snapshot is kept indefinitely"). */
export function neonSnapshotsKept(schedule: readonly NeonScheduleItem[]): number {
  return schedule.reduce((n, s) => {
    const period = NEON_PERIOD_SECONDS[String(s.frequency)];
    if (period === undefined) return n;
    if (!isInt(s.retention_seconds)) return Infinity;
    return n + Math.floor(s.retention_seconds / period);
  }, 0);
}

const neonRules: Rule[] = [
  {
    id: "neon-history-retention",
    type: NEON_COMMAND,
    source: `${NEON_RESTORE_WINDOW} ; @neondatabase/api-client ProjectCreateRequest.history_retention_seconds @max 2592000`,
    check: (i) => {
      const env = neonEnv(i);
      if (!env) return [];
      const v = Number(env.NEON_HISTORY_RETENTION_SECONDS);
      return Number.isInteger(v) && v >= 0 && v <= NEON_HISTORY_MAX_SECONDS ? [] : [find("environment.NEON_HISTORY_RETENTION_SECONDS", env.NEON_HISTORY_RETENTION_SECONDS, `an integer in [0, ${NEON_HISTORY_MAX_SECONDS}] (30 days, Scale plan maximum)`)];
    },
  },
  {
    id: "neon-schedule-shape",
    type: NEON_COMMAND,
    // PUT /projects/{project_id}/branches/{branch_id}/backup_schedule: "frequency (required):
    // hourly, daily, weekly, monthly, or yearly; hour 0–23; day 1–31; month 1–12;
    // retention_seconds ... (minimum 3600)".
    source: `${NEON_BACKUP_RESTORE}#create-backup-schedules`,
    check: (i) => {
      const env = neonEnv(i);
      if (!env) return [];
      return neonSchedule(env).flatMap((s, n) => {
        const at = `environment.NEON_BACKUP_SCHEDULE[${n}]`;
        return [
          ...(typeof s.frequency === "string" && s.frequency in NEON_PERIOD_SECONDS ? [] : [find(`${at}.frequency`, s.frequency, "hourly, daily, weekly, monthly or yearly")]),
          ...intIn(`${at}.hour`, s.hour, 0, 23),
          ...intIn(`${at}.day`, s.day, 1, 31),
          ...intIn(`${at}.month`, s.month, 1, 12),
          ...intIn(`${at}.retention_seconds`, s.retention_seconds, 3_600, Number.MAX_SAFE_INTEGER),
        ];
      });
    },
  },
];

/** Kept apart from RULES: its test has its own name so the schedule-cap fix turns it green.
 * "Snapshot limits: 1 on the Free plan and 10 on paid plans" (Neon Backup & restore page, revision
 * of 2026-02-06; a later revision of 2026-04-17 reads "Manual snapshot limits: 1 on the Free plan
 * and 100 on paid plans. On paid plans, snapshots created by backup schedules do not count").
 * Found as https://backiee.wasmer.app/https_neon_tech/docs/guides/backup-restore and in
 * neondatabase/website content/docs/guides/backup-restore.md. */
export const NEON_SNAPSHOTS_MAX_PAID = 10;
export const neonSnapshotCountRule: Rule = {
  id: "neon-snapshot-count",
  type: NEON_COMMAND,
  source: NEON_BACKUP_RESTORE,
  check: (i) => {
    const env = neonEnv(i);
    if (!env) return [];
    const kept = neonSnapshotsKept(neonSchedule(env));
    return kept <= NEON_SNAPSHOTS_MAX_PAID ? [] : [find("environment.NEON_BACKUP_SCHEDULE (snapshots kept at once)", kept, `at most ${NEON_SNAPSHOTS_MAX_PAID} snapshots (paid plans; 1 on Free)`)];
  },
};

// ---------------------------------------------------------------------------------------------
// AWS (facts and sources in /work/research/aws.md)

const S3_NAMING = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html";

/** Why an S3 general purpose bucket name breaks the naming rules, or undefined. */
export function s3BucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return "3-63 characters";
  if (!/^[a-z0-9.-]+$/.test(name)) return "only lowercase letters, numbers, dots and hyphens";
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return "begin and end with a letter or number";
  if (name.includes("..")) return "no two adjacent periods";
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return "not formatted as an IP address";
  for (const p of ["xn--", "sthree-", "amzn-s3-demo-"]) if (name.startsWith(p)) return `not starting with ${p}`;
  for (const s of ["-s3alias", "--ol-s3", ".mrap", "--x-s3"]) if (name.endsWith(s)) return `not ending with ${s}`;
  return undefined;
}

// IAM "Policy documents can contain only ... tab, linefeed, carriage return, and U+0020 to U+00FF";
// "IAM does not count white space when calculating the size of a policy".
const IAM_QUOTAS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html";
export const IAM_USER_INLINE_POLICIES_MAX = 2_048;
export const iamPolicySize = (doc: string): number => doc.replace(/\s/g, "").length;

const awsRules: Rule[] = [
  {
    id: "s3-bucket-name",
    type: "aws:s3/bucket:Bucket",
    source: S3_NAMING,
    check: (i) => {
      const name = str(i.bucket);
      if (name === undefined) return [];
      const problem = s3BucketNameProblem(name);
      return problem ? [find("bucket", name, problem)] : [];
    },
  },
  {
    id: "iam-user-name",
    type: "aws:iam/user:User",
    // userNameType max 64, pattern [\w+=,.@-]+; "Path names must begin and end with a forward slash", 512 chars.
    source: `${IAM_QUOTAS} ; https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateUser.html`,
    check: (i) => [
      ...(typeof i.name === "string" && /^[\w+=,.@-]{1,64}$/.test(i.name) ? [] : [find("name", i.name, "1-64 of [A-Za-z0-9_+=,.@-]")]),
      ...(i.path === undefined || (typeof i.path === "string" && /^\/(.*\/)?$/.test(i.path) && i.path.length <= 512) ? [] : [find("path", i.path, "begins and ends with /, at most 512 characters")]),
    ],
  },
  {
    id: "iam-user-inline-policy-size",
    type: "aws:iam/userPolicy:UserPolicy",
    // "User policy size cannot exceed 2,048 characters" — the sum of the user's inline policies.
    source: IAM_QUOTAS,
    check: (i, all) => {
      const doc = str(i.policy) ?? "";
      const out: Finding[] = [];
      if (!/^[\t\n\r\u0020-\u00ff]*$/.test(doc)) out.push(find("policy", "(non-Latin-1 characters)", "only tab, LF, CR and U+0020-U+00FF"));
      const total = all
        .filter((r) => r.type === "aws:iam/userPolicy:UserPolicy" && plainInputs(r).user === i.user)
        .reduce((n, r) => n + iamPolicySize(str(plainInputs(r).policy) ?? ""), 0);
      if (total > IAM_USER_INLINE_POLICIES_MAX) out.push(find(`policy (all inline policies of user ${String(i.user)}, whitespace excluded)`, total, `at most ${IAM_USER_INLINE_POLICIES_MAX} characters`));
      return out;
    },
  },
  {
    id: "kms-alias-name",
    type: "aws:kms/alias:Alias",
    // "must begin with alias/ ... 1-256 characters ... alphanumeric characters, forward slashes (/),
    // underscores (_), and dashes (-). The alias name cannot begin with alias/aws/."
    source: "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html",
    check: (i) => {
      const n = str(i.name);
      return n !== undefined && /^alias\/[A-Za-z0-9/_-]+$/.test(n) && n.length <= 256 && !n.startsWith("alias/aws/") ? [] : [find("name", i.name, "alias/ + [A-Za-z0-9/_-], at most 256 characters, not alias/aws/")];
    },
  },
  {
    id: "sns-topic-name",
    type: "aws:sns/topic:Topic",
    // "only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens ... between 1
    // and 256 characters"; FIFO topics end in .fifo.
    source: "https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html",
    check: (i) => {
      const n = str(i.name);
      if (n === undefined) return [];
      const base = i.fifoTopic === true ? n.replace(/\.fifo$/, "") : n;
      return /^[A-Za-z0-9_-]+$/.test(base) && n.length <= 256 ? [] : [find("name", n, "1-256 of [A-Za-z0-9_-] (+ .fifo for FIFO topics)")];
    },
  },
  {
    id: "secretsmanager-secret",
    type: "aws:secretsmanager/secret:Secret",
    // NameType 1-512; "ASCII letters, numbers, and the following characters: /_+=.@- Do not end
    // your secret name with a hyphen followed by six characters." DeleteSecret: "The minimum
    // recovery window is 7 days."
    source: "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html ; https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html",
    check: (i) => {
      const n = str(i.name);
      return [
        ...(n === undefined || (/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(n) && !/-.{6}$/.test(n)) ? [] : [find("name", n, "1-512 of [A-Za-z0-9/_+=.@-], not ending in - plus six characters")]),
        ...(i.recoveryWindowInDays === undefined || i.recoveryWindowInDays === 0 || (isInt(i.recoveryWindowInDays) && i.recoveryWindowInDays >= 7) ? [] : [find("recoveryWindowInDays", i.recoveryWindowInDays, "0 (force delete) or at least 7")]),
      ];
    },
  },
  {
    id: "cloudwatch-alarm",
    type: "aws:cloudwatch/metricAlarm:MetricAlarm",
    // "Valid values are 10, 20, 30, and any multiple of 60." "Period multiplied by
    // EvaluationPeriods can't be more than 604,800 seconds. For alarms with a period of less than
    // one hour (3,600 seconds), the total evaluation period can't be longer than one day (86,400
    // seconds)." AlarmName 1-255, no ASCII control characters.
    source: "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html",
    check: (i) => {
      const out: Finding[] = [];
      const p = i.period;
      const e = isInt(i.evaluationPeriods) ? i.evaluationPeriods : 1;
      if (p !== undefined) {
        if (!isInt(p) || !(p === 10 || p === 20 || p === 30 || (p > 0 && p % 60 === 0))) out.push(find("period", p, "10, 20, 30 or a multiple of 60"));
        else if (p * e > 604_800) out.push(find("period × evaluationPeriods", p * e, "at most 604800 s (7 days)"));
        else if (p < 3_600 && p * e > 86_400) out.push(find("period × evaluationPeriods", p * e, "at most 86400 s (1 day) when period < 3600"));
      }
      const n = str(i.name);
      // eslint-disable-next-line no-control-regex
      if (n !== undefined && (n.length < 1 || n.length > 255 || /[\u0000-\u001f\u007f]/.test(n))) out.push(find("name", n, "1-255 characters, no ASCII control characters"));
      return out;
    },
  },
  {
    id: "s3-lifecycle",
    type: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    // Expiration.Days "must be a non-zero positive integer"; rule ID "can't be longer than 255
    // characters" (S3 API model, https://boto3.amazonaws.com/v1/documentation/api/1.38.0/reference/services/s3/bucketlifecycle/rules.html);
    // NoncurrentDays "Must be a positive integer" (https://pub.dev/documentation/pulumi_aws/latest/s3/BucketLifecycleConfigurationV2RuleNoncurrentVersionExpiration-class.html);
    // DaysAfterInitiation "Type: Integer ... Minimum: 0" (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-s3-bucket-abortincompletemultipartupload.html).
    source: "S3 LifecycleRule (boto3 S3 API model); pulumi_aws NoncurrentVersionExpiration; CloudFormation AbortIncompleteMultipartUpload",
    check: (i) =>
      arr(i.rules).flatMap((raw, n) => {
        const r = obj(raw);
        const at = `rules[${n}]`;
        return [
          ...(r.id === undefined || (typeof r.id === "string" && r.id.length <= 255) ? [] : [find(`${at}.id`, r.id, "at most 255 characters")]),
          ...intIn(`${at}.expiration.days`, obj(r.expiration).days, 1, Number.MAX_SAFE_INTEGER),
          ...intIn(`${at}.noncurrentVersionExpiration.noncurrentDays`, obj(r.noncurrentVersionExpiration).noncurrentDays, 1, Number.MAX_SAFE_INTEGER),
          ...intIn(`${at}.abortIncompleteMultipartUpload.daysAfterInitiation`, obj(r.abortIncompleteMultipartUpload).daysAfterInitiation, 0, Number.MAX_SAFE_INTEGER),
        ];
      }),
  },
  {
    id: "s3-object-lock-default-retention",
    type: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    // "The DefaultRetention settings require both a mode and a period." "either Days or Years but
    // you must select one. You cannot specify Days and Years at the same time." Mode GOVERNANCE |
    // COMPLIANCE. "The maximum retention period is 100 years." (object-lock-managing.html)
    source: "https://docs.aws.amazon.com/AmazonS3/latest/API/API_DefaultRetention.html ; https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html",
    check: (i) => {
      const d = obj(obj(i.rule).defaultRetention);
      if (Object.keys(d).length === 0) return [];
      const out: Finding[] = [];
      if (d.mode !== "GOVERNANCE" && d.mode !== "COMPLIANCE") out.push(find("rule.defaultRetention.mode", d.mode, "GOVERNANCE or COMPLIANCE"));
      if ((d.days === undefined) === (d.years === undefined)) out.push(find("rule.defaultRetention", { days: d.days, years: d.years }, "exactly one of days or years"));
      out.push(...intIn("rule.defaultRetention.days", d.days, Number.MIN_SAFE_INTEGER, 36_500));
      out.push(...intIn("rule.defaultRetention.years", d.years, Number.MIN_SAFE_INTEGER, 100));
      return out;
    },
  },
  {
    id: "s3-request-metrics",
    type: "aws:s3/bucketMetric:BucketMetric",
    // MetricsConfiguration.Id: "64 character limit and can only contain letters, numbers, periods,
    // dashes, and underscores" (https://docs.aws.amazon.com/AmazonS3/latest/API/API_MetricsConfiguration.html);
    // filter tags "(up to 10)" (https://www.pulumi.com/registry/packages/aws/api-docs/s3/bucketmetric/).
    source: "https://docs.aws.amazon.com/AmazonS3/latest/API/API_MetricsConfiguration.html ; https://www.pulumi.com/registry/packages/aws/api-docs/s3/bucketmetric/",
    check: (i) => {
      const tags = Object.keys(obj(obj(i.filter).tags)).length;
      return [
        ...(typeof i.name === "string" && /^[A-Za-z0-9._-]{1,64}$/.test(i.name) ? [] : [find("name", i.name, "1-64 of [A-Za-z0-9._-]")]),
        ...(tags <= 10 ? [] : [find("filter.tags", tags, "at most 10 tags")]),
      ];
    },
  },
];

/** Every rule except the Neon snapshot cap (see neonSnapshotCountRule). */
export const RULES: readonly Rule[] = [...r2Rules, ...storageRules, ...cronRules, ...queueRules, ...tokenRules, ...workerRules, ...neonRules, ...awsRules];

/** Registered types no rule covers, with the reason; the test fails on any type in neither list. */
export const NOT_CHECKED: Readonly<Record<string, string>> = {
  "pulumi:pulumi:Stack": "not a provider resource",
  "random:index/randomBytes:RandomBytes": "local provider, no API",
  "random:index/randomId:RandomId": "local provider, no API",
  "aws:iam/accessKey:AccessKey": "only references a user",
  "aws:kms/key:Key": "no documented input limit was looked up",
  "aws:secretsmanager/secretVersion:SecretVersion": "no documented input limit was looked up",
  "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "enum only, not looked up",
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "booleans only",
  "aws:s3/bucketVersioning:BucketVersioning": "enum only, not looked up",
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "enum only, not looked up",
  "aws:s3/bucketPolicy:BucketPolicy": "no documented input limit was looked up",
  "aws:sns/topicSubscription:TopicSubscription": "no documented input limit was looked up",
  "cloudflare:index/notificationPolicy:NotificationPolicy": "no documented input limit was looked up",
  "cloudflare:index/notificationPolicyWebhooks:NotificationPolicyWebhooks": "no documented input limit was looked up",
};
