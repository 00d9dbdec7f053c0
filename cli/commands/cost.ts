/** `drposture cost`: the monthly cost of a stack's DR posture from its declared sizes. */
import type { Command } from "commander";
import { CliError, EXIT } from "../exitCodes";
import { table } from "../table";
import { PROJECT_ROOT } from "./common";
import { loadStackPosture } from "./posture";

export function registerCost(program: Command): void {
  program
    .command("cost")
    .description("monthly cost of the stack's DR posture from declared sizes (drposture:sizes) and published prices, per asset, with sources")
    .option("--stack <name>", "stack whose Pulumi.<stack>.yaml to read", "prod")
    .option("--cwd <dir>", "project directory", PROJECT_ROOT)
    .option("--sizes <file>", "YAML or JSON sizes overriding drposture:sizes asset by asset")
    .option("--json", "the estimate as a JSON document")
    .action((o: { stack: string; cwd: string; sizes?: string; json?: boolean }) => {
      const { readSizesFile, mergeSizes, costInputOf, SIZES_SHAPE, SizesFileError } = require("../../lib/cost/fromPosture") as typeof import("../../lib/cost/fromPosture");
      const { estimateCost } = require("../../lib/cost/estimate") as typeof import("../../lib/cost/estimate");
      const { assetsWithoutSizes } = require("../../lib/cost/input") as typeof import("../../lib/cost/input");
      const { MissingPriceError } = require("../../lib/cost/prices") as typeof import("../../lib/cost/prices");
      const render = require("../../lib/cost/render") as typeof import("../../lib/cost/render");
      let fileSizes;
      try {
        fileSizes = o.sizes !== undefined ? readSizesFile(o.sizes) : undefined;
      } catch (err) {
        if (err instanceof SizesFileError) throw new CliError(err.message, EXIT.usage);
        throw err;
      }
      const posture = loadStackPosture(o.cwd, o.stack);
      const input = costInputOf(posture, mergeSizes(posture.sizes, fileSizes));
      const missing = assetsWithoutSizes(input);
      if (missing.length) {
        throw new CliError(`no declared size for ${missing.join(", ")}: declare drposture:sizes in Pulumi.${o.stack}.yaml or pass --sizes FILE shaped ${SIZES_SHAPE}`, EXIT.usage);
      }
      let estimate;
      try {
        estimate = estimateCost(input);
      } catch (err) {
        if (err instanceof MissingPriceError) throw new CliError(err.message, EXIT.failed);
        throw err;
      }
      process.stdout.write(o.json ? `${JSON.stringify(render.estimateJson(estimate), null, 2)}\n` : render.renderText(estimate, table));
    });
}
