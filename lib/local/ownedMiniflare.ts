/**
 * A Miniflare instance (a workerd child process) owned by the command's cleanup registry: on
 * SIGINT/SIGTERM the registry disposes it along with everything else, then exits 130.
 *
 * Miniflare installs SIGINT/SIGTERM listeners of its own that kill workerd and call
 * process.exit(130/143) at once; under the CLI they would cut the registry's cleanup short
 * (PostgreSQL left running, temp data left behind). When the process already handles those
 * signals (the CLI does), the listeners Miniflare adds are removed; its exit hook stays as the
 * last resort of a forced exit.
 *
 * Miniflare keeps its storage (the local sources' data) in `os.tmpdir()/miniflare-*` and removes
 * it only fire-and-forget on dispose, so a CLI exiting right after left it behind: here it lives
 * in a directory of ours, removed once workerd has stopped, on a forced exit and at process exit.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Miniflare, type MiniflareOptions } from "miniflare";
import { onCleanup, onForcedExit, throwIfInterrupted } from "../process/cleanup";

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** `new Miniflare` with its temporary directory under `parent` (read once, in the constructor). */
function constructIn(parent: string, options: MiniflareOptions): Miniflare {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = parent;
  try {
    return new Miniflare(options);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

export function ownedMiniflare(options: MiniflareOptions, label: string): Miniflare {
  // Nothing new starts once the command was asked to stop.
  throwIfInterrupted();
  const parent = mkdtempSync(path.join(tmpdir(), "drposture-miniflare-"));
  const removeParent = () => rmSync(parent, { recursive: true, force: true });
  process.on("exit", removeParent);
  const unforce = onForcedExit(removeParent);
  const before = Object.fromEntries(SIGNALS.map((s) => [s, process.listeners(s)])) as Record<(typeof SIGNALS)[number], NodeJS.SignalsListener[]>;
  let mf: Miniflare;
  try {
    mf = constructIn(parent, options);
  } catch (err) {
    removeParent();
    unforce();
    process.off("exit", removeParent);
    throw err;
  }
  for (const s of SIGNALS) {
    if (!before[s].length) continue;
    for (const l of process.listeners(s)) if (!before[s].includes(l)) process.removeListener(s, l);
  }
  // One disposal, whoever asks first (the registry on interrupt, the owner as usual): a second
  // concurrent dispose() would fail with "Server is not running".
  const original = mf.dispose.bind(mf);
  let disposing: Promise<void> | undefined;
  const dispose = () =>
    (disposing ??= original().finally(() => {
      removeParent();
      unforce();
      process.off("exit", removeParent);
    }));
  const unregister = onCleanup(`stop workerd (${label})`, dispose);
  mf.dispose = async () => {
    unregister();
    await dispose();
  };
  return mf;
}
