/**
 * Synthesizes a stage's CloudFormation in process, without AWS, the way `sst deploy` does: SST
 * loads sst.config.ts (bundling it with its own esbuild), an App in deploy mode runs the config's
 * stacks (functions are bundled), then cdk-nag's AwsSolutions checks run on every stack. Only the
 * account lookup (a placeholder) and the availability-zone lookup (a fixed answer) differ. Used by
 * `spot-manager synth` and the stack tests.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Aspects } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type * as cdk from "aws-cdk-lib";
import type { CloudAssembly } from "aws-cdk-lib/cx-api";
import { AwsSolutionsChecks } from "cdk-nag";
import { ConfigError } from "@spot-manager/core";
import type { SSTConfig } from "sst";
import { App, type Stack as SstStack } from "sst/constructs";
import { initProject, useProject } from "sst/project.js";
import { load } from "sst/stacks/build.js";
import { applySuppressions } from "./nag";

export const PLACEHOLDER_ACCOUNT = "123456789012";

export interface NagFinding {
  stack: string;
  path: string;
  rule: string;
  message: string;
}

/** A warning or notice the stacks attached for the operator (not cdk-nag's). */
export interface SynthNotice {
  stack: string;
  level: "warning" | "info";
  message: string;
}

export interface SynthResult {
  stage: string;
  region: string;
  outdir: string;
  assembly: CloudAssembly;
  stacks: { name: string; templateFile: string; template: Template; stack: cdk.Stack }[];
  /** The CDK's nested stacks (the EKS cluster and kubectl providers), by name. */
  nestedStacks: { name: string; templateFile: string }[];
  errors: NagFinding[];
  warnings: NagFinding[];
  notices: SynthNotice[];
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

function notices(assembly: CloudAssembly, stack: cdk.Stack): SynthNotice[] {
  return assembly
    .getStackArtifact(stack.artifactId)
    .messages.filter((m) => (m.level === "warning" || m.level === "info") && !/^AwsSolutions-/.test(String(m.entry.data)))
    .map((m) => ({ stack: stack.stackName, level: m.level as "warning" | "info", message: String(m.entry.data).replace(/\s*\[ack: [^\]]+\]$/, "") }));
}

export interface SynthOptions {
  stage: string;
  outdir: string;
  region?: string;
  nag?: boolean;
  /** Settings merged over the stage's defaults, instead of config/<stage>.json (read as a stage file is). */
  config?: unknown;
}

export async function synthesizeStage(options: SynthOptions): Promise<SynthResult> {
  const region = options.region ?? "us-west-2";
  // SST skips its bootstrap lookups (which need AWS) when it runs under test; synthesis here is offline
  process.env["NODE_ENV"] = "test";
  const configDir = options.config !== undefined ? mkdtempSync(join(tmpdir(), "spot-manager-stage-")) : undefined;
  const previousDir = process.env["SPOT_MANAGER_CONFIG_DIR"];
  if (configDir) {
    writeFileSync(join(configDir, `${options.stage}.json`), JSON.stringify(options.config));
    process.env["SPOT_MANAGER_CONFIG_DIR"] = configDir;
  }
  try {
    await initProject({ stage: options.stage, region });
    const project = useProject();
    // what `sst deploy` runs: the config bundled by SST's esbuild, not this process's copy of it
    const [, sstConfig] = (await load(project.paths.config)) as readonly [unknown, SSTConfig];
    const app = new App({ mode: "deploy", stage: options.stage, name: project.config.name, region, account: PLACEHOLDER_ACCOUNT }, { outdir: options.outdir });
    // what a context lookup would find, so no AWS call is needed for the VPC's zones
    app.node.setContext(`availability-zones:account=${PLACEHOLDER_ACCOUNT}:region=${region}`, ["a", "b", "c", "d"].map((z) => `${region}${z}`));
    await sstConfig.stacks(app);
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
    const nestedStacks = readdirSync(assembly.directory)
      .filter((f) => f.endsWith(".nested.template.json"))
      .map((f) => ({ name: f.replace(/\.nested\.template\.json$/, ""), templateFile: join(assembly.directory, f) }));
    return {
      stage: options.stage,
      region,
      outdir: assembly.directory,
      assembly,
      stacks,
      nestedStacks,
      errors: options.nag === false ? [] : stacks.flatMap((s) => findings(assembly, s.stack, "error")),
      warnings: options.nag === false ? [] : stacks.flatMap((s) => findings(assembly, s.stack, "warning")),
      notices: stacks.flatMap((s) => notices(assembly, s.stack)),
    };
  } catch (error) {
    // the config runs from SST's bundle, with its own copy of the domain's classes
    if (error instanceof Error && error.name === "ConfigError" && !(error instanceof ConfigError)) throw new ConfigError(error.message, { cause: error });
    throw error;
  } finally {
    if (configDir) {
      if (previousDir === undefined) delete process.env["SPOT_MANAGER_CONFIG_DIR"];
      else process.env["SPOT_MANAGER_CONFIG_DIR"] = previousDir;
      rmSync(configDir, { recursive: true, force: true });
    }
  }
}
