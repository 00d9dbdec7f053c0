/**
 * NeonPitr: Neon's own recovery settings, applied through Neon's API v2.
 *  - the project's history_retention_seconds (the point-in-time restore window);
 *  - the branch's snapshot backup_schedule (daily/weekly/monthly counts, capped by the Neon plan).
 *
 * There is no Pulumi provider for these settings, so a @pulumi/command resource runs
 * components/neon/neonSettings.ts, which reads the current values, writes the declared
 * ones and reads them back. Any change to the window or the schedule re-runs it (update).
 *
 * Delete: nothing is changed in Neon. Removing the DR stack must not shorten the history of a
 * live database; the script prints that the settings were left in place.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import type { NeonPosture } from "../lib/posture/model";

export const NEON_API_URL = "https://console.neon.tech/api/v2";
const SCRIPT = path.join(__dirname, "neon", "neonSettings.ts");
const REGISTER = path.join(__dirname, "..", "cli", "register.cjs");

export interface NeonPitrArgs {
  /** Neon project id. */
  readonly projectId: pulumi.Input<string>;
  /** Branch whose snapshot schedule is set (the production branch). */
  readonly branchId: pulumi.Input<string>;
  /** Restore window in seconds (Neon: at most 30 days). */
  readonly historyRetentionSeconds: pulumi.Input<number>;
  /** Snapshot schedule items as Neon's backup_schedule endpoint takes them. */
  readonly snapshotSchedule: pulumi.Input<NeonPosture["snapshotSchedule"]>;
  /** Neon API key (secret). */
  readonly apiKey: pulumi.Input<string>;
  /** Neon API base URL; a stand-in URL in tests. */
  readonly apiUrl?: pulumi.Input<string>;
}

export class NeonPitr extends pulumi.ComponentResource {
  static readonly __pulumiType = "drposture:neon:NeonPitr";

  /** JSON the script printed: the settings as read back from Neon after applying. */
  readonly applied: pulumi.Output<string>;

  constructor(name: string, args: NeonPitrArgs, opts?: pulumi.ComponentResourceOptions) {
    const { apiKey, ...visible } = args;
    super(NeonPitr.__pulumiType, name, visible, opts);
    const run = (verb: string) => `node -r ${JSON.stringify(REGISTER)} ${JSON.stringify(SCRIPT)} ${verb}`;
    const settings = new command.local.Command(
      `${name}-settings`,
      {
        create: run("apply"),
        update: run("apply"),
        delete: run("release"),
        environment: {
          NEON_API_KEY: pulumi.secret(apiKey),
          NEON_API_URL: args.apiUrl ?? NEON_API_URL,
          NEON_PROJECT_ID: args.projectId,
          NEON_BRANCH_ID: args.branchId,
          NEON_HISTORY_RETENTION_SECONDS: pulumi.output(args.historyRetentionSeconds).apply(String),
          NEON_BACKUP_SCHEDULE: pulumi.jsonStringify(args.snapshotSchedule),
        },
      },
      { parent: this },
    );
    this.applied = settings.stdout;
    this.registerOutputs({ applied: this.applied });
  }
}
