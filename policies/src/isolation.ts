/** 3-2-1: copies in two providers, the S3 copy away from the primary region. */
import type { StackValidationPolicy } from "@pulumi/policy";
import { is, ofType, T } from "./resources";
import { AWS_REGION_PATTERN } from "./configSchemas";

export const copiesInTwoProviders: StackValidationPolicy = {
  name: "copies-in-two-providers",
  description:
    "Backups are kept in two providers: at least one R2 bucket and one S3 bucket. Each S3 backup bucket names its region explicitly, and that region is neither the primary region (from the DisasterRecovery component) nor one the organisation forbids.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      forbiddenRegions: { type: "array", items: { type: "string", pattern: AWS_REGION_PATTERN }, uniqueItems: true, default: [], description: "AWS regions where backups must not live (the primary's)." },
    },
  },
  validateStack: (args, report) => {
    const { forbiddenRegions } = args.getConfig<{ forbiddenRegions: string[] }>();
    const s3 = ofType(args.resources, T.s3Bucket);
    const r2 = ofType(args.resources, T.r2Bucket);
    const root = args.resources.find((r) => is(r, T.drComponent));
    const anchor = root?.urn ?? s3[0]?.urn ?? r2[0]?.urn;
    if (!s3.length) report("No S3 backup bucket: backups live with one provider only. Add the S3 copy (another provider, another region).", anchor);
    if (!r2.length) report("No R2 backup bucket: backups live with one provider only. Add the secondary R2 bucket.", anchor);
    const primary = root?.props.primaryRegion as string | undefined;
    for (const b of s3) {
      const region = b.props.region as string | undefined;
      if (!region) {
        report(`S3 bucket ${b.name} does not set its region; set it explicitly so isolation from the primary region can be checked.`, b.urn);
      } else if (region === primary || forbiddenRegions.includes(region)) {
        report(`S3 bucket ${b.name} is in ${region}, the primary region${region === primary ? "" : " (forbidden by policy)"}; a regional outage would take the copy too. Set drposture:vault.s3Region elsewhere.`, b.urn);
      }
    }
  },
};
