/** JSON answers of the trigger routes; refusals carry a short error and nothing more. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "cache-control": "no-store", ...headers } });
}

export function refuse(status: 400 | 401 | 404 | 405 | 409 | 413 | 500, error: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Response {
  return json(status, { error, ...extra }, headers);
}
