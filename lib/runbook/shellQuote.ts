/**
 * Shell quoting for the runbook's commands. Every value that comes from the stack config goes
 * through `shq`, whatever the schema already allows: the runbook is pasted into a terminal at
 * the worst moment, and a name must never become code.
 *
 * `shq` is POSIX single quoting, the rule Python's shlex.quote uses: inside '...' nothing is
 * special, and a ' is written as '\'' (close the quote, an escaped quote, reopen). Strings made
 * only of characters no shell treats specially are left bare so the runbook stays readable.
 */

/** Characters that are never special to sh/bash in an argument (shlex.quote's safe set). */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function shq(value: string): string {
  if (SAFE.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A command substitution inside a word: its command is built with `shq` by the caller. */
export interface Substitution {
  readonly command: string;
}

export const sub = (command: string): Substitution => ({ command });

/** One shell word from literal parts (each quoted with `shq`) and command substitutions
 * (double-quoted, so their output is not split or globbed): s3://"$(pulumi ...)"'?region=x'. */
export function word(...parts: Array<string | Substitution>): string {
  return parts.map((p) => (typeof p === "string" ? (p === "" ? "" : shq(p)) : `"$(${p.command})"`)).join("");
}

/** A placeholder the operator must fill in: a variable the block checks before anything runs. */
export function requireVar(name: string, what: string): string {
  if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new Error(`not a variable name: ${name}`);
  return `: "\${${name}:?set ${name} to ${what.replace(/[^A-Za-z0-9 ,.:()/_-]/g, "")}}"`;
}
