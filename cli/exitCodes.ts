/** Exit codes of every drposture command. */
export const EXIT = {
  /** Everything checked out. */
  ok: 0,
  /** A policy violation, a failed verification, a drill outside its targets. */
  failed: 1,
  /** Bad usage or bad input: unknown flag, missing file, invalid stack config. */
  usage: 2,
} as const;

/** An error whose message is for the operator, with the exit code it maps to. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.usage) {
    super(message);
  }
}
