/**
 * The stage variants the stack tests check, each synthesized once per test run the way `sst
 * deploy` loads sst.config.ts (stacks/synthesize.ts), and shared between test files: the first
 * file to need a variant synthesizes it into the run's cache folder (test/stacks/synth-cache.ts)
 * while later ones wait for it and read the templates.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Template } from "aws-cdk-lib/assertions";
import { inject } from "vitest";
import type { NagFinding, SynthNotice } from "../../stacks/synthesize";

export const OPERATOR_ROLE = "arn:aws:iam::123456789012:role/platform-operators";

/** Stage names and the settings each variant deploys with (merged over the stage's defaults, as config/<stage>.json is). */
export const VARIANTS = {
  /** `sst deploy --stage dev` with no stage file. */
  dev: { stage: "dev", config: undefined },
  /** `sst deploy --stage prod` with no stage file: more capacity, a NAT gateway per AZ, data retained. */
  prod: { stage: "prod", config: undefined },
  /** An existing cluster behind a private endpoint, redeployed after a removal that retained its delivery data. */
  import: {
    stage: "shared",
    config: {
      cluster: {
        mode: "import",
        name: "existing-eks",
        endpointAccess: "private",
        admins: [OPERATOR_ROLE],
        import: {
          vpcId: "vpc-0abc1234",
          kubectlRoleArn: "arn:aws:iam::123456789012:role/existing-kubectl",
          privateSubnetIds: ["subnet-0a1b2c3d", "subnet-0e4f5a6b"],
          clusterSecurityGroupId: "sg-0123abcd",
        },
      },
      delivery: { enabled: true, adoptRetained: true },
      retainOnDelete: true,
    },
  },
  /** A self-managed spot ASG beside the managed groups, Argo, an older Kubernetes, a public endpoint limited by CIDR. */
  selfManaged: {
    stage: "staging",
    config: {
      cluster: { version: "1.34", admins: [OPERATOR_ROLE], publicAccessCidrs: ["203.0.113.0/24"] },
      nodeGroups: { selfManagedSpot: { enabled: true, scaling: { min: 0, max: 8 } } },
      addons: { argoCd: { enabled: true }, argoRollouts: { enabled: true } },
    },
  },
  /** A private API endpoint, AWS APIs through VPC endpoints, concurrency reserved on purpose. */
  private: {
    stage: "private",
    config: {
      cluster: { endpointAccess: "private", admins: [OPERATOR_ROLE] },
      network: { awsApiAccess: "vpc-endpoints" },
      interruptions: { lambda: { reservedConcurrency: 20, maxConcurrency: 10 } },
      capacity: { reservedConcurrency: 1 },
    },
  },
  /** The delivery pipeline on, in a stage that keeps its data; outcome events on a bus of its own; drills only by invoke. */
  delivery: {
    stage: "web",
    config: {
      delivery: { enabled: true, repository: "acme/shop", branches: ["main", "release/*"], gitopsRepository: "https://github.com/acme/shop-gitops.git", gitopsOverlay: "deploy/overlays/prod" },
      outcomes: { eventBus: "shop-platform-events", createEventBus: true },
      drills: { viaEventBridge: false },
      retainOnDelete: true,
    },
  },
} as const;

export type VariantName = keyof typeof VARIANTS;

export interface SynthesizedVariant {
  name: VariantName;
  stage: string;
  outdir: string;
  stackNames: string[];
  errors: NagFinding[];
  warnings: NagFinding[];
  notices: SynthNotice[];
  /** The template of `<stage>-spot-manager-<stack>`. */
  template(stack: string): Template;
  /** Every stack's template, by stack name. */
  templates(): Map<string, Template>;
}

interface CachedVariant {
  stage: string;
  outdir: string;
  stacks: Record<string, { templateFile: string }>;
  errors: NagFinding[];
  warnings: NagFinding[];
  notices: SynthNotice[];
}

declare module "vitest" {
  export interface ProvidedContext {
    synthCacheDir: string;
  }
}

const WAIT_LIMIT_MS = 8 * 60_000;

function load(name: VariantName, cached: CachedVariant): SynthesizedVariant {
  const parsed = new Map<string, Template>();
  const get = (stackName: string) => {
    let template = parsed.get(stackName);
    if (!template) {
      const entry = cached.stacks[stackName];
      if (!entry) throw new Error(`no stack ${stackName} in ${Object.keys(cached.stacks).join(", ")}`);
      template = Template.fromJSON(JSON.parse(readFileSync(entry.templateFile, "utf8")) as Record<string, unknown>);
      parsed.set(stackName, template);
    }
    return template;
  };
  return {
    name,
    stage: cached.stage,
    outdir: cached.outdir,
    stackNames: Object.keys(cached.stacks),
    errors: cached.errors,
    warnings: cached.warnings,
    notices: cached.notices,
    template: (stack) => get(`${cached.stage}-spot-manager-${stack}`),
    templates: () => new Map(Object.keys(cached.stacks).map((s) => [s, get(s)])),
  };
}

const inProcess = new Map<VariantName, Promise<SynthesizedVariant>>();
/** SST keeps one project and one function registry per process: syntheses here run one at a time. */
let synthesizing: Promise<unknown> = Promise.resolve();

/** The variant's synthesis: made once per test run, shared by every file that asks. */
export function synthVariant(name: VariantName): Promise<SynthesizedVariant> {
  let pending = inProcess.get(name);
  if (!pending) {
    pending = synthesizeOrWait(name);
    inProcess.set(name, pending);
  }
  return pending;
}

async function synthesizeOrWait(name: VariantName): Promise<SynthesizedVariant> {
  const cacheDir = inject("synthCacheDir");
  const resultFile = join(cacheDir, `${name}.json`);
  const failureFile = join(cacheDir, `${name}.failed`);
  let lock: number | undefined;
  try {
    lock = openSync(join(cacheDir, `${name}.lock`), "wx");
  } catch {
    // another test file synthesizes it: wait for its result
    const started = Date.now();
    while (!existsSync(resultFile)) {
      if (existsSync(failureFile)) throw new Error(`synthesis of variant ${name} failed in another test file: ${readFileSync(failureFile, "utf8")}`);
      if (Date.now() - started > WAIT_LIMIT_MS) throw new Error(`variant ${name} was not synthesized within ${WAIT_LIMIT_MS / 1000} s`);
      await sleep(250);
    }
    return load(name, JSON.parse(readFileSync(resultFile, "utf8")) as CachedVariant);
  }
  try {
    const variant = VARIANTS[name];
    const outdir = join(cacheDir, name);
    mkdirSync(outdir, { recursive: true });
    // loaded only where a synthesis runs: files that read a cached one skip SST and the CDK's constructs
    const { synthesizeStage } = await import("../../stacks/synthesize");
    const run = synthesizing.then(() => synthesizeStage({ stage: variant.stage, outdir, ...(variant.config !== undefined ? { config: variant.config } : {}) }));
    synthesizing = run.catch(() => undefined);
    const result = await run;
    const cached: CachedVariant = {
      stage: result.stage,
      outdir: result.outdir,
      stacks: Object.fromEntries([...result.stacks, ...result.nestedStacks].map((s) => [s.name, { templateFile: s.templateFile }])),
      errors: result.errors,
      warnings: result.warnings,
      notices: result.notices,
    };
    writeFileSync(`${resultFile}.tmp`, JSON.stringify(cached));
    renameSync(`${resultFile}.tmp`, resultFile);
    return load(name, cached);
  } catch (error) {
    writeFileSync(failureFile, String((error as Error).stack ?? error));
    throw error;
  } finally {
    closeSync(lock);
  }
}
