/**
 * D1 has no read-only transaction to run a user's check in, so a declared D1 check must be
 * one SELECT (or WITH … SELECT) statement, refused otherwise before anything runs. How: the
 * SQL is scanned with SQLite's lexical rules for strings ('…'), quoted identifiers ("…", `…`,
 * […]) and comments (-- and /* *\/) so that nothing inside them counts; outside them there may
 * be no `;` except a trailing one (one statement), the first keyword must be SELECT or WITH,
 * and no keyword that writes or changes the connection may appear (a WITH can lead into
 * INSERT/UPDATE/DELETE/REPLACE in SQLite; ATTACH, PRAGMA and friends are refused too). The scan is
 * conservative: an unquoted column named like one of those keywords is refused; quote it.
 */
const WRITES = new Set(["INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "ATTACH", "DETACH", "PRAGMA", "VACUUM", "REINDEX", "ANALYZE", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"]);

/** The SQL with strings, quoted identifiers and comments blanked out (same length). */
export function codeOnly(sql: string): string {
  let out = "";
  let i = 0;
  const closers: Record<string, string> = { "'": "'", '"': '"', "`": "`", "[": "]" };
  while (i < sql.length) {
    const c = sql[i] as string;
    if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      const stop = end < 0 ? sql.length : end;
      out += " ".repeat(stop - i);
      i = stop;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      const stop = end < 0 ? sql.length : end + 2;
      out += " ".repeat(stop - i);
      i = stop;
    } else if (closers[c]) {
      const close = closers[c] as string;
      let j = i + 1;
      // A doubled quote inside a string or identifier is the quote itself.
      while (j < sql.length && !(sql[j] === close && sql[j + 1] !== close)) j += sql[j] === close ? 2 : 1;
      const stop = Math.min(j + 1, sql.length);
      out += " ".repeat(stop - i);
      i = stop;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Why `sql` is not a single read-only query, or null when it is. */
export function notASingleSelect(sql: string): string | null {
  const code = codeOnly(sql).trim().replace(/;\s*$/, "");
  if (!code) return "is empty";
  if (code.includes(";")) return "must be a single statement (found more than one `;`-separated statement)";
  const words = code.toUpperCase().match(/[A-Z_][A-Z0-9_]*/g) ?? [];
  if (words[0] !== "SELECT" && words[0] !== "WITH") return `must be a SELECT or WITH … SELECT statement (starts with ${words[0] ?? JSON.stringify(code.slice(0, 10))})`;
  // REPLACE is also a string function; only REPLACE INTO writes.
  const writer = words.find((w) => WRITES.has(w)) ?? (/\bREPLACE\s+INTO\b/i.test(code) ? "REPLACE INTO" : undefined);
  if (writer) return `must only read: ${writer} is not allowed in a D1 check (quote an identifier that is spelled like a keyword)`;
  return null;
}

/** The statement without its trailing `;`, to wrap as a subquery (codeOnly keeps offsets). */
export function withoutTrailingSemicolon(sql: string): string {
  const code = codeOnly(sql).trimEnd();
  return code.endsWith(";") ? sql.slice(0, code.length - 1).trimEnd() : sql.trimEnd();
}
