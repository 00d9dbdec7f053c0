import { env } from "cloudflare:test";
import { expect, it } from "vitest";
it("has bindings", async () => {
  expect(env.BACKUP_PLAN.stack).toBe("test");
  expect(typeof env.ENCRYPTION_KEY).toBe("string");
  await env.KV_SESSIONS.put("a", "b");
  expect(await env.KV_SESSIONS.get("a")).toBe("b");
});
