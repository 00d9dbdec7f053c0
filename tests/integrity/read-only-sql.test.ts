/**
 * The D1 declared-check guard (one SELECT/WITH statement, nothing that writes) and the script
 * splitter that loads `--d1 file:` scripts: what is inside strings, quoted names and comments
 * never counts, and statements spanning lines or holding triggers stay whole.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { codeOnly, notASingleSelect, withoutTrailingSemicolon } from "../../lib/integrity/readOnlySql";
import { splitSqlScript } from "../../lib/integrity/sqlScript";
import { propertyParams } from "../helpers/propertySeed";

describe("notASingleSelect", () => {
  it.each([
    "SELECT 1",
    "select id from users;",
    "WITH u AS (SELECT id FROM users) SELECT * FROM u",
    "SELECT ';DELETE FROM users' AS x",
    'SELECT "delete" FROM t -- ; DROP TABLE t',
    "SELECT replace(email, '@', ' at ') FROM users",
    "/* note; */ SELECT [update] FROM t",
  ])("accepts %s", (sql) => expect(notASingleSelect(sql)).toBeNull());

  it.each([
    ["SELECT 1; DELETE FROM users", "must be a single statement"],
    ["DELETE FROM users", "must be a SELECT or WITH … SELECT statement (starts with DELETE)"],
    ["WITH x AS (SELECT 1) DELETE FROM users", "DELETE is not allowed"],
    ["WITH x AS (SELECT 1) REPLACE INTO users VALUES (1)", "REPLACE INTO is not allowed"],
    ["PRAGMA foreign_keys = OFF", "starts with PRAGMA"],
    ["SELECT 1 -- only a comment\n;ATTACH 'x' AS y", "single statement"],
    ["   ", "is empty"],
  ])("refuses %s", (sql, why) => expect(notASingleSelect(sql)).toContain(why));

  it("never counts what is inside a string literal (property)", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const sql = `SELECT '${s.replace(/'/g, "''")}' AS v`;
        expect(codeOnly(sql)).toHaveLength(sql.length);
        expect(notASingleSelect(sql)).toBeNull();
      }),
      propertyParams(300),
    );
  });

  it("drops only a trailing semicolon", () => {
    expect(withoutTrailingSemicolon("SELECT ';' ;  -- done")).toBe("SELECT ';'");
    expect(withoutTrailingSemicolon("SELECT 1 -- no semicolon")).toBe("SELECT 1 -- no semicolon");
  });
});

describe("splitSqlScript", () => {
  it("splits at semicolons outside strings and comments, keeping triggers whole", () => {
    const script = [
      "PRAGMA defer_foreign_keys=TRUE;",
      "CREATE TABLE t (\n  a TEXT -- a; b\n);",
      "CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO t VALUES ('x;'); DELETE FROM t WHERE a = 'y'; END;",
      "INSERT INTO t VALUES ('one;\ntwo');",
      "INSERT INTO t VALUES ('no trailing semicolon')",
    ].join("\n");
    expect(splitSqlScript(script)).toEqual([
      "PRAGMA defer_foreign_keys=TRUE",
      "CREATE TABLE t (\n  a TEXT -- a; b\n)",
      "CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO t VALUES ('x;'); DELETE FROM t WHERE a = 'y'; END",
      "INSERT INTO t VALUES ('one;\ntwo')",
      "INSERT INTO t VALUES ('no trailing semicolon')",
    ]);
  });
});
