/**
 * One node-postgres connection for the length of `fn`. A connection that breaks (the server
 * stopped by an interrupt's cleanup, a network failure) makes the Client emit 'error'; with no
 * listener Node turns that into a crash with a stack trace, so it is listened to here: the query
 * in flight rejects with the same error, which is what callers handle.
 */
import { Client, type ClientConfig } from "pg";

export async function withPgClient<T>(url: string, fn: (c: Client) => Promise<T>, config: Omit<ClientConfig, "connectionString"> = {}): Promise<T> {
  const c = new Client({ ...config, connectionString: url });
  c.on("error", () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}
