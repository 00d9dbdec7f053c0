/**
 * bench/check: wall time of `drposture check --stack prod` (a fresh CLI process: program under
 * mocks + the policy pack process over gRPC), against the floor, a fresh Node process that only
 * loads @pulumi/pulumi, @pulumi/aws and @pulumi/cloudflare. Median of N runs each, interleaved,
 * after one warm-up run of each (the first pack start also fills ts-node's compile cache).
 * Run: npm run bench:check -- [--runs 5]
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 5;

function time(args: string[]): { ms: number; status: number | null } {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
  const ms = performance.now() - t;
  if (r.status !== 0) process.stderr.write(r.stderr.toString());
  return { ms, status: r.status };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const floorArgs = ["-e", "require('@pulumi/pulumi'); require('@pulumi/aws'); require('@pulumi/cloudflare');"];
const checkArgs = [path.join(ROOT, "cli", "bin.cjs"), "check", "--stack", "prod"];

const coldCheck = time(checkArgs);
time(floorArgs);
const floor: number[] = [];
const check: number[] = [];
for (let i = 0; i < RUNS; i++) {
  floor.push(time(floorArgs).ms);
  const c = time(checkArgs);
  if (c.status !== 0) throw new Error(`drposture check exited ${c.status}`);
  check.push(c.ms);
}
const f = median(floor);
const c = median(check);
console.log(`bench/check on ${process.version}, ${RUNS} runs each`);
console.log(`  floor: node loading @pulumi/pulumi + @pulumi/aws + @pulumi/cloudflare   median ${(f / 1000).toFixed(2)} s  (runs: ${floor.map((x) => (x / 1000).toFixed(2)).join(" ")})`);
console.log(`  drposture check --stack prod                                        median ${(c / 1000).toFixed(2)} s  (runs: ${check.map((x) => (x / 1000).toFixed(2)).join(" ")})`);
console.log(`  first (cold) check run: ${(coldCheck.ms / 1000).toFixed(2)} s`);
console.log(`  ratio check/floor: ${(c / f).toFixed(2)}   (targets: under 5 s, under 2x the floor)`);
