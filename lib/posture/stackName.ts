/** Stack names given on the command line: checked before they name a file or reach a command. */
import { StackConfigError } from "../pulumi/stackConfig";
import { STACK_NAME, STACK_NAME_RULE } from "./identifiers";

/** Throws a usage error unless `stack` is a Pulumi stack name (so `Pulumi.<stack>.yaml` stays in
 * the project directory and the name is safe in the runbook's commands). */
export function assertStackName(stack: string): void {
  if (!STACK_NAME.test(stack)) throw new StackConfigError(`--stack ${JSON.stringify(stack)}: must be ${STACK_NAME_RULE}`);
}
