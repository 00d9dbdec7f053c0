/**
 * A Miniflare instance (a workerd child process) owned by the command's cleanup registry: on
 * SIGINT/SIGTERM the registry disposes it along with everything else, then exits 130.
 *
 * Miniflare installs SIGINT/SIGTERM listeners of its own that kill workerd and call
 * process.exit(130/143) at once; under the CLI they would cut the registry's cleanup short
 * (PostgreSQL left running, temp data left behind). When the process already handles those
 * signals (the CLI does), the listeners Miniflare adds are removed; its exit hook stays as the
 * last resort of a forced exit. Without a handler of ours (tests, benchmarks) Miniflare's stay.
 */
import { Miniflare, type MiniflareOptions } from "miniflare";
import { onCleanup, throwIfInterrupted } from "../process/cleanup";

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

export function ownedMiniflare(options: MiniflareOptions, label: string): Miniflare {
  // Nothing new starts once the command was asked to stop.
  throwIfInterrupted();
  const before = Object.fromEntries(SIGNALS.map((s) => [s, process.listeners(s)])) as Record<(typeof SIGNALS)[number], NodeJS.SignalsListener[]>;
  const mf = new Miniflare(options);
  for (const s of SIGNALS) {
    if (!before[s].length) continue;
    for (const l of process.listeners(s)) if (!before[s].includes(l)) process.removeListener(s, l);
  }
  // One disposal, whoever asks first (the registry on interrupt, the owner as usual): a second
  // concurrent dispose() would fail with "Server is not running".
  const original = mf.dispose.bind(mf);
  let disposing: Promise<void> | undefined;
  const dispose = () => (disposing ??= original());
  const unregister = onCleanup(`stop workerd (${label})`, dispose);
  mf.dispose = async () => {
    unregister();
    await dispose();
  };
  return mf;
}
