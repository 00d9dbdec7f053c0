/**
 * `drposture check`: the policy pack judging a stack offline, in seconds, with no cloud
 * credentials. The program runs under realistic mocks (as for `pulumi preview`); the pack runs
 * as its own process, started and driven exactly as the CLI drives it: GetAnalyzerInfo,
 * Configure (pack config merged over schema defaults), ConfigureStack, Analyze per resource,
 * AnalyzeStack once.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { Registration } from "../pulumi/registrations";
import type { ProgramRun } from "../pulumi/runProgram";
import type { PolicyConfigFile } from "./policyConfig";
import { trace } from "./checkTrace";
import { deferUnusedSdkParts, lazySdk } from "./lazySdk.cjs";
import { ENFORCEMENT_LEVELS, PolicyPackHost, protos, type EnforcementLevel, type PackInfo } from "./policyPackHost";

export interface Violation {
  readonly policy: string;
  readonly level: EnforcementLevel;
  readonly urn: string;
  readonly message: string;
}

export interface CheckResult {
  readonly stack: string;
  readonly project: string;
  readonly pack: { name: string; version: string; policies: number; configFile: string | null };
  readonly resources: Array<{ urn: string; type: string; name: string }>;
  readonly violations: Violation[];
}

/** A problem with the program or its config: exit 2, not a policy verdict. */
export class ProgramError extends Error {}

export interface CheckOptions {
  readonly cwd: string;
  readonly stack: string;
  readonly packDir: string;
  /** Pack config file; default <packDir>/config/<stack>.json when it exists. */
  readonly policyConfig?: string;
}

function programEntry(cwd: string): string {
  const YAML = require("yaml") as typeof import("yaml");
  const project = YAML.parse(readFileSync(path.join(cwd, "Pulumi.yaml"), "utf8")) as { main?: string };
  const candidates = [project?.main, "index.ts", "index.js"].filter((x): x is string => !!x).map((m) => path.resolve(cwd, m));
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new ProgramError(`no program entry in ${cwd} (tried ${candidates.join(", ")})`);
  return found;
}

function struct(value: Record<string, unknown>): unknown {
  // Struct cannot hold undefined; drop it the way the engine's serialization does.
  return protos().struct.Struct.fromJavaScript(JSON.parse(JSON.stringify(value)));
}

function options(r: Registration): unknown {
  const o = new (protos().analyzer.AnalyzerResourceOptions)();
  o.setProtect(r.protect);
  o.setAdditionalsecretoutputsList(r.additionalSecretOutputs);
  o.setParent(r.parent);
  return o;
}

function analyzeRequest(r: Registration): unknown {
  const req = new (protos().analyzer.AnalyzeRequest)();
  req.setType(r.type);
  req.setName(r.name);
  req.setUrn(r.urn);
  req.setProperties(struct(r.inputs));
  req.setOptions(options(r));
  return req;
}

function stackResource(r: Registration): unknown {
  const res = new (protos().analyzer.AnalyzerResource)();
  res.setType(r.type);
  res.setName(r.name);
  res.setUrn(r.urn);
  res.setProperties(struct(r.state));
  res.setOptions(options(r));
  res.setParent(r.parent);
  res.setDependenciesList(r.dependencies);
  const deps = res.getPropertydependenciesMap();
  for (const [k, urns] of Object.entries(r.propertyDependencies)) {
    const d = new (protos().analyzer.AnalyzerPropertyDependencies)();
    d.setUrnsList(urns);
    deps.set(k, d);
  }
  return res;
}

/** Violations of one Analyze/AnalyzeStack response. Resource policies report without a URN
 * (it is the resource analyzed); the SDK prefixes messages with the policy's description. */
function diagnostics(res: any, urn = ""): Violation[] {
  return res.getDiagnosticsList().map((d: any) => {
    const description: string = d.getDescription();
    const message: string = d.getMessage();
    return {
      policy: d.getPolicyname(),
      level: ENFORCEMENT_LEVELS[d.getEnforcementlevel()] ?? "advisory",
      urn: d.getUrn() || urn,
      message: description && message.startsWith(`${description}\n`) ? message.slice(description.length + 1) : message,
    };
  });
}

/** The program's config and entry, and the runtime to run it; a failure is a ProgramError. */
function loadProgram(o: CheckOptions) {
  try {
    const { readStackConfig } = require("../pulumi/stackConfig") as typeof import("../pulumi/stackConfig");
    const { runProgramWithMocks } = require("../pulumi/runProgram") as typeof import("../pulumi/runProgram");
    trace("program runtime loaded (@pulumi/pulumi, mocks)");
    const cfg = readStackConfig(o.cwd, o.stack);
    const entry = programEntry(o.cwd);
    trace("stack config parsed");
    return {
      cfg,
      run: (load: (entry: string) => Promise<unknown>, onRegistered: (r: Registration) => void) => runProgramWithMocks(cfg, () => load(entry), { onRegistered }),
    };
  } catch (err) {
    throw err instanceof ProgramError ? err : new ProgramError((err as Error).message);
  }
}

/** GetAnalyzerInfo, Configure (validated first, as `pulumi preview --policy-pack-config` does),
 * ConfigureStack: what the engine tells a pack before the program's resources arrive. */
async function configurePack(host: PolicyPackHost, project: string, o: CheckOptions, fileConfig: PolicyConfigFile, configFile: string | null): Promise<PackInfo> {
  await host.ready;
  trace("policy pack serving");
  const info = await host.info();
  const { reconcilePolicyConfig } = require("./policyConfig") as typeof import("./policyConfig");
  await host.configure(reconcilePolicyConfig(info, fileConfig, configFile ?? "(schema defaults)"));
  await host.configureStack(project, o.stack);
  trace("pack configured (GetAnalyzerInfo, Configure, ConfigureStack)");
  return info;
}

/** The resources a policy pack judges: not the root Stack, not provider instances. */
const judged = (r: Registration) => r.type !== "pulumi:pulumi:Stack" && !r.type.startsWith("pulumi:providers:");

/**
 * Analyze per resource as it registers, once the pack is configured: the engine, too, sends
 * Analyze as each resource's step is generated, while the program still runs. Settles with the
 * violations of every call, in registration order; a call that failed rejects (PolicyPackError).
 */
function analyzeAsRegistered(host: PolicyPackHost, configured: Promise<unknown>) {
  const calls: Array<Promise<Violation[]>> = [];
  return {
    onRegistered(r: Registration): void {
      if (!judged(r)) return;
      const call = configured.then(() => host.analyze(analyzeRequest(r))).then((res) => diagnostics(res, r.urn));
      call.catch(() => undefined); // awaited after the program, whose error comes first
      calls.push(call);
    },
    all: async () => (await Promise.all(calls)).flat(),
  };
}

/** The Analyze calls' verdicts, then AnalyzeStack once, as the engine ends `pulumi preview`. */
async function analyze(host: PolicyPackHost, info: PackInfo, registrations: readonly Registration[], analyzed: () => Promise<Violation[]>, project: string, o: CheckOptions, configFile: string | null): Promise<CheckResult> {
  const resources = registrations.filter(judged);
  // Built while the pack answers the last Analyze calls; sent once they are all answered.
  const stackReq = new (protos().analyzer.AnalyzeStackRequest)();
  stackReq.setResourcesList(resources.map(stackResource));
  trace("stack request built");
  const violations = await analyzed();
  trace(`resources analyzed (${resources.length} Analyze calls)`);
  violations.push(...diagnostics(await host.analyzeStack(stackReq)));
  trace("stack analyzed (AnalyzeStack)");
  return {
    stack: o.stack,
    project,
    pack: { name: info.name, version: info.version, policies: info.policies.length, configFile },
    resources: resources.map((r) => ({ urn: r.urn, type: r.type, name: r.name })),
    violations,
  };
}

export async function runCheck(o: CheckOptions, load: (entry: string) => Promise<unknown> = async (e) => require(e)): Promise<CheckResult> {
  trace("check started (CLI loaded, arguments parsed)");
  // The pack first, before this process loads anything heavy: it takes longer to start than the
  // program takes to load, and the two are independent processes until analysis. Bad input
  // below still fails at once; `finally` stops the pack.
  const host = PolicyPackHost.start(o.packDir);
  trace("policy pack spawned");
  try {
    // Before anything below loads the SDK or zod: for the program (resolving them from its
    // project) and for our own modules.
    if (lazySdk()) deferUnusedSdkParts([o.cwd, __dirname]);
    const { assertStackName } = require("../posture/stackName") as typeof import("../posture/stackName");
    assertStackName(o.stack);
    const configFile = o.policyConfig ?? [path.join(o.packDir, "config", `${o.stack}.json`)].find(existsSync) ?? null;
    // The file's shape is checked now; its values once the pack has said what its policies take.
    const { readPolicyConfigFile } = require("./policyConfig") as typeof import("./policyConfig");
    const fileConfig: PolicyConfigFile = configFile ? readPolicyConfigFile(configFile) : {};
    const program = loadProgram(o);
    // Configured as soon as it serves, while the program runs (the engine too configures its
    // analyzers before the program's resources arrive). A program error still comes first.
    const configured = configurePack(host, program.cfg.project, o, fileConfig, configFile);
    configured.catch(() => undefined);
    const analysis = analyzeAsRegistered(host, configured);
    let run: ProgramRun;
    try {
      run = await program.run(load, analysis.onRegistered);
      trace(`program evaluated: ${run.registrations.length} resources`);
    } catch (err) {
      throw new ProgramError((err as Error).message);
    }
    const info = await configured;
    trace("pack awaited");
    return await analyze(host, info, run.registrations, analysis.all, program.cfg.project, o, configFile);
  } finally {
    host.stop();
    trace("pack stopped");
  }
}
