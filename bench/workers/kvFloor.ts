/**
 * Benchmark Worker: the floor for a KV backup, a bare loop that lists every key of the
 * namespace and reads each value, and does nothing else.
 */
interface Env {
  readonly KV_SESSIONS: KVNamespace;
}

export default {
  async fetch(_req: Request, env: Env): Promise<Response> {
    let cursor: string | undefined;
    let keys = 0;
    let bytes = 0;
    do {
      const page = await env.KV_SESSIONS.list(cursor ? { cursor } : {});
      for (const k of page.keys) {
        const v = await env.KV_SESSIONS.get(k.name, "arrayBuffer");
        bytes += v?.byteLength ?? 0;
        keys++;
      }
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    return Response.json({ keys, bytes });
  },
};
