/**
 * Throwaway PostgreSQL clusters (the Debian packages' initdb/pg_ctl) for the drill, the tests
 * and the benchmark: a fresh data directory, trust auth on 127.0.0.1, a free port, stopped and
 * removed afterwards. When running as root, the server runs as the `postgres` user (PostgreSQL
 * refuses to run as root).
 */
import { execFile, execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { withPgClient } from "../postgres/client";
import { onCleanup, onForcedExit, throwIfInterrupted } from "../process/cleanup";

const exec = promisify(execFile);

/** Directory holding initdb, pg_ctl, pg_dump and pg_restore; newest major version first. */
export function pgBinDir(): string {
  const tools = ["initdb", "pg_ctl", "pg_dump", "pg_restore", "postgres"];
  const candidates: string[] = [];
  if (existsSync("/usr/lib/postgresql")) {
    for (const v of readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a))) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  }
  candidates.push(...(process.env.PATH ?? "").split(":"));
  const found = candidates.find((d) => tools.every((t) => existsSync(path.join(d, t))));
  if (!found) throw new Error("PostgreSQL binaries (initdb, pg_ctl, pg_dump, pg_restore) not found; run `node scripts/setup.mjs` or apt-get install postgresql");
  return found;
}

export const pgTool = (name: string) => path.join(pgBinDir(), name);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const asRoot = () => process.getuid?.() === 0;

/** Runs a server-side tool as the postgres user when we are root. */
function serverCmd(tool: string, args: string[]): [string, string[]] {
  return asRoot() ? ["runuser", ["-u", "postgres", "--", pgTool(tool), ...args]] : [pgTool(tool), args];
}

export interface PgCluster {
  readonly port: number;
  readonly dir: string;
  /** postgres://postgres@127.0.0.1:<port>/<db> */
  url(database?: string): string;
  stop(): Promise<void>;
}

/**
 * Registered for cleanup from the moment its directory exists: an interrupt waits for a server
 * command in flight (initdb, pg_ctl start: bounded, and a half-started postmaster would escape
 * a stop), stops the server at once (immediate mode: the data is throwaway) and removes it all.
 */
export async function startPgCluster(): Promise<PgCluster> {
  throwIfInterrupted();
  const dir = mkdtempSync(path.join(tmpdir(), "drposture-pg-"));
  const data = path.join(dir, "data");
  let inFlight: Promise<unknown> = Promise.resolve();
  const server = (tool: string, args: string[]) => {
    const [cmd, cmdArgs] = serverCmd(tool, args);
    inFlight = exec(cmd, cmdArgs);
    return inFlight;
  };
  let startAttempted = false;
  let halting: Promise<void> | undefined;
  // Once, whoever asks first (the registry on interrupt, stop() as usual).
  const halt = (mode: "fast" | "immediate") => (halting ??= stopAndRemove(mode));
  const stopAndRemove = async (mode: "fast" | "immediate") => {
    await inFlight.catch(() => undefined);
    const [c, a] = serverCmd("pg_ctl", ["-D", data, "-m", mode, "-w", "stop"]);
    const stop = () => exec(c, a).then(() => true, () => false);
    if (!(await stop()) && startAttempted) {
      // A terminal's Ctrl-C also kills pg_ctl start, while the postmaster it detached may still
      // be coming up: give it a moment to write its pid file, then stop it.
      const pidFile = path.join(data, "postmaster.pid");
      for (let i = 0; i < 20 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 100));
      if (existsSync(pidFile)) await stop();
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const unregisterCleanup = onCleanup(`stop PostgreSQL in ${dir}`, () => halt("immediate"));
  // Forced exit: the postmaster is pg_ctl's daemon, not our child; SIGQUIT is an immediate stop.
  const unforce = onForcedExit(() => {
    const pid = Number(readFileSync(path.join(data, "postmaster.pid"), "utf8").split("\n")[0]);
    if (pid > 0) process.kill(pid, "SIGQUIT");
    // Its data may be a restored (decrypted) database.
    rmSync(dir, { recursive: true, force: true });
  });
  const unregister = () => {
    unforce();
    unregisterCleanup();
  };
  try {
    if (asRoot()) {
      const ids = execFileSync("id", ["-u", "postgres"]).toString().trim();
      const gid = execFileSync("id", ["-g", "postgres"]).toString().trim();
      chownSync(dir, Number(ids), Number(gid));
    }
    const port = await freePort();
    await server("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]);
    throwIfInterrupted();
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_wal_size=2GB`;
    startAttempted = true;
    await server("pg_ctl", ["-D", data, "-o", opts, "-l", path.join(dir, "server.log"), "-w", "-t", "60", "start"]);
    return {
      port,
      dir,
      url: (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`,
      stop: async () => {
        unregister();
        await halt("fast");
      },
    };
  } catch (err) {
    unregister();
    await halt("immediate");
    throw err;
  }
}

/** Runs statements in order on one connection. */
export async function runSql(url: string, statements: readonly string[]): Promise<void> {
  await withPgClient(url, async (c) => {
    for (const s of statements) await c.query(s);
  });
}
