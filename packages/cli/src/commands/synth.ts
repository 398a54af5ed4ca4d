import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { CommandFailedError, UsageError } from "../options";

interface SynthFlags {
  stage: string;
  out?: string;
  region: string;
  config?: string;
  nag: boolean;
  json?: boolean;
}

/** `spot-manager synth`: CloudFormation for a stage, written to a folder, checked by cdk-nag; no AWS access. */
export function registerSynth(program: Command): void {
  program
    .command("synth")
    .description("Synthesize the CloudFormation templates of a stage into a folder (offline) and run cdk-nag's AwsSolutions checks")
    .option("--stage <name>", "stage to synthesize", "dev")
    .option("--out <dir>", "output folder (default: cdk.out/<stage>)")
    .option("--region <region>", "region the templates are for", process.env["AWS_REGION"] ?? "us-west-2")
    .option("--config <file>", "stage settings (JSON) merged over the stage's defaults, instead of config/<stage>.json")
    .option("--no-nag", "skip cdk-nag")
    .option("--json", "print the result as JSON")
    .action(async (flags: SynthFlags) => {
      let config: unknown;
      if (flags.config) {
        try {
          config = JSON.parse(await readFile(flags.config, "utf8"));
        } catch (error) {
          throw new UsageError(`cannot read --config ${flags.config}: ${(error as Error).message}`);
        }
      }
      // loaded on demand: the stacks pull in SST and the CDK, which the other commands never need
      process.env["AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE"] = "1";
      const { synthesizeStage } = await import("../../../../stacks/synthesize");
      const outdir = resolve(flags.out ?? `cdk.out/${flags.stage}`);
      const result = await synthesizeStage({ stage: flags.stage, outdir, region: flags.region, nag: flags.nag, ...(config !== undefined ? { config } : {}) });
      const summary = {
        stage: result.stage,
        region: result.region,
        outdir: result.outdir,
        stacks: result.stacks.map((s) => ({ name: s.name, template: s.templateFile, resources: Object.keys((s.template.toJSON()["Resources"] as object | undefined) ?? {}).length })),
        nag: flags.nag ? { errors: result.errors, warnings: result.warnings.length } : "skipped",
        // what the stacks tell the operator (a Kubernetes version leaving support, no cluster admins)
        notices: result.notices,
      };
      if (flags.json) console.log(JSON.stringify(summary, null, 2));
      else {
        for (const s of summary.stacks) console.log(`${s.name}: ${s.resources} resources -> ${s.template}`);
        // warnings were printed by the stacks as they ran (as under `sst deploy`); notices were not
        for (const n of result.notices.filter((n) => n.level === "info")) console.error(`info: ${n.stack}: ${n.message}`);
        if (flags.nag) console.log(`cdk-nag (AwsSolutions): ${result.errors.length} errors, ${result.warnings.length} warnings`);
        for (const e of result.errors) console.error(`  ${e.rule} ${e.path}: ${e.message}`);
      }
      if (result.errors.length > 0) throw new CommandFailedError(`cdk-nag found ${result.errors.length} error(s) in stage ${flags.stage}`);
    });
}
