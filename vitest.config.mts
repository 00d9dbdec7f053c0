import { availableParallelism } from "node:os";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { workerdOutbound } from "./lib/local/tls";
import { testPlan } from "./tests/worker/testPlan";

// 32-byte test key (hex). Production keys come from @pulumi/random via the BackupWorker component.
export const TEST_ENCRYPTION_KEY = "6d1f0c5e3b2a4f8e9d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "node",
          include: ["tests/**/*.test.ts"],
          exclude: ["tests/worker/**", "node_modules/**"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Vitest's default is one file fewer than the cores: one at a time on a 2-core CI
          // machine, where each file also pays ~2-3 s of process start and imports. The node
          // tests mostly wait on their child processes (PostgreSQL, workerd, the CLI), so two
          // files at once cut the wall time by about a third there. Each file has its own temp
          // dirs, ports (0) and processes (found by pid or private TMPDIR), so they do not meet.
          maxWorkers: Math.max(2, availableParallelism() - 1),
          // Projects with different worker counts need their own group: node files first.
          sequence: { groupOrder: 0 },
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            main: "./worker/index.ts",
            wrangler: { configPath: "./worker/wrangler.jsonc" },
            miniflare: {
              // Extra bindings the tests use besides the Worker's own (restore targets).
              // RESTORE_TEST_*: the scratch resources restore tests write into (RestoreTesting component).
              d1Databases: ["D1_APP_DB", "D1_RESTORED", "RESTORE_TEST_D1"],
              kvNamespaces: ["KV_SESSIONS", "KV_RESTORED", "RESTORE_TEST_KV"],
              r2Buckets: ["R2_USER_UPLOADS", "BACKUP_R2", "R2_RESTORED", "RESTORE_TEST_R2"],
              // The local world's endpoints speak HTTPS with a throwaway CA.
              outboundService: workerdOutbound(inject("caPem")),
              bindings: {
                ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
                BACKUP_PLAN: testPlan({ endpoint: inject("s3Endpoint"), bucket: inject("s3Bucket"), region: inject("s3Region") }),
                // The identities the prod stack declares: the writer puts, the verifier reads.
                S3_WRITER_ACCESS_KEY_ID: inject("s3Writer").accessKeyId,
                S3_WRITER_SECRET_ACCESS_KEY: inject("s3Writer").secretAccessKey,
                S3_VERIFIER_ACCESS_KEY_ID: inject("s3Verifier").accessKeyId,
                S3_VERIFIER_SECRET_ACCESS_KEY: inject("s3Verifier").secretAccessKey,
                ALERT_WEBHOOK_URL: `${inject("alertReceiver")}/hook`,
              },
            },
          })),
        ],
        test: {
          name: "worker",
          include: ["tests/worker/**/*.test.ts"],
          globalSetup: ["./tests/worker/globalSetup.ts"],
          testTimeout: 120_000,
          // Vitest's default worker count; these files share the one local S3 world above.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
