/**
 * Running pg_dump and pg_restore against a connection string:
 *  - the string goes on the command line without its password (argv is visible to every user
 *    in `ps`); the password goes in the child's environment (PGPASSWORD; /proc/PID/environ is
 *    readable by the process's owner only). URLs (postgres://user:secret@host/db, ?password=)
 *    and key=value strings are both handled;
 *  - on interrupt the tool is stopped (ownedChild.ts) and its server sessions are ended: a
 *    killed pg_dump, or a pg_restore with one job, does not cancel its statement, and a
 *    session waiting for a lock would otherwise run its DROP or COPY once the lock is free.
 *    The sessions are found by an application_name unique to the run.
 */
import { randomBytes } from "node:crypto";
import { withPgClient } from "./client";
import { interruptSignal, onCleanup } from "../process/cleanup";
import { spawnOwned, type ChildResult, type OwnedChildOptions } from "../process/ownedChild";
import type { ChildProcess } from "node:child_process";

export interface LibpqConnection {
  /** What to pass as --dbname: the connection string without any password. */
  readonly dbname: string;
  /** The child's environment: the parent's, plus PGPASSWORD when the string held one. */
  readonly env: NodeJS.ProcessEnv;
}

const URL_USERINFO = /^(postgres(?:ql)?:\/\/)([^@/?#]*)@/i;
const URL_QUERY_PASSWORD = /([?&])password=([^&#]*)&?/i;
const KEYWORD_PASSWORD = /(^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/i;

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The connection string without its password, and the password if it had one. */
export function splitPassword(conn: string): { dbname: string; password?: string } {
  let dbname = conn;
  let password: string | undefined;
  if (URL_USERINFO.test(conn)) {
    dbname = dbname.replace(URL_USERINFO, (_all, scheme: string, info: string) => {
      const colon = info.indexOf(":");
      if (colon < 0) return `${scheme}${info}@`;
      password = decode(info.slice(colon + 1));
      return `${scheme}${info.slice(0, colon)}@`;
    });
  }
  if (/^postgres(?:ql)?:\/\//i.test(conn)) {
    const q = URL_QUERY_PASSWORD.exec(dbname);
    if (q) {
      password = decode(q[2] as string);
      dbname = dbname.replace(URL_QUERY_PASSWORD, (_all, sep: string) => (sep === "?" ? "?" : "&")).replace(/[?&]$/, "");
    }
    return { dbname, ...(password !== undefined ? { password } : {}) };
  }
  const k = KEYWORD_PASSWORD.exec(conn);
  if (k) {
    const raw = k[2] as string;
    password = raw.startsWith("'") ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw;
    dbname = conn.replace(KEYWORD_PASSWORD, "$1").trim();
  }
  return { dbname, ...(password !== undefined ? { password } : {}) };
}

export function libpqConnection(conn: string, base: NodeJS.ProcessEnv = process.env): LibpqConnection {
  const { dbname, password } = splitPassword(conn);
  return { dbname, env: { ...base, ...(password !== undefined ? { PGPASSWORD: password } : {}) } };
}

/** Ends the server sessions named `appName` (best effort, bounded: it runs during cleanup). */
async function endSessions(conn: string, appName: string): Promise<void> {
  await withPgClient(conn, (c) => c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()", [appName]), {
    connectionTimeoutMillis: 3000,
    statement_timeout: 3000,
  });
}

/** Spawns a libpq tool with `--dbname=` (password-free) appended to `args` before `trailing`. */
export function spawnLibpqTool(bin: string, args: readonly string[], conn: string, o: OwnedChildOptions & { trailing?: readonly string[] } = {}): { child: ChildProcess; done: Promise<ChildResult> } {
  const tool = bin.split("/").pop() ?? "pg_tool";
  const appName = `drposture ${tool} ${randomBytes(4).toString("hex")}`;
  const c = libpqConnection(conn, { ...(o.env ?? process.env), PGAPPNAME: appName });
  const run = spawnOwned(bin, [...args, `--dbname=${c.dbname}`, ...(o.trailing ?? [])], { ...o, env: c.env });
  const unregister = onCleanup(`end the server sessions of ${tool}`, () => endSessions(conn, appName));
  // Exited by itself: nothing to end. Stopped by an interrupt: its sessions may live on.
  void run.done.catch(() => undefined).finally(() => interruptSignal() === null && unregister());
  return run;
}
