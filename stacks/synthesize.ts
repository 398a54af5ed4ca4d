/**
 * Synthesizes a stage's CloudFormation in process, without AWS: SST's App in deploy mode (functions
 * are bundled), cdk-nag's AwsSolutions checks on every stack. Used by `spot-manager synth` and the
 * stack tests.
 */
import { Aspects } from "aws-cdk-lib";
import { readFileSync } from "node:fs";
import { Template } from "aws-cdk-lib/assertions";
import type { CloudAssembly } from "aws-cdk-lib/cx-api";
import type * as cdk from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { initProject } from "sst/project.js";
import { App, type Stack as SstStack } from "sst/constructs";
import sstConfig from "../sst.config";
import { applySuppressions } from "./nag";
import { overrideStageConfig } from "./stage";

export const PLACEHOLDER_ACCOUNT = "123456789012";

export interface NagFinding {
  stack: string;
  path: string;
  rule: string;
  message: string;
}

export interface SynthResult {
  stage: string;
  region: string;
  outdir: string;
  stacks: { name: string; templateFile: string; template: Template; stack: cdk.Stack }[];
  errors: NagFinding[];
  warnings: NagFinding[];
}

/** cdk-nag reports as construct metadata; read it from the synthesized assembly (no second synthesis). */
function findings(assembly: CloudAssembly, stack: cdk.Stack, level: "error" | "warning"): NagFinding[] {
  return assembly
    .getStackArtifact(stack.artifactId)
    .messages.filter((m) => m.level === level && /^AwsSolutions-/.test(String(m.entry.data)))
    .map((m) => {
      const text = String(m.entry.data);
      return { stack: stack.stackName, path: m.id, rule: /^(AwsSolutions-[A-Za-z0-9]+)/.exec(text)?.[1] ?? "?", message: text.split("\n")[0] ?? text };
    });
}

export interface SynthOptions {
  stage: string;
  outdir: string;
  region?: string;
  nag?: boolean;
  /** Settings merged over the stage's defaults, instead of config/<stage>.json. */
  config?: unknown;
}

export async function synthesizeStage(options: SynthOptions): Promise<SynthResult> {
  const region = options.region ?? "us-west-2";
  if (options.config !== undefined) overrideStageConfig(options.stage, options.config);
  // SST skips its bootstrap lookups (which need AWS) when it runs under test; synthesis here is offline
  process.env["NODE_ENV"] = "test";
  await initProject({ stage: options.stage, region });
  const app = new App({ mode: "deploy", stage: options.stage, name: "spot-manager", region, account: PLACEHOLDER_ACCOUNT }, { outdir: options.outdir });
  // what a context lookup would find, so no AWS call is needed for the VPC's zones
  app.node.setContext(`availability-zones:account=${PLACEHOLDER_ACCOUNT}:region=${region}`, ["a", "b", "c", "d"].map((z) => `${region}${z}`));
  sstConfig.stacks(app);
  if (options.nag !== false) Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  await app.finish();
  if (options.nag !== false) applySuppressions(app);
  const assembly = app.synth();
  const stacks = app.node.children
    .filter((c): c is SstStack => (c as { stackName?: string }).stackName !== undefined && (c as cdk.Stack).templateFile !== undefined)
    .map((stack) => ({
      name: stack.stackName,
      templateFile: `${assembly.directory}/${stack.templateFile}`,
      template: Template.fromJSON(JSON.parse(readFileSync(`${assembly.directory}/${stack.templateFile}`, "utf8")) as Record<string, unknown>),
      stack,
    }));
  return {
    stage: options.stage,
    region,
    outdir: assembly.directory,
    stacks,
    errors: options.nag === false ? [] : stacks.flatMap((s) => findings(assembly, s.stack, "error")),
    warnings: options.nag === false ? [] : stacks.flatMap((s) => findings(assembly, s.stack, "warning")),
  };
}
