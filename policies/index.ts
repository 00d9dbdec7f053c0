/**
 * The dr-posture CrossGuard policy pack. `pulumi preview --policy-pack policies
 * --policy-pack-config policies/config/<stack>.json` loads this file; the policies live in
 * src/ (tests import them directly; constructing the pack here starts its gRPC server).
 */
import { PolicyPack } from "@pulumi/policy";
import { drposturePolicies } from "./src/all";

new PolicyPack("drposture", {
  description: "Blocks any change that weakens an environment's disaster-recovery posture.",
  enforcementLevel: "mandatory",
  policies: drposturePolicies,
});
