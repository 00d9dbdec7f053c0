/**
 * Services the workerd tests reach over the network, started in Node: a local S3 endpoint
 * (s3rver) as the second backup destination, and an HTTP receiver that records alert webhooks.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";
import { startLocalS3 } from "../../lib/local/s3Endpoint";
import { startNeonStandin } from "../../lib/standins/neonApiStandin";

declare module "vitest" {
  export interface ProvidedContext {
    s3Endpoint: string;
    alertReceiver: string;
    neonStandin: string;
  }
}

export default async function setup(project: TestProject) {
  const s3 = await startLocalS3(["drposture-test-s3"]);
  // Neon API stand-in (not Neon): project with a 1-day window, so the 7-day target drifts.
  const neon = await startNeonStandin({ apiKey: "neon-test-key", projectId: "standin-project-000001", branchId: "br-main-standin", historyRetentionSeconds: 86_400 });
  const received: Array<{ path: string; body: unknown }> = [];
  let failNext = 0;
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      if (req.method === "GET" && url.pathname === "/received") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(received));
      } else if (req.method === "POST" && url.pathname === "/fail-next") {
        failNext = Number(url.searchParams.get("n") ?? 1);
        res.writeHead(204).end();
      } else if (req.method === "DELETE" && url.pathname === "/received") {
        received.length = 0;
        res.writeHead(204).end();
      } else if (failNext > 0) {
        failNext--;
        res.writeHead(503).end();
      } else {
        received.push({ path: url.pathname + url.search, body: JSON.parse(Buffer.concat(chunks).toString("utf8") || "null") });
        res.writeHead(202).end();
      }
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  project.provide("s3Endpoint", s3.endpoint);
  project.provide("neonStandin", neon.url);
  project.provide("alertReceiver", `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`);
  return async () => {
    await s3.close();
    await neon.close();
    await new Promise<void>((r) => receiver.close(() => r()));
  };
}
