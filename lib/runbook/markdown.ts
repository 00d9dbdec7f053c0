/**
 * Markdown building blocks of the runbook. Text from the stack config that is free text (names,
 * how to reach people, meanings) goes through `mdText`: it is printed in table cells and
 * paragraphs, and rendered to HTML, so it must not end a cell, start a list, link, or carry
 * HTML. Shell blocks never contain free text (they take ids and names that `shq` quotes).
 */

/**
 * A fenced block of shell lines; the tests run each through bash -n and shellcheck. A block of
 * several lines is one subshell with errexit: pasted into an interactive terminal, a failed
 * `: "${VAR:?...}"` check or command would otherwise only print an error and the lines after it
 * would run anyway (with the value empty, after a failed --validate-only). The subshell stops
 * there, and what the block exports (keys, tokens) ends with it. Interactive zsh (macOS's
 * shell) reads `#` as a command unless interactive_comments is set, which errexit would stop
 * at: a block with comment lines turns it on first (bash has no setopt; the error is hidden).
 */
export const sh = (lines: string | readonly string[]): string => {
  const body = (typeof lines === "string" ? [lines] : lines).join("\n").split("\n");
  if (body.length === 1) return ["```sh", ...body, "```"].join("\n");
  const zshComments = body.some((l) => /^\s*#/.test(l)) ? [ZSH_COMMENTS] : [];
  return ["```sh", ...zshComments, "(", "set -eu", ...body, ")", "```"].join("\n");
};

export const ZSH_COMMENTS = "setopt interactive_comments 2>/dev/null || true";

/** A block that sets variables in the operator's shell for the blocks after it (credentials):
 * not a subshell, or they would end with it. Only assignments and exports belong here; a
 * command that fails in one leaves a variable empty, which the command using it reports. */
export const shEnv = (lines: readonly string[]): string => {
  if (lines.some((l) => !/^(export [A-Z_ ]+|[A-Z][A-Z0-9_]*=.*)$/.test(l))) throw new Error(`not an environment block: ${lines.join("; ")}`);
  return ["```sh", ...lines, "```"].join("\n");
};

/** 90 -> "90 min", 120 -> "2 h", 1440 -> "1 d". */
export const mins = (m: number): string => (m % 1440 === 0 && m > 0 ? `${m / 1440} d` : m % 60 === 0 && m > 0 ? `${m / 60} h` : `${m} min`);

/** Free text as literal Markdown: every character Markdown or HTML could read as markup is
 * backslash-escaped (CommonMark lets any ASCII punctuation be escaped), so a `<script>` is
 * text, `|` does not end a table cell and `*`, `[`, `` ` `` start nothing; anything that is not
 * one line is flattened. Readable in the terminal, literal in any renderer. */
export function mdText(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, " ").replace(/[\\`*_{}[\]()<>&|~#!]/g, (c) => `\\${c}`);
}

/** An id or name as inline code, or as escaped text when it could not be one (a backtick or a
 * pipe: validated config never holds either, a posture built without validation might). */
export const mdCode = (value: string): string => (/^[^`|\\\u0000-\u001f]+$/.test(value) ? `\`${value}\`` : mdText(value));

/** A table row from cells that are already Markdown (escape free text with mdText first). */
export const row = (cells: readonly string[]): string => `| ${cells.join(" | ")} |`;
