/**
 * `drposture:integrity`: the checks an operator declares for `drposture integrity` (and restore
 * tests) to run after a restore, beside the built-in ones. Each is a query and the number of rows
 * it must return: `expectRows` exactly (0 = "no row breaks this rule") or `minRows` at least.
 * D1 checks must be a single SELECT/WITH statement (D1 has no read-only transaction to run them
 * in); Postgres checks run inside `BEGIN READ ONLY`.
 */
import { z } from "zod";
import { notASingleSelect } from "../integrity/readOnlySql";
import { assetName } from "./identifiers";

const checkName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { error: "must be lowercase letters, digits and dashes (at most 63), starting with a letter or digit" })
  .meta({ description: "Name of the check, unique per database; shown in the report." });

const rowCount = z.number().int().min(0);

function declaredCheck(engine: "postgres" | "d1") {
  return z
    .strictObject({
      name: checkName,
      sql: z
        .string()
        .min(1)
        .meta({ description: engine === "d1" ? "One SELECT (or WITH … SELECT) statement; anything else is refused." : "A query; it runs in a read-only transaction." }),
      expectRows: rowCount.optional().meta({ description: "The query must return exactly this many rows (0: no row breaks the rule)." }),
      minRows: rowCount.optional().meta({ description: "The query must return at least this many rows." }),
    })
    .superRefine((c, ctx) => {
      if ((c.expectRows === undefined) === (c.minRows === undefined)) {
        ctx.addIssue({ code: "custom", path: [c.expectRows === undefined ? "expectRows" : "minRows"], input: c, message: "set exactly one of expectRows and minRows" });
      }
      const why = engine === "d1" ? notASingleSelect(c.sql) : null;
      if (why) ctx.addIssue({ code: "custom", path: ["sql"], input: c.sql, message: `${why} (D1 checks cannot run in a read-only transaction)` });
    });
}

function uniqueNames(list: ReadonlyArray<{ name: string }>, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  list.forEach((c, i) => {
    if (seen.has(c.name)) ctx.addIssue({ code: "custom", path: [i, "name"], input: c.name, message: `duplicates the check named ${c.name}: check names must be unique` });
    seen.add(c.name);
  });
}

const checkList = (engine: "postgres" | "d1") => z.array(declaredCheck(engine)).superRefine(uniqueNames);

export const integrityConfig = z
  .strictObject({
    postgres: checkList("postgres").optional().meta({ description: "Checks run on the restored Postgres (Neon) database." }),
    d1: z
      .record(assetName, checkList("d1"))
      .optional()
      .meta({ description: "Checks per D1 asset (keys: D1 asset names of the stack), run on the restored database." }),
  })
  .optional()
  .meta({ description: "Checks `drposture integrity` runs after a restore, beside the built-in ones (foreign keys, sequences, FTS5, migration tables)." });

export type IntegrityConfig = NonNullable<z.output<typeof integrityConfig>>;
