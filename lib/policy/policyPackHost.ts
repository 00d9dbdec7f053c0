/**
 * Starts a policy pack the way the Pulumi CLI does and talks to it over the Analyzer gRPC
 * protocol (stubs from @pulumi/pulumi/proto):
 *   node <@pulumi/pulumi/cmd/run-policy-pack> <engine address> .      (cwd = the pack directory)
 * The pack prints the port of its gRPC server on stdout; everything after is RPC. One addition
 * to the command line: `--require lazySdkPreload.cjs`, which defers the SDK modules a pack never
 * calls (Automation API, closure serializer) to their first use, `--require
 * codeCachePreload.cjs`, a V8 code cache for the large files the pack compiles at every start
 * (the TypeScript compiler run-policy-pack loads, the SDK's protobuf modules), and `--require
 * nativeStringDecoderPreload.cjs`, long strings decoded by Node (the mirror of this side's
 * nativeStrings.ts); the pack and the protocol are untouched by them.
 */
import type * as grpc from "@grpc/grpc-js";
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { onCleanup, throwIfInterrupted } from "../process/cleanup";
import { lazySdk } from "./lazySdk.cjs";
import { nativeStringService } from "./nativeStrings";

interface Protos {
  grpc: typeof import("@grpc/grpc-js");
  rpc: any;
  analyzer: any;
  empty: any;
  struct: any;
}

let loaded: Protos | undefined;

/** gRPC and the generated protobuf stubs (CommonJS, untyped), loaded on first use: the pack
 * process is spawned before this cost is paid. */
export function protos(): Protos {
  loaded ??= {
    grpc: require("@grpc/grpc-js"),
    rpc: require("@pulumi/pulumi/proto/analyzer_grpc_pb"),
    analyzer: require("@pulumi/pulumi/proto/analyzer_pb"),
    empty: require("google-protobuf/google/protobuf/empty_pb"),
    struct: require("google-protobuf/google/protobuf/struct_pb"),
  };
  return loaded;
}

/** EnforcementLevel enum of the Analyzer protocol. */
export const ENFORCEMENT_LEVELS = ["advisory", "mandatory", "disabled", "remediate"] as const;
export type EnforcementLevel = (typeof ENFORCEMENT_LEVELS)[number];

export interface PolicyDescription {
  readonly name: string;
  readonly description: string;
  readonly enforcementLevel: EnforcementLevel;
  readonly configSchema: { properties: Record<string, { default?: unknown }>; required: string[] } | null;
}

export interface PackInfo {
  readonly name: string;
  readonly version: string;
  readonly policies: PolicyDescription[];
}

export class PolicyPackError extends Error {
  override readonly name = "PolicyPackError";
}

type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: any) => void) => void;

export interface PackStartOptions {
  readonly timeoutMs?: number;
  /** `node --require` the SDK deferral (lazySdkPreload.cjs); off with DRPOSTURE_CHECK_LAZY_SDK=0. */
  readonly deferUnusedSdk?: boolean;
  /** Long strings encoded (here) and decoded (in the pack) by Node; off with DRPOSTURE_CHECK_NATIVE_STRINGS=0. */
  readonly nativeStrings?: boolean;
}

/** False when DRPOSTURE_CHECK_NATIVE_STRINGS=0: google-protobuf's own string coding both ways
 * (an escape hatch, and the baseline the tests compare with). */
export const nativeStrings = (): boolean => process.env.DRPOSTURE_CHECK_NATIVE_STRINGS !== "0";

/**
 * The pack process, from spawn to stop. `start` spawns at once and returns: the pack loads while
 * the caller runs the program; `ready` settles when it serves (or fails). Until `stop`, the
 * process is registered with the cleanup registry, so Ctrl-C stops it even while it starts.
 */
export class PolicyPackHost {
  /** Resolves once the pack serves and the client is connected; rejects with PolicyPackError. */
  readonly ready: Promise<void>;
  private client: Record<string, Unary> | undefined;
  private stderr = "";
  private readonly unregister: Array<() => void> = [];

  private constructor(
    private readonly child: ChildProcess,
    timeoutMs: number,
    native: boolean,
  ) {
    child.stderr?.on("data", (d: Buffer) => (this.stderr += d.toString()));
    const running = () => child.exitCode === null && child.signalCode === null;
    const exited = new Promise<void>((resolve) => (child.once("exit", () => resolve()), child.once("error", () => resolve())));
    // Interrupted (Ctrl-C, SIGTERM): stop it, then wait for it to go (SIGKILL after 3 s).
    const name = `policy pack (pid ${child.pid})`;
    this.unregister.push(
      onCleanup(`stop ${name}`, () => running() && child.kill("SIGTERM")),
      onCleanup(`wait for ${name}`, async () => {
        const timer = setTimeout(() => running() && child.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(timer);
      }),
    );
    this.ready = this.serving(timeoutMs).then((port) => {
      const { rpc, grpc: g } = protos();
      const AnalyzerClient = g.makeGenericClientConstructor(native ? nativeStringService(rpc.AnalyzerService) : rpc.AnalyzerService, "Analyzer");
      this.client = new AnalyzerClient(`127.0.0.1:${port}`, g.credentials.createInsecure(), {
        "grpc.max_receive_message_length": 400 * 1024 * 1024,
        "grpc.max_send_message_length": 400 * 1024 * 1024,
      }) as unknown as Record<string, Unary>;
    });
    // Awaited later (after the program ran), or never when the program failed first.
    this.ready.catch(() => undefined);
  }

  /** Spawns the pack the way the Pulumi CLI does; returns before it serves (see `ready`). */
  static start(packDir: string, o: PackStartOptions = {}): PolicyPackHost {
    throwIfInterrupted();
    const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [packDir] });
    const preload = ["--require", path.join(__dirname, "codeCachePreload.cjs")];
    if (o.deferUnusedSdk ?? lazySdk()) preload.push("--require", path.join(__dirname, "lazySdkPreload.cjs"));
    const native = o.nativeStrings ?? nativeStrings();
    if (native) preload.push("--require", path.join(__dirname, "nativeStringDecoderPreload.cjs"));
    // The CLI passes its engine's address; run-policy-pack drops it before loading the pack.
    const child = spawn(process.execPath, [...preload, runner, "127.0.0.1:0", "."], { cwd: path.resolve(packDir), stdio: ["ignore", "pipe", "pipe"] });
    return new PolicyPackHost(child, o.timeoutMs ?? 60_000, native);
  }

  /** The port the pack prints once its gRPC server listens. */
  private serving(timeoutMs: number): Promise<number> {
    const child = this.child;
    return new Promise<number>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new PolicyPackError(`policy pack did not start within ${timeoutMs / 1000}s`)), timeoutMs);
      child.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
        const line = /^(\d+)\s*$/m.exec(out);
        if (line) {
          clearTimeout(timer);
          resolve(Number(line[1]));
        }
      });
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(new PolicyPackError(`policy pack did not start: ${err.message}`));
      });
      // "close", not "exit": its stderr is complete by then, and says why.
      child.once("close", (code) => {
        clearTimeout(timer);
        reject(new PolicyPackError(`policy pack exited with code ${code} before serving:\n${this.stderr.trim()}`));
      });
    });
  }

  private async call<T>(method: string, req: unknown): Promise<T> {
    await this.ready;
    const client = this.client as Record<string, Unary>;
    return new Promise((resolve, reject) => {
      const fn = client[method] as Unary | undefined;
      if (!fn) return reject(new PolicyPackError(`analyzer has no ${method}`));
      fn.call(client, req, (err, res) => (err ? reject(new PolicyPackError(`${method} failed: ${err.details || err.message}${this.stderr ? `\n${this.stderr}` : ""}`)) : resolve(res as T)));
    });
  }

  async info(): Promise<PackInfo> {
    const res = await this.call<any>("getAnalyzerInfo", new (protos().empty.Empty)());
    return {
      name: res.getName(),
      version: res.getVersion(),
      policies: res.getPoliciesList().map((p: any) => {
        const schema = p.getConfigschema();
        return {
          name: p.getName(),
          description: p.getDescription(),
          enforcementLevel: ENFORCEMENT_LEVELS[p.getEnforcementlevel()] ?? "advisory",
          configSchema: schema ? { properties: schema.getProperties()?.toJavaScript() ?? {}, required: schema.getRequiredList() } : null,
        };
      }),
    };
  }

  async configure(config: Record<string, { enforcementLevel: EnforcementLevel; properties: Record<string, unknown> }>): Promise<void> {
    const { analyzer, struct } = protos();
    const req = new analyzer.ConfigureAnalyzerRequest();
    const map = req.getPolicyconfigMap();
    for (const [name, c] of Object.entries(config)) {
      const pc = new analyzer.PolicyConfig();
      pc.setEnforcementlevel(ENFORCEMENT_LEVELS.indexOf(c.enforcementLevel));
      pc.setProperties(struct.Struct.fromJavaScript(c.properties));
      map.set(name, pc);
    }
    await this.call("configure", req);
  }

  async configureStack(project: string, stack: string, organization = "organization"): Promise<void> {
    const req = new (protos().analyzer.AnalyzerStackConfigureRequest)();
    req.setProject(project);
    req.setStack(stack);
    req.setOrganization(organization);
    req.setDryRun(true);
    await this.call("configureStack", req);
  }

  analyze(req: unknown): Promise<any> {
    return this.call("analyze", req);
  }

  analyzeStack(req: unknown): Promise<any> {
    return this.call("analyzeStack", req);
  }

  /**
   * Ends the pack without waiting for it: SIGTERM now, and SIGKILL as this process exits if it
   * is still there then (a pack that ignores SIGTERM must not outlive the check).
   */
  stop(): void {
    (this.client as unknown as grpc.Client | undefined)?.close?.();
    for (const u of this.unregister.splice(0)) u();
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const kill = () => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL");
    process.once("exit", kill);
    child.once("exit", () => process.off("exit", kill));
  }
}
