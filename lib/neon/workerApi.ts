/**
 * Neon's API v2 over plain fetch, for code that runs in the backup Worker (the api-client package
 * is axios-based and for Node). Errors carry the HTTP status and Neon's own message: Neon answers
 * errors with a JSON body holding `code` and `message` (GeneralError in the API's OpenAPI spec).
 */
import type { Api } from "@neondatabase/api-client";

export class NeonApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "NeonApiError";
  }
}

const HINT: Record<number, string> = {
  401: "; the Neon API key was refused (is NEON_API_KEY current?)",
  403: "; the Neon API key may not do this on this project",
  423: "; an operation of the project is still running",
};

export class NeonApi {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;

  constructor(apiUrl: string, private readonly apiKey: string, fetchFn?: typeof fetch) {
    this.base = apiUrl.replace(/\/$/, "");
    // Unbound `fetch` throws "Illegal invocation" in workerd.
    this.fetchFn = fetchFn ?? ((input, init) => fetch(input, init));
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetchFn(`${this.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.apiKey}`, accept: "application/json", ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) {
      let message = text.slice(0, 300);
      try {
        message = String((JSON.parse(text) as { message?: unknown }).message ?? message);
      } catch {
        // not JSON: keep the text
      }
      throw new NeonApiError(res.status, `Neon API ${method} ${path.split("?")[0]}: HTTP ${res.status}: ${message}${HINT[res.status] ?? ""}`);
    }
    return JSON.parse(text) as T;
  }

  /** What lib/neon/operations.ts polls with: GET /projects/{id}/operations/{operation_id}. */
  readonly operations = {
    getProjectOperation: async (projectId: string, operationId: string) => ({ data: await this.call(`GET`, `/projects/${projectId}/operations/${operationId}`) }),
  } as unknown as Pick<Api<unknown>, "getProjectOperation">;
}
