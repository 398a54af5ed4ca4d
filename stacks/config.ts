/**
 * Stage configuration: one typed, validated module. Defaults for `dev` and `prod`; any stage can
 * override them with config/<stage>.json. An invalid value fails the synth with the field named.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as z from "zod";
import { ConfigError, describeZodIssues, policySchema, scheduledBuildSchema } from "@spot-manager/core";

const name = z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,99}$/, "must start with a letter and use letters, digits and hyphens (at most 100)");
const instanceType = z.string().regex(/^[a-z][a-z0-9-]*\d[a-z0-9-]*\.[a-z0-9]+$/, "must be an EC2 instance type such as m6i.large");
const labelMap = z.record(z.string(), z.string());
const taint = z.object({ key: z.string().min(1), value: z.string().default(""), effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]) });

const scaling = z
  .object({
    min: z.number().int().min(0),
    max: z.number().int().min(1),
    desired: z.number().int().min(0),
  })
  .refine((s) => s.min <= s.desired && s.desired <= s.max, { message: "must satisfy min <= desired <= max" });

const nodeGroup = z.object({
  name,
  instanceTypes: z.array(instanceType).min(1),
  scaling,
  diskSizeGiB: z.number().int().min(20).max(1000).default(50),
  labels: labelMap.default({}),
  taints: z.array(taint).default([]),
});

const spotNodeGroup = nodeGroup.extend({
  /** Spot works best diversified: several types of the same size across families. */
  instanceTypes: z.array(instanceType).min(2, "list at least two instance types: spot capacity should be diversified"),
});

const selfManagedSpot = z.object({
  enabled: z.boolean().default(false),
  name: name.default("spot-self-managed"),
  instanceTypes: z.array(instanceType).min(2).default(["m6i.large", "m6a.large", "m5.large", "m5a.large"]),
  scaling: scaling.default({ min: 0, max: 10, desired: 0 }),
  onDemandBaseCapacity: z.number().int().min(0).default(0),
  onDemandPercentageAboveBase: z.number().int().min(0).max(100).default(0),
  capacityRebalance: z.boolean().default(true),
  /** The terminate hook spot-manager completes after draining; named with the spot-manager- prefix its rule matches. */
  lifecycleHook: z
    .object({ name: z.string().regex(/^spot-manager-[A-Za-z0-9_-]+$/, "must start with spot-manager- (the EventBridge rules match that prefix)").default("spot-manager-drain"), heartbeatTimeoutSeconds: z.number().int().min(30).max(7200).default(300) })
    .prefault({}),
});

const stageSchema = z
  .object({
    cluster: z
      .object({
        /** Create a new cluster, or use an existing one (its kubectl role is needed for the manifests). */
        mode: z.enum(["create", "import"]).default("create"),
        name,
        version: z.enum(["1.32", "1.33", "1.34"]).default("1.33"),
        /** Import mode: the existing cluster's VPC, kubectl role and OIDC provider. */
        import: z
          .object({
            vpcId: z.string().regex(/^vpc-[0-9a-f]+$/),
            kubectlRoleArn: z.string().startsWith("arn:"),
            openIdConnectProviderArn: z.string().startsWith("arn:").optional(),
          })
          .optional(),
        endpointAccess: z.enum(["public", "private", "public-and-private"]).default("public-and-private"),
      }),
    vpc: z
      .object({
        cidr: z.string().regex(/^\d+\.\d+\.\d+\.\d+\/\d+$/, "must be an IPv4 CIDR").default("10.0.0.0/16"),
        maxAzs: z.number().int().min(2).max(6).default(3),
        natGateways: z.number().int().min(1).max(6).default(1),
      })
      .prefault({}),
    nodeGroups: z.object({
      onDemand: nodeGroup,
      spot: spotNodeGroup,
      selfManagedSpot: selfManagedSpot.prefault({}),
    }),
    addons: z
      .object({
        metricsServer: z.boolean().default(true),
        clusterAutoscaler: z
          .object({
            enabled: z.boolean().default(true),
            chartVersion: z.string().default("9.46.6"),
            /**
             * --max-node-provision-time: how long CA waits for a node before it gives the node up
             * and lowers desired. Longer than the capacity fallback's shortfallMinutes plus a run,
             * so the fallback sees a spot shortfall before CA erases it (checked at synth).
             */
            maxNodeProvisionMinutes: z.number().int().min(1).max(60).default(10),
          })
          .prefault({}),
        argoCd: z.object({ enabled: z.boolean().default(false), chartVersion: z.string().default("7.8.2") }).prefault({}),
        argoRollouts: z.object({ enabled: z.boolean().default(false), chartVersion: z.string().default("2.39.1") }).prefault({}),
      })
      .prefault({}),
    interruptions: z
      .object({
        policy: policySchema.prefault({}),
        queue: z.object({ maxReceiveCount: z.number().int().min(1).max(100).default(5), retentionDays: z.number().int().min(1).max(14).default(4) }).prefault({}),
        lambda: z
          .object({
            timeoutSeconds: z.number().int().min(180, "must be at least 180: a spot drain needs the whole two-minute window").max(900).default(300),
            memoryMiB: z.number().int().min(256).max(10240).default(512),
            /** Also the most batches delivered at once (the SQS event source allows 2 to 1000). */
            reservedConcurrency: z.number().int().min(2).max(1000).default(10),
            batchSize: z.number().int().min(1).max(10).default(10),
          })
          .prefault({}),
      })
      .prefault({}),
    notifications: z.object({ emails: z.array(z.email()).default([]) }).prefault({}),
    observability: z
      .object({
        alarms: z.boolean().default(true),
        /** Alarm when this many records wait in the DLQ. */
        dlqAlarmThreshold: z.number().int().min(1).default(1),
        /** Alarm when this many drains miss their deadline within 15 minutes. */
        deadlineMissThreshold: z.number().int().min(1).default(1),
        logRetentionDays: z.number().int().min(1).max(3653).default(30),
      })
      .prefault({}),
    drills: z
      .object({
        fis: z.object({ enabled: z.boolean().default(true), instanceCount: z.number().int().min(1).max(50).default(1), durationBeforeInterruptionMinutes: z.number().int().min(2).max(15).default(2) }).prefault({}),
      })
      .prefault({}),
    capacity: z
      .object({
        enabled: z.boolean().default(true),
        /** How often the capacity manager runs (EventBridge rate or cron). */
        schedule: z.string().regex(/^(cron|rate)\(.+\)$/, "must be an EventBridge cron(...) or rate(...) expression").default("rate(2 minutes)"),
        dryRun: z.boolean().default(false),
        /** The capacity policy (see README); by default the stage's node groups with a spot -> on-demand fallback. */
        policy: z.unknown().optional(),
      })
      .prefault({}),
    delivery: z
      .object({
        enabled: z.boolean().default(false),
        /** The application repository on GitHub (owner/name); its pushes start builds. */
        repository: z.string().regex(/^[\w.-]+\/[\w.-]+$/, "must be owner/name").default("example-org/sample-app"),
        /** Branch names or globs (main, release/*) whose pushes build. */
        branches: z.array(z.string().min(1)).min(1).default(["main"]),
        /** The GitOps repository (https clone URL) the buildspec bumps. */
        gitopsRepository: z.string().startsWith("https://", "must be an https:// clone URL").default("https://github.com/example-org/sample-app-gitops.git"),
        gitopsBranch: z.string().min(1).default("main"),
        gitopsOverlay: z.string().min(1).default("deploy/overlays/dev"),
        imageRepositoryName: z.string().regex(/^[a-z0-9][a-z0-9._/-]*$/, "must be a lower-case ECR repository name").default("sample-app"),
        /** Images kept in ECR (older ones expire). */
        keepImages: z.number().int().min(5).max(1000).default(50),
        buildTimeoutMinutes: z.number().int().min(5).max(480).default(30),
        /** The lowest severity of an image scan finding that stops the bump (NONE: the scan does not gate it). */
        scanFailOn: z.enum(["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED", "NONE"]).default("CRITICAL"),
        scheduledBuilds: z
          .array(scheduledBuildSchema.extend({ schedule: z.string().regex(/^(cron|rate)\(.+\)$/, "must be an EventBridge cron(...) or rate(...) expression") }))
          .default([{ name: "nightly-base-refresh", schedule: "cron(0 3 * * ? *)", sourceVersion: "main", rebuild: true, environment: {} }]),
      })
      .prefault({}),
    /** Keep data and logs when the stage is removed (prod). */
    retainOnDelete: z.boolean().default(false),
  })
  .superRefine((config, ctx) => {
    if (config.cluster.mode === "import" && !config.cluster.import) {
      ctx.addIssue({ code: "custom", path: ["cluster", "import"], message: "is required when cluster.mode is \"import\" (vpcId and kubectlRoleArn)" });
    }
    const hook = config.nodeGroups.selfManagedSpot;
    const heartbeat = config.interruptions.policy.asgTerminate.heartbeatIntervalSeconds;
    if (hook.enabled && heartbeat * 2 > hook.lifecycleHook.heartbeatTimeoutSeconds) {
      ctx.addIssue({
        code: "custom",
        path: ["interruptions", "policy", "asgTerminate", "heartbeatIntervalSeconds"],
        message: `must be at most half the lifecycle hook's heartbeat timeout (${hook.lifecycleHook.heartbeatTimeoutSeconds} s), or a drain loses the hook`,
        input: heartbeat,
      });
    }
    if (config.nodeGroups.onDemand.name === config.nodeGroups.spot.name) {
      ctx.addIssue({ code: "custom", path: ["nodeGroups", "spot", "name"], message: "must differ from nodeGroups.onDemand.name" });
    }
  });

export type StageConfig = z.output<typeof stageSchema>;
export type StageConfigInput = z.input<typeof stageSchema>;

const SPOT_TYPES = ["m6i.large", "m6a.large", "m5.large", "m5a.large", "m7i.large"];

/** The defaults every stage starts from; `prod` keeps more capacity, alarms and its data. */
export function stageDefaults(stage: string): StageConfigInput {
  const prod = stage === "prod";
  return {
    cluster: { name: `spot-manager-${stage}` },
    nodeGroups: {
      onDemand: { name: "base-on-demand", instanceTypes: ["m6i.large"], scaling: prod ? { min: 2, max: 6, desired: 2 } : { min: 1, max: 3, desired: 1 }, labels: { "spot-manager/lifecycle": "on-demand" } },
      spot: {
        name: "spot-general",
        instanceTypes: SPOT_TYPES,
        scaling: prod ? { min: 0, max: 20, desired: 2 } : { min: 0, max: 6, desired: 1 },
        labels: { "spot-manager/lifecycle": "spot" },
        taints: [{ key: "spot-manager/lifecycle", value: "spot", effect: "PreferNoSchedule" }],
      },
    },
    observability: { alarms: prod },
    retainOnDelete: prod,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Overrides win; objects merge key by key, arrays and scalars replace. */
export function deepMerge(base: unknown, override: unknown): unknown {
  if (!isObject(base) || !isObject(override)) return override === undefined ? base : override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = deepMerge(base[key], value);
  return out;
}

/** Validates a stage's configuration; throws ConfigError naming every bad field and value. */
export function parseStageConfig(stage: string, input: unknown): StageConfig {
  const result = stageSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw new ConfigError(`invalid configuration for stage "${stage}": ${describeZodIssues(result.error)}`);
  return result.data;
}

/** Defaults for the stage, with config/<stage>.json (when present) merged over them. */
export function loadStageConfig(stage: string, root = process.cwd()): StageConfig {
  const file = join(root, "config", `${stage}.json`);
  let override: unknown = {};
  if (existsSync(file)) {
    try {
      override = JSON.parse(readFileSync(file, "utf8"));
    } catch (error) {
      throw new ConfigError(`config/${stage}.json is not valid JSON: ${(error as Error).message}`);
    }
  }
  return parseStageConfig(stage, deepMerge(stageDefaults(stage), override));
}
