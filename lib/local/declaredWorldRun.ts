/**
 * LOCAL WORLD. Runs the Pulumi program for a stack under the realistic mocks in a child process
 * (the Pulumi runtime is process-global state) and returns the declared world. The result is
 * cached on disk by the content of everything the program reads (its sources, Pulumi.yaml and
 * the stack file), so the many tests and the drill share one evaluation per change.
 *   node -r ./cli/register.cjs lib/local/declaredWorldRun.ts <projectDir> <stack>   prints it
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { extractDeclaredWorld, type DeclaredWorld } from "./declaredWorld";

const exec = promisify(execFile);
const ROOT = path.resolve(__dirname, "..", "..");

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sourceFiles(p, out);
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

function inputsHash(projectDir: string, stack: string): string {
  const files = [
    ...["components", "lib", "worker"].flatMap((d) => (existsSync(path.join(ROOT, d)) ? sourceFiles(path.join(ROOT, d)) : [])),
    path.join(projectDir, "index.ts"),
    path.join(projectDir, "Pulumi.yaml"),
    path.join(projectDir, `Pulumi.${stack}.yaml`),
  ].filter((f) => existsSync(f) && statSync(f).isFile()).sort();
  const h = createHash("sha256").update(`v1\0${projectDir}\0${stack}\0`);
  for (const f of files) h.update(f).update("\0").update(readFileSync(f)).update("\0");
  return h.digest("hex").slice(0, 24);
}

const memo = new Map<string, Promise<DeclaredWorld>>();

/** The world the program declares for `stack` (default project: this repository).
 * `generation` > 0 stands for a later deployment of the same stack (rebuilt after destroy or
 * lost state): random values, the data key among them, come out new. */
export function loadDeclaredWorld(stack: string, projectDir: string = ROOT, generation = 0): Promise<DeclaredWorld> {
  const key = `${projectDir}\0${stack}\0${generation}`;
  let p = memo.get(key);
  if (!p) {
    p = (async () => {
      const cacheDir = path.join(ROOT, "node_modules", ".cache", "drposture-world");
      const cached = path.join(cacheDir, `${stack}-${generation}-${inputsHash(projectDir, stack)}.json`);
      if (existsSync(cached)) return JSON.parse(readFileSync(cached, "utf8")) as DeclaredWorld;
      const { stdout } = await exec(process.execPath, ["-r", path.join(ROOT, "cli", "register.cjs"), __filename, projectDir, stack, String(generation)], { maxBuffer: 64 << 20 });
      mkdirSync(cacheDir, { recursive: true });
      const temp = `${cached}.${process.pid}`;
      writeFileSync(temp, stdout);
      renameSync(temp, cached);
      return JSON.parse(stdout) as DeclaredWorld;
    })();
    memo.set(key, p);
  }
  return p;
}

async function main(projectDir: string, stack: string, generation: number): Promise<void> {
  const { readStackConfig } = require("../pulumi/stackConfig") as typeof import("../pulumi/stackConfig");
  const { runProgramWithMocks } = require("../pulumi/runProgram") as typeof import("../pulumi/runProgram");
  const { RealisticMocks } = require("../pulumi/realisticMocks") as typeof import("../pulumi/realisticMocks");
  const cfg = readStackConfig(projectDir, stack);
  // As `pulumi up` runs it (not a preview): every output the mocks answer is known.
  const run = await runProgramWithMocks(cfg, async () => require(path.join(projectDir, "index.ts")), { preview: false, mocks: new RealisticMocks(generation) });
  process.stdout.write(JSON.stringify(extractDeclaredWorld(stack, run.registrations)));
}

if (require.main === module) {
  const [projectDir, stack, generation] = process.argv.slice(2);
  main(path.resolve(projectDir ?? ROOT), stack ?? "prod", Number(generation ?? 0)).catch((err: unknown) => {
    process.stderr.write(`declared world: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
