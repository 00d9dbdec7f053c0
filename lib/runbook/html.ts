/**
 * The runbook as one standalone HTML page (kept offline, printed, opened when the wiki is down).
 * Markdown is rendered by `marked`, which passes raw HTML through as it is: here every raw HTML
 * token is printed as text, links go only to http(s), mailto or an anchor, and images become
 * their alt text (the page loads nothing). A Content-Security-Policy that allows no script is the
 * second line, should anything get through anyway. marked is ESM-only: loaded with import().
 */
import type { RendererObject } from "marked";

const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");

const SAFE_HREF = /^(https?:|mailto:|#)/i;

const renderer: RendererObject = {
  html: ({ text }) => escapeHtml(text),
  link(token) {
    // false: marked's own rendering of the link.
    return SAFE_HREF.test(token.href) ? false : this.parser.parseInline(token.tokens);
  },
  image: ({ text }) => escapeHtml(text),
};

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111}
pre{background:#f4f4f4;padding:.75rem;overflow-x:auto}code{font-family:ui-monospace,monospace;font-size:90%}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.25rem .5rem;vertical-align:top}
h2{border-top:2px solid #333;padding-top:1rem;margin-top:2.5rem}@media print{pre{white-space:pre-wrap}}`;

export async function runbookHtml(markdown: string, title: string): Promise<string> {
  const { Marked } = await import("marked");
  const body = new Marked({ gfm: true, async: false, renderer }).parse(markdown) as string;
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    "</head>",
    "<body>",
    body,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}
