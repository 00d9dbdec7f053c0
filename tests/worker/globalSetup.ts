/**
 * Services the workerd tests reach over the network, started in Node: the local world of the
 * prod stack (its strict S3 endpoint holding the declared vault bucket, reached with the
 * identities the program declares), the Neon API stand-in, and an HTTP receiver that records
 * alert webhooks.
 */
import { createServer } from "node:http";
import { mkdtempSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { TestProject } from "vitest/node";
import { backupR2Bucket } from "../../lib/local/declaredWorld";
import { startLocalWorld } from "../../lib/local/localWorld";
import { startNeonStandin } from "../../lib/local/neonStandin";
import { runSql, startPgCluster } from "../../lib/local/postgres";

interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    s3Endpoint: string;
    s3Bucket: string;
    s3Region: string;
    s3Writer: Keys;
    s3Verifier: Keys;
    s3Restorer: Keys;
    s3Root: Keys;
    caPem: string;
    r2LockRules: Array<{ id: string; enabled: boolean; prefix: string; condition: { type: string; maxAgeSeconds?: number } }>;
    alertReceiver: string;
    neonStandin: string;
    /** A second Neon stand-in with a local PostgreSQL behind its SQL endpoint (restore tests). */
    neonRestoreStandin: string;
    neonRestoreSqlEndpoint: string;
  }
}

export default async function setup(project: TestProject) {
  const world = await startLocalWorld({ stack: "prod", dir: mkdtempSync(path.join(tmpdir(), "drposture-worker-world-")) });
  // Neon API stand-in (not Neon): project with a 1-day window, so the 7-day target drifts.
  const neon = await startNeonStandin({ apiKey: "neon-test-key", projectId: "standin-project-000001", branchId: "br-main-standin", historyRetentionSeconds: 86_400 });
  // Neon stand-in (not Neon) whose default branch is a healthy app database in a local
  // PostgreSQL: the restore test branches it and runs the integrity checks over HTTP.
  const pg = await startPgCluster();
  await runSql(pg.url(), ["CREATE DATABASE prod_app"]);
  await runSql(pg.url("prod_app"), [
    "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL)",
    "CREATE TABLE posts (id serial PRIMARY KEY, user_id int NOT NULL REFERENCES users(id), body text)",
    "INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com')",
    "INSERT INTO posts (user_id, body) VALUES (1, 'hello'), (2, 'world')",
  ]);
  const neonRestore = await startNeonStandin({ apiKey: "neon-test-key", projectId: "standin-project-000002", branchId: "br-main-restore", historyRetentionSeconds: 86_400, postgres: { url: (db) => pg.url(db), database: "prod_app" } });
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
  // workerd keeps connections to the receiver alive between tests; Node's default 5 s idle
  // timeout closed one under it mid-suite ("Network connection lost" in a test's afterEach).
  receiver.keepAliveTimeout = 10 * 60_000;
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  project.provide("s3Endpoint", world.aws.url);
  project.provide("s3Bucket", world.s3BucketName);
  project.provide("s3Region", world.s3Region);
  project.provide("s3Writer", world.s3Keys("writer"));
  project.provide("s3Verifier", world.s3Keys("verifier"));
  project.provide("s3Restorer", world.s3Keys("restorer"));
  project.provide("s3Root", world.rootKeys());
  project.provide("caPem", world.tls.caPem);
  project.provide("r2LockRules", backupR2Bucket(world.declared)?.lockRules ?? []);
  project.provide("neonStandin", neon.url);
  project.provide("neonRestoreStandin", neonRestore.url);
  project.provide("neonRestoreSqlEndpoint", neonRestore.sqlEndpoint);
  project.provide("alertReceiver", `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`);
  // Each one stopped whatever happens to the others: a PostgreSQL left running outlives the run.
  return async () => {
    await Promise.allSettled([world.close(), neon.close(), neonRestore.close(), new Promise<void>((r) => receiver.close(() => r()))]);
    await pg.stop();
  };
}
