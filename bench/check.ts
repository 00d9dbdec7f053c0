/**
 * bench/check: wall time of `drposture check --stack prod` (a fresh CLI process: program under
 * mocks + the policy pack process over gRPC), against the floor, a fresh Node process that only
 * loads @pulumi/pulumi, @pulumi/aws and @pulumi/cloudflare. Median of N runs each (default 7),
 * interleaved in the same run (floor, check, floor, check...) so that both see the same machine,
 * after one warm-up run of each (the first check fills the Worker bundle cache, ts-node's and
 * the pack's code cache).
 * Target (issue #12): the check within 1.5x the floor.
 * Run: npm run bench:check -- [--runs 7]
 */
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const TARGET = 1.5;
const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 7;
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs ${process.argv[runsArg + 1]}: expected a positive integer`);

function time(args: string[]): { ms: number; status: number | null } {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
  const ms = performance.now() - t;
  if (r.status !== 0) process.stderr.write(r.stderr.toString());
  return { ms, status: r.status };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return (s.length % 2 ? s[mid] : ((s[mid - 1] as number) + (s[mid] as number)) / 2) as number;
};
const secs = (ms: number) => (ms / 1000).toFixed(2);
const load = () => loadavg().map((l) => l.toFixed(1)).join(" ");

const floorArgs = ["-e", "require('@pulumi/pulumi'); require('@pulumi/aws'); require('@pulumi/cloudflare');"];
const checkArgs = [path.join(ROOT, "cli", "bin.cjs"), "check", "--stack", "prod"];

const loadBefore = load();
const coldCheck = time(checkArgs);
if (coldCheck.status !== 0) throw new Error(`drposture check exited ${coldCheck.status}`);
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
const ratio = c / f;
console.log(`bench/check on ${process.version}, median of ${RUNS} runs each, interleaved (load average before: ${loadBefore}; after: ${load()})`);
console.log(`  floor: node loading @pulumi/pulumi + @pulumi/aws + @pulumi/cloudflare   median ${secs(f)} s  (runs: ${floor.map(secs).join(" ")})`);
console.log(`  drposture check --stack prod                                        median ${secs(c)} s  (runs: ${check.map(secs).join(" ")})`);
console.log(`  first check run (warm-up): ${secs(coldCheck.ms)} s`);
console.log(`  ratio check/floor: ${ratio.toFixed(2)}x   target: at most ${TARGET}x the floor (${secs(f * TARGET)} s): ${ratio <= TARGET ? "met" : "NOT met"}`);
