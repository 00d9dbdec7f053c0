/**
 * Records every resource registration a program makes under mocks, as the engine sees it:
 * URN, parent, dependencies, property dependencies, options, inputs and resulting state.
 * The policy check replays these to the policy pack exactly as `pulumi preview` would.
 */
import * as pulumi from "@pulumi/pulumi";

export interface Registration {
  readonly urn: string;
  /** Provider id (a bucket name, an access key id...); empty for components. */
  readonly id: string;
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  readonly parent: string;
  readonly provider: string;
  readonly dependencies: string[];
  readonly propertyDependencies: Record<string, string[]>;
  readonly protect: boolean;
  /** Left in the cloud when removed from the stack (`retainOnDelete`). */
  readonly retainOnDelete: boolean;
  readonly additionalSecretOutputs: string[];
  /** Inputs as registered (secrets still wrapped). */
  readonly inputs: Record<string, unknown>;
  /** Inputs merged with the (mocked) provider outputs. */
  readonly state: Record<string, unknown>;
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getCustom(): boolean;
  getParent(): string;
  getProvider(): string;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(cb: (v: { getUrnsList(): string[] }, k: string) => void): void };
  getProtect?(): boolean;
  getRetainondelete?(): boolean | undefined;
  getAdditionalsecretoutputsList(): string[];
  getObject(): unknown;
}

interface RegisterResponse {
  getUrn(): string;
  getId(): string;
  getObject(): unknown;
}

type Callback = (err: unknown, resp?: RegisterResponse) => void;

/** Hooks the (mock) resource monitor; call right after setMocks, before the program runs.
 * `onRegistered` sees each registration as the engine would, while the program still runs. */
export function captureRegistrations(onRegistered?: (r: Registration) => void): Registration[] {
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: RegisterRequest, cb: Callback): void } | undefined;
  if (!monitor) throw new Error("no resource monitor: set mocks first");
  const out: Registration[] = [];
  const original = monitor.registerResource.bind(monitor);
  const deserialize = (s: unknown) => (s ? (pulumi.runtime.deserializeProperties(s as never) as Record<string, unknown>) : {});
  monitor.registerResource = (req, cb) =>
    original(req, (err, resp) => {
      if (!err && resp) {
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((v, k) => (propertyDependencies[k] = v.getUrnsList()));
        const inputs = deserialize(req.getObject());
        const registration: Registration = {
          urn: resp.getUrn(),
          id: resp.getId(),
          type: req.getType(),
          name: req.getName(),
          custom: req.getCustom(),
          parent: req.getParent(),
          provider: req.getProvider(),
          dependencies: req.getDependenciesList(),
          propertyDependencies,
          protect: req.getProtect?.() ?? false,
          retainOnDelete: req.getRetainondelete?.() ?? false,
          additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
          inputs,
          state: { ...inputs, ...deserialize(resp.getObject()) },
        };
        out.push(registration);
        onRegistered?.(registration);
      }
      // The engine's monitor answers over gRPC, so a program sees each answer on an I/O turn;
      // the mocks answer in a microtask, and a program's chain of them would hold off all
      // I/O (the policy pack's Analyze calls) until it ends.
      setImmediate(() => cb(err, resp));
    });
  return out;
}
