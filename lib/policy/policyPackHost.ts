/**
 * Starts a policy pack the way the Pulumi CLI does and talks to it over the Analyzer gRPC
 * protocol (stubs from @pulumi/pulumi/proto):
 *   node <@pulumi/pulumi/cmd/run-policy-pack> <engine address> .      (cwd = the pack directory)
 * The pack prints the port of its gRPC server on stdout; everything after is RPC.
 */
import type * as grpc from "@grpc/grpc-js";
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";

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

export class PolicyPackError extends Error {}

type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: any) => void) => void;

export class PolicyPackHost {
  private constructor(
    private readonly child: ChildProcess,
    private readonly client: Record<string, Unary>,
    private readonly stderr: () => string,
  ) {}

  /** Spawns the pack and connects once it has printed its port. */
  static async start(packDir: string, timeoutMs = 60_000): Promise<PolicyPackHost> {
    const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [packDir] });
    // The CLI passes its engine's address; run-policy-pack drops it before loading the pack.
    const child = spawn(process.execPath, [runner, "127.0.0.1:0", "."], { cwd: path.resolve(packDir), stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    const port = await new Promise<number>((resolve, reject) => {
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
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new PolicyPackError(`policy pack exited with code ${code} before serving:\n${err.trim()}`));
      });
    });
    const { rpc, grpc: g } = protos();
    const client = new rpc.AnalyzerClient(`127.0.0.1:${port}`, g.credentials.createInsecure(), {
      "grpc.max_receive_message_length": 400 * 1024 * 1024,
      "grpc.max_send_message_length": 400 * 1024 * 1024,
    });
    return new PolicyPackHost(child, client, () => err);
  }

  private call<T>(method: string, req: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      const fn = this.client[method] as Unary | undefined;
      if (!fn) return reject(new PolicyPackError(`analyzer has no ${method}`));
      fn.call(this.client, req, (err, res) => (err ? reject(new PolicyPackError(`${method} failed: ${err.details || err.message}${this.stderr() ? `\n${this.stderr()}` : ""}`)) : resolve(res as T)));
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

  stop(): void {
    (this.client as unknown as grpc.Client).close?.();
    this.child.kill();
  }
}
