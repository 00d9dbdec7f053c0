#!/usr/bin/env node
// One-time setup that the README's two commands run first, so a fresh machine needs nothing
// else: installs npm packages (npm ci) when node_modules is missing or stale, and from Debian
// packages PostgreSQL (server, pg_dump, pg_restore) and shellcheck when they are not there.
// Plain Node on purpose: it runs before any dependency is installed.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync, lstatSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const log = (msg) => process.stderr.write(`[setup] ${msg}\n`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...opts });
  if (r.status !== 0) {
    log(`${cmd} ${args.join(" ")} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

function npmPackages() {
  const lock = path.join(root, "package-lock.json");
  const installed = path.join(root, "node_modules", ".package-lock.json");
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  // A node_modules linked from another checkout is that checkout's: `npm ci` would empty it.
  const modules = path.join(root, "node_modules");
  if (existsSync(modules) && lstatSync(modules).isSymbolicLink()) {
    log("node_modules is a symlink to another checkout's packages: not reinstalling them here");
    return;
  }
  log("installing npm packages (npm ci)");
  run("npm", ["ci", "--no-audit", "--no-fund"]);
}

/** Directory holding initdb/pg_ctl/pg_dump/pg_restore, or undefined. */
export function findPgBin() {
  const tools = ["initdb", "pg_ctl", "pg_dump", "pg_restore", "postgres"];
  const candidates = [];
  if (existsSync("/usr/lib/postgresql")) {
    for (const v of readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a))) {
      candidates.push(`/usr/lib/postgresql/${v}/bin`);
    }
  }
  candidates.push(...(process.env.PATH ?? "").split(":"));
  return candidates.find((dir) => tools.every((t) => existsSync(path.join(dir, t))));
}

function onPath(bin) {
  return (process.env.PATH ?? "").split(":").some((dir) => dir && existsSync(path.join(dir, bin)));
}

/** Debian packages the tests run for real: PostgreSQL; shellcheck and zsh for the runbook's sh
 * blocks (linted, and pasted into an interactive zsh as on macOS). */
function debianPackages() {
  const missing = [];
  if (!findPgBin()) missing.push("postgresql", "postgresql-client");
  if (!onPath("shellcheck")) missing.push("shellcheck");
  if (!onPath("zsh")) missing.push("zsh");
  if (!missing.length) return;
  if (process.getuid?.() !== 0) {
    log(`missing Debian packages; install them: sudo apt-get install -y ${missing.join(" ")}`);
    process.exit(1);
  }
  log(`installing from Debian packages: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  run("apt-get", ["update", "-q"], { env });
  run("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...missing], { env });
  if (!findPgBin()) {
    log("PostgreSQL installed but initdb/pg_ctl not found");
    process.exit(1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  npmPackages();
  debianPackages();
}
