/**
 * The one place a failed command becomes what the operator sees: one line saying what failed
 * and what to do, an exit code (1 failure, 2 usage or input, 130 interrupted), and with --json
 * a JSON document on stdout ({"error": {"code", "message"}}) so a pipeline never reads nothing.
 * An error nobody anticipated prints one line too; DRPOSTURE_DEBUG=1 adds its stack.
 */
import { CommanderError } from "commander";
import { CliError, EXIT } from "./exitCodes";

export interface CliFailure {
  /** Stable and machine-readable: the error's class, errno or SQLSTATE family. */
  readonly code: string;
  readonly message: string;
  readonly exitCode: number;
}

/** Bad input (exit 2): named, so that classifying needs none of their modules. */
const USAGE_ERRORS = new Set(["PostureConfigError", "StackConfigError", "StoreSpecError", "KeySourceError", "RestoreInputError", "FixtureError", "PolicyConfigError", "WebhookUrlError", "IntegrityTargetError"]);

/** Known failures of the work itself (exit 1). */
const FAILURE_ERRORS = new Set([
  "PolicyPackError",
  "RestoreRefusedError",
  "ArtifactIntegrityError",
  "ManifestError",
  "StorageError",
  "NeonOperationError",
  "PostgresBackupError",
  "TriggerError",
  "PostgresRestoreError",
  "D1RestoreError",
  "StateSealError",
  "PlanTooLargeError",
  "LimitExceededError",
]);

/** What a Node system error means to an operator, by errno code. */
const SYSTEM_ERRORS: Record<string, string> = {
  ENOENT: "no such file or directory",
  ENOTDIR: "a part of the path is not a directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EEXIST: "already exists",
  EISDIR: "is a directory",
  ENOSPC: "no space left on the device",
  ECONNREFUSED: "connection refused (is the service running, is the address right?)",
  ECONNRESET: "connection reset by the other side",
  ENOTFOUND: "host not found (check the address)",
  EAI_AGAIN: "name resolution failed (check the network and the address)",
  ETIMEDOUT: "timed out",
  EHOSTUNREACH: "host unreachable",
  CERT_HAS_EXPIRED: "the server's TLS certificate has expired",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the server's TLS certificate is not trusted",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the server's TLS certificate is not trusted",
};

interface SystemLike {
  code?: unknown;
  syscall?: unknown;
  path?: unknown;
  address?: unknown;
  port?: unknown;
  hostname?: unknown;
  cause?: unknown;
}

function systemFailure(err: SystemLike, context: string): CliFailure | null {
  const code = typeof err.code === "string" ? err.code : undefined;
  if (!code || !(code in SYSTEM_ERRORS)) return null;
  const where = typeof err.path === "string" ? err.path : typeof err.hostname === "string" ? err.hostname : typeof err.address === "string" ? `${err.address}${err.port ? `:${err.port}` : ""}` : "";
  return { code, message: `${context}${where ? `${where}: ` : ""}${SYSTEM_ERRORS[code]}`, exitCode: EXIT.failed };
}

/** node-postgres errors carry a five-character SQLSTATE and a severity. */
function postgresFailure(err: Error & { code?: unknown; severity?: unknown }): CliFailure | null {
  if (typeof err.severity !== "string" || typeof err.code !== "string" || !/^[0-9A-Z]{5}$/.test(err.code)) return null;
  const hint = err.code.startsWith("28") ? " (check the user and password in the connection string)" : err.code === "3D000" ? " (the database does not exist; create it first)" : "";
  return { code: `SQLSTATE-${err.code}`, message: `PostgreSQL: ${err.message}${hint}`, exitCode: EXIT.failed };
}

export function classify(err: unknown): CliFailure {
  if (err instanceof CommanderError) return { code: err.code, message: err.message.replace(/^error: /, ""), exitCode: err.exitCode === 0 ? EXIT.ok : EXIT.usage };
  if (err instanceof CliError) return { code: "CliError", message: err.message, exitCode: err.exitCode };
  if (!(err instanceof Error)) return { code: "internal", message: `unexpected error: ${String(err)}`, exitCode: EXIT.failed };
  if (err.name === "InterruptedError") return { code: "interrupted", message: err.message, exitCode: 130 };
  if (USAGE_ERRORS.has(err.name)) return { code: err.name, message: err.message, exitCode: EXIT.usage };
  if (FAILURE_ERRORS.has(err.name)) return { code: err.name, message: err.message, exitCode: EXIT.failed };
  const pg = postgresFailure(err as Error & { code?: unknown; severity?: unknown });
  if (pg) return pg;
  const sys = systemFailure(err as SystemLike, "");
  if (sys) return sys;
  // fetch() wraps the socket error: "fetch failed" with the errno in `cause`.
  const cause = (err as SystemLike).cause;
  if (err.message === "fetch failed" && cause && typeof cause === "object") {
    const inner = systemFailure(cause as SystemLike, "cannot reach ");
    if (inner) return inner;
    return { code: "fetch", message: `cannot reach the endpoint: ${(cause as Error).message ?? String(cause)}`, exitCode: EXIT.failed };
  }
  return { code: "internal", message: `unexpected error: ${err.message} (DRPOSTURE_DEBUG=1 prints the stack trace)`, exitCode: EXIT.failed };
}

/** Prints the failure: one line on stderr; with --json also the JSON document on stdout. */
export function report(err: unknown, o: { json: boolean; debug: boolean; alreadyPrinted?: boolean }): number {
  const f = classify(err);
  if (f.exitCode === EXIT.ok) return EXIT.ok;
  // Commander has printed its own message (and the help) already.
  if (!(err instanceof CommanderError) && !o.alreadyPrinted) process.stderr.write(`drposture: ${f.message}\n`);
  if (o.debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  if (o.json) process.stdout.write(`${JSON.stringify({ error: { code: f.code, message: f.message } })}\n`);
  return f.exitCode;
}
