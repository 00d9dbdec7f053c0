/**
 * The formats of every name and id in the stack config. Each of them ends up in an object key,
 * a resource name, a URL path or a runbook command, so each is checked against the format its
 * owner documents (cited below), and none may start with '-' (it would read as an option on a
 * command line). The runbook shell-quotes them as well; this is the first line, not the only one.
 */
import { z } from "zod";

/** Asset names become object-key segments (`<tier>/<kind>/<name>/...`), `--asset` values and
 * alert names; `--asset` (cli/commands/common.ts) accepts exactly this shape. */
export const ASSET_NAME = /^[a-z][a-z0-9-]{0,39}$/;
export const ASSET_NAME_RULE = "1-40 characters of a-z, 0-9 and '-', starting with a letter";

export const assetName = z.string().regex(ASSET_NAME, { error: `must be ${ASSET_NAME_RULE}` });

/** Neon API v2 (OpenAPI spec shipped in @neondatabase/api-client 2.7.3, public-v2-for-users.gen.yaml):
 * path parameter `project_id` has `pattern: "^[a-z0-9-]{1,60}$"` (ids look like spring-example-302709).
 * A leading '-' is refused on top of it: Neon never generates one. */
export const neonProjectId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,59}$/, {
  error: "must be a Neon project id: 1-60 of a-z, 0-9 and '-', not starting with '-' (e.g. spring-example-302709; Console > Settings)",
});

/** Same spec: `branch_id` has the same pattern, and "A `branch_id` value has a `br-` prefix". */
export const neonBranchId = z.string().regex(/^br-[a-z0-9-]{1,57}$/, {
  error: "must be a Neon branch id: br- then a-z, 0-9 and '-', at most 60 characters (e.g. br-wispy-meadow-118737)",
});

/** Neon: "The following names are reserved and cannot be given to a database: postgres,
 * template0, template1" (https://neon.com/docs/manage/databases#reserved-database-names); Postgres
 * limits identifiers to 63 bytes. The database name is also the pg_dump backup's asset name
 * (`neon/<databaseName>` in object keys, the default `--asset` of `backup postgres`), so it must
 * be an asset name too, which keeps it well inside both limits. */
export const NEON_RESERVED_DATABASE_NAMES = ["postgres", "template0", "template1"] as const;
export const neonDatabaseName = z
  .string()
  .regex(ASSET_NAME, {
    error: `must be ${ASSET_NAME_RULE}: it also names the pg_dump backup asset (neon/<name> in object keys, --asset)`,
  })
  .refine((v) => !(NEON_RESERVED_DATABASE_NAMES as readonly string[]).includes(v), {
    error: `must not be one of Neon's reserved database names (${NEON_RESERVED_DATABASE_NAMES.join(", ")})`,
  });

/** D1 database ids are UUIDs (`wrangler d1 list`, the `database_id` of wrangler.toml). */
export const d1DatabaseId = z.uuid({ error: "must be the D1 database UUID (wrangler d1 list)" });

/** KV namespace ids are 32 lower-case hex characters (`wrangler kv namespace list`). */
export const kvNamespaceId = z.string().regex(/^[0-9a-f]{32}$/, {
  error: "must be the 32-hex KV namespace id (wrangler kv namespace list)",
});

/** https://developers.cloudflare.com/r2/buckets/create-buckets/: "Bucket names can only contain
 * lowercase letters (a-z), numbers (0-9), and hyphens (-). Bucket names cannot begin or end with
 * a hyphen. Bucket names can only be between 3-63 characters in length." */
export const R2_BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
export const r2BucketName = z.string().regex(R2_BUCKET_NAME, {
  error: "must be a valid R2 bucket name (3-63 of a-z, 0-9, '-', not starting or ending with '-')",
});

/** Cloudflare account ids and notification destination ids: 32 lower-case hex characters. */
export const hex32 = (what: string) => z.string().regex(/^[0-9a-f]{32}$/, { error: `must be the ${what}` });

export const awsRegion = z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, {
  error: "must be an AWS region name such as us-east-1 or eu-central-1",
});

/** SNS email subscriptions: an address of at most 254 characters (RFC 5321's path limit). */
export const emailAddress = z.email({ error: "must be an email address" }).max(254, { error: "must be at most 254 characters" });

/** https://www.pulumi.com/docs/iac/concepts/stacks/: "Stack names may only contain alphanumeric
 * characters, hyphens, underscores, or periods"; the Pulumi CLI adds "stack names are limited to
 * 100 characters". A leading '-' is refused: `pulumi stack init -x` would read it as an option. */
export const STACK_NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,99}$/;
export const STACK_NAME_RULE = "1-100 characters of A-Z, a-z, 0-9, '_', '.' and '-', not starting with '-' (Pulumi's stack name rules)";
