/**
 * Stage configuration: one typed, validated module. Defaults for `dev` and `prod`; any stage can
 * override them with config/<stage>.json (or $SPOT_MANAGER_CONFIG_DIR/<stage>.json). An invalid
 * value, an unknown key, or a combination that cannot work fails the synth with the field named.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as z from "zod";
import { ConfigError, describeZodIssues, EVENT_BUS_NAME_OR_ARN, policySchema, scheduledBuildSchema } from "@spot-manager/core";
import { DEFAULT_KUBERNETES_VERSION, KUBERNETES_VERSIONS } from "./kubernetes";
import { DEFAULT_IMAGE_NAME, imageRepositoryName, resourceNames, validateStageName } from "./names";

const name = z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,62}$/, "must start with a letter and use letters, digits and hyphens (at most 63)");
const clusterName = z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,99}$/, "must start with a letter and use letters, digits and hyphens (at most 100)");
const instanceType = z.string().regex(/^[a-z][a-z0-9-]*\d[a-z0-9-]*\.[a-z0-9]+$/, "must be an EC2 instance type such as m6i.large");
const ipv4Cidr = z.string().regex(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d|[12]\d|3[0-2])$/, "must be an IPv4 CIDR such as 203.0.113.0/24");
const principalArn = z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/, "must be the ARN of an IAM role or user (arn:aws:iam::<account>:role/<name>)");
/** The retention periods CloudWatch Logs accepts (PutRetentionPolicy). */
export const LOG_RETENTION_DAYS: readonly number[] = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
const labelMap = z.record(z.string(), z.string());
const taint = z.strictObject({ key: z.string().min(1), value: z.string().default(""), effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]) });

const DESIRED_IS_NOT_OURS =
  "is not set by spot-manager: a group starts at min, then cluster-autoscaler and the capacity manager own its size (a template value would reset it on every deploy); use min, or a capacity window's desired";

const scaling = z
  .strictObject({
    min: z.number().int().min(0),
    max: z.number().int().min(1),
    desired: z.never({ error: DESIRED_IS_NOT_OURS }).optional(),
  })
  .refine((s) => s.min <= s.max, { message: "must satisfy min <= max" });

const nodeGroup = z.strictObject({
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

const selfManagedSpot = z.strictObject({
  enabled: z.boolean().default(false),
  name: name.default("spot-self-managed"),
  instanceTypes: z.array(instanceType).min(2).default(["m6i.large", "m6a.large", "m5.large", "m5a.large"]),
  scaling: scaling.default({ min: 0, max: 10 }),
  onDemandBaseCapacity: z.number().int().min(0).default(0),
  onDemandPercentageAboveBase: z.number().int().min(0).max(100).default(0),
  /** The ASG launches a replacement at a rebalance recommendation, then terminates the old instance through the hook below. */
  capacityRebalance: z.boolean().default(true),
  /** The terminate hook spot-manager completes after draining; named with the spot-manager- prefix its rule matches. */
  lifecycleHook: z
    .strictObject({
      name: z.string().regex(/^spot-manager-[A-Za-z0-9_-]+$/, "must start with spot-manager- (the EventBridge rules match that prefix)").default("spot-manager-drain"),
      heartbeatTimeoutSeconds: z.number().int().min(30).max(7200).default(300),
    })
    .prefault({}),
});

const stageSchema = z
  .strictObject({
    cluster: z.strictObject({
      /** Create a new cluster, or use an existing one (its kubectl role is needed for the manifests). */
      mode: z.enum(["create", "import"]).default("create"),
      name: clusterName,
      /** The Kubernetes minor version; see stacks/kubernetes.ts for each one's end of EKS standard support. */
      version: z.enum(KUBERNETES_VERSIONS).default(DEFAULT_KUBERNETES_VERSION),
      /** Import mode: the existing cluster's VPC, kubectl role and OIDC provider, and what a private endpoint needs. */
      import: z
        .strictObject({
          vpcId: z.string().regex(/^vpc-[0-9a-f]+$/, "must be a VPC id (vpc-...)"),
          kubectlRoleArn: principalArn,
          openIdConnectProviderArn: z.string().startsWith("arn:").optional(),
          /** Private subnets (with a route to AWS APIs) for functions that call a private API endpoint. */
          privateSubnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]+$/, "must be a subnet id (subnet-...)")).min(1).optional(),
          /** The cluster security group: spot-manager adds a rule admitting its functions on 443. */
          clusterSecurityGroupId: z.string().regex(/^sg-[0-9a-f]+$/, "must be a security group id (sg-...)").optional(),
          /** The cluster runs EKS managed spot node groups (EKS then replaces nodes at rebalance recommendations itself). */
          managedSpotNodeGroups: z.boolean().default(true),
        })
        .optional(),
      endpointAccess: z.enum(["public", "private", "public-and-private"]).default("public-and-private"),
      /** Who may reach the public endpoint (default: anywhere). */
      publicAccessCidrs: z.array(ipv4Cidr).min(1).optional(),
      /** IAM roles or users mapped to cluster admin (AmazonEKSClusterAdminPolicy) by EKS access entries, so people can use kubectl. */
      admins: z.array(principalArn).default([]),
    }),
    vpc: z
      .strictObject({
        cidr: ipv4Cidr.default("10.0.0.0/16"),
        maxAzs: z.number().int().min(2).max(6).default(3),
        /** Default: one per AZ in prod (a zone's outage keeps the others' egress), one in other stages. */
        natGateways: z.number().int().min(1).max(6).optional(),
      })
      .prefault({}),
    network: z
      .strictObject({
        /** Run the function that calls the Kubernetes API in the cluster's VPC. Default: when the API is private or its public side admits only publicAccessCidrs. */
        functionsInVpc: z.boolean().optional(),
        /** How in-VPC functions reach AWS APIs: the subnets' NAT route, or interface VPC endpoints this stage creates. */
        awsApiAccess: z.enum(["nat", "vpc-endpoints"]).default("nat"),
      })
      .prefault({}),
    nodeGroups: z.strictObject({
      onDemand: nodeGroup,
      spot: spotNodeGroup,
      selfManagedSpot: selfManagedSpot.prefault({}),
    }),
    addons: z
      .strictObject({
        metricsServer: z.boolean().default(true),
        /** Chart and image follow the cluster's minor version (stacks/kubernetes.ts); both can be pinned here. */
        clusterAutoscaler: z
          .strictObject({
            enabled: z.boolean().default(true),
            chartVersion: z.string().optional(),
            imageTag: z.string().regex(/^v\d+\.\d+\.\d+$/, "must be a release tag such as v1.35.0").optional(),
            /**
             * --max-node-provision-time: how long CA waits for a node before it gives the node up
             * and lowers desired. Longer than the capacity fallback's shortfallMinutes plus a run,
             * so the fallback sees a spot shortfall before CA erases it (checked at synth).
             */
            maxNodeProvisionMinutes: z.number().int().min(1).max(60).default(10),
          })
          .prefault({}),
        argoCd: z.strictObject({ enabled: z.boolean().default(false), chartVersion: z.string().default("7.8.2") }).prefault({}),
        argoRollouts: z.strictObject({ enabled: z.boolean().default(false), chartVersion: z.string().default("2.39.1") }).prefault({}),
      })
      .prefault({}),
    interruptions: z
      .strictObject({
        policy: policySchema.prefault({}),
        queue: z.strictObject({ maxReceiveCount: z.number().int().min(1).max(100).default(5), retentionDays: z.number().int().min(1).max(14).default(4) }).prefault({}),
        lambda: z
          .strictObject({
            timeoutSeconds: z.number().int().min(180, "must be at least 180: a spot drain needs the whole two-minute window").max(900).default(300),
            memoryMiB: z.number().int().min(256).max(10240).default(512),
            /** Most batches the queue hands the function at once (the SQS event source allows 2 to 1000). */
            maxConcurrency: z.number().int().min(2).max(1000).default(10),
            /** Off by default: reserving any needs an account concurrency limit of 100 + this (Lambda keeps 100 unreserved). */
            reservedConcurrency: z.number().int().min(2).max(1000).optional(),
            batchSize: z.number().int().min(1).max(10).default(10),
          })
          .prefault({}),
      })
      .prefault({}),
    notifications: z.strictObject({ emails: z.array(z.email()).default([]) }).prefault({}),
    /** What spot-manager did, as EventBridge events (source spot-manager): Node Protected, Drain Finished, ... */
    outcomes: z
      .strictObject({
        enabled: z.boolean().default(true),
        /** "default" (the account's default bus), the name of a bus in this account and region, or a bus ARN. */
        eventBus: z.string().regex(EVENT_BUS_NAME_OR_ARN, "must be \"default\", an event bus name or an event bus ARN").default("default"),
        /** Create the bus `eventBus` names with this stage (a name, not "default" or an ARN). */
        createEventBus: z.boolean().default(false),
      })
      .prefault({}),
    observability: z
      .strictObject({
        /** The alarms on drains and function errors; the DLQ, queue age and delivery-failure alarms are always on. */
        alarms: z.boolean().default(true),
        /** Alarm when this many records wait in a dead-letter queue. */
        dlqAlarmThreshold: z.number().int().min(1).default(1),
        /** Alarm when events have waited this long for the interruption function. */
        queueAgeAlarmSeconds: z.number().int().min(60).max(3600).default(60),
        /** Alarm when this many drains miss their deadline within 15 minutes. */
        deadlineMissThreshold: z.number().int().min(1).default(1),
        /** One of the retention periods CloudWatch Logs offers. */
        logRetentionDays: z
          .number()
          .refine((d) => LOG_RETENTION_DAYS.includes(d), { message: `must be one of CloudWatch Logs' retention periods: ${LOG_RETENTION_DAYS.join(", ")}` })
          .default(30),
      })
      .prefault({}),
    drills: z
      .strictObject({
        /** The interruption rules also match the drill source (spot-manager.drill): `spot-manager drill --via eventbridge` takes the real path. */
        viaEventBridge: z.boolean().default(true),
        fis: z
          .strictObject({ enabled: z.boolean().default(true), instanceCount: z.number().int().min(1).max(50).default(1), durationBeforeInterruptionMinutes: z.number().int().min(2).max(15).default(2) })
          .prefault({}),
      })
      .prefault({}),
    capacity: z
      .strictObject({
        enabled: z.boolean().default(true),
        /** How often the capacity manager runs (EventBridge rate or cron). */
        schedule: z.string().regex(/^(cron|rate)\(.+\)$/, "must be an EventBridge cron(...) or rate(...) expression").default("rate(2 minutes)"),
        dryRun: z.boolean().default(false),
        /** Off by default (see interruptions.lambda.reservedConcurrency); 1 makes runs strictly one at a time. */
        reservedConcurrency: z.number().int().min(1).max(10).optional(),
        /** The capacity policy (see README); by default the stage's node groups with a spot -> on-demand fallback. */
        policy: z.unknown().optional(),
      })
      .prefault({}),
    delivery: z
      .strictObject({
        enabled: z.boolean().default(false),
        /** The application repository on GitHub (owner/name); its pushes start builds. */
        repository: z.string().regex(/^[\w.-]+\/[\w.-]+$/, "must be owner/name").default("example-org/sample-app"),
        /** Branch names or globs (main, release/*) whose pushes build. */
        branches: z.array(z.string().min(1)).min(1).default(["main"]),
        /** The GitOps repository (https clone URL) the buildspec bumps. */
        gitopsRepository: z.string().startsWith("https://", "must be an https:// clone URL").default("https://github.com/example-org/sample-app-gitops.git"),
        gitopsBranch: z.string().min(1).default("main"),
        gitopsOverlay: z.string().min(1).default("deploy/overlays/dev"),
        imageRepositoryName: z
          .string()
          .regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/, "must be a lower-case image name (letters, digits, single '.', '_' or '-')")
          .default(DEFAULT_IMAGE_NAME),
        /** Images kept in ECR (older ones expire). */
        keepImages: z.number().int().min(5).max(1000).default(50),
        buildTimeoutMinutes: z.number().int().min(5).max(480).default(30),
        /** The lowest severity of an image scan finding that stops the bump (NONE: the scan does not gate it). */
        scanFailOn: z.enum(["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED", "NONE"]).default("CRITICAL"),
        scheduledBuilds: z
          .array(scheduledBuildSchema.extend({ schedule: z.string().regex(/^(cron|rate)\(.+\)$/, "must be an EventBridge cron(...) or rate(...) expression") }))
          .default([{ name: "nightly-base-refresh", schedule: "cron(0 3 * * ? *)", sourceVersion: "main", rebuild: true, environment: {} }]),
        /** Use the ECR repository and the two secrets a removed stage retained (retainOnDelete), instead of creating them. */
        adoptRetained: z.boolean().default(false),
      })
      .prefault({}),
    /** Keep the data (log groups, dead-letter queues, ECR repository, secrets, KMS keys) when the stage is removed (prod). */
    retainOnDelete: z.boolean().default(false),
  })
  .superRefine((config, ctx) => {
    const issue = (path: (string | number)[], message: string, input?: unknown) => ctx.addIssue({ code: "custom", path, message, ...(input !== undefined ? { input } : {}) });
    const { cluster, network } = config;
    const imported = cluster.mode === "import";
    if (imported && !cluster.import) issue(["cluster", "import"], 'is required when cluster.mode is "import" (vpcId and kubectlRoleArn)');

    const hook = config.nodeGroups.selfManagedSpot;
    const asgTerminate = config.interruptions.policy.asgTerminate;
    if (hook.enabled && asgTerminate.heartbeatIntervalSeconds * 2 > hook.lifecycleHook.heartbeatTimeoutSeconds) {
      issue(
        ["interruptions", "policy", "asgTerminate", "heartbeatIntervalSeconds"],
        `must be at most half the lifecycle hook's heartbeat timeout (${hook.lifecycleHook.heartbeatTimeoutSeconds} s), or a drain loses the hook`,
        asgTerminate.heartbeatIntervalSeconds,
      );
    }
    if (!imported && hook.enabled && !asgTerminate.enabled) {
      issue(
        ["interruptions", "policy", "asgTerminate", "enabled"],
        "must stay true while nodeGroups.selfManagedSpot is enabled: its terminating instances (capacity rebalance included) wait on spot-manager's lifecycle hook, which nothing else completes",
        false,
      );
    }
    if (config.nodeGroups.onDemand.name === config.nodeGroups.spot.name) issue(["nodeGroups", "spot", "name"], "must differ from nodeGroups.onDemand.name");

    // EKS replaces a managed spot node at a rebalance recommendation and cordons and drains the old
    // one itself; a cordon of ours (undone when no interruption follows) would fight that drain
    const managedSpot = imported ? (cluster.import?.managedSpotNodeGroups ?? true) : true;
    const rebalance = config.interruptions.policy.rebalanceRecommendation;
    if (managedSpot && rebalance.enabled) {
      for (const step of ["cordon", "drain"] as const) {
        if (rebalance[step]) {
          issue(
            ["interruptions", "policy", "rebalanceRecommendation", step],
            "must be false with EKS managed spot node groups: EKS launches a replacement at a rebalance recommendation and then cordons and drains the node itself (the taint alone steers new pods away meanwhile)",
            true,
          );
        }
      }
    }

    const natGateways = config.vpc.natGateways;
    if (natGateways !== undefined && natGateways > config.vpc.maxAzs) issue(["vpc", "natGateways"], `must be at most vpc.maxAzs (${config.vpc.maxAzs}): one per AZ at most`, natGateways);

    const cidrs = cluster.publicAccessCidrs;
    const publicLimited = cidrs !== undefined && !cidrs.includes("0.0.0.0/0");
    if (cidrs && cluster.endpointAccess === "private") issue(["cluster", "publicAccessCidrs"], 'has no effect with endpointAccess "private" (there is no public endpoint): remove it');
    if (publicLimited && cluster.endpointAccess === "public" && !imported) {
      issue(
        ["cluster", "publicAccessCidrs"],
        'cannot limit an endpoint that is public only: the nodes and the CDK\'s kubectl functions reach it from addresses not known before deploy; use endpointAccess "public-and-private"',
      );
    }
    const mustBeInVpc = cluster.endpointAccess === "private" || publicLimited;
    if (network.functionsInVpc === false && mustBeInVpc) {
      issue(
        ["network", "functionsInVpc"],
        cluster.endpointAccess === "private"
          ? 'must be true with endpointAccess "private": a function outside the VPC cannot reach a private API endpoint'
          : "must be true while cluster.publicAccessCidrs limits the public endpoint: Lambda's addresses outside a VPC are not among them",
        false,
      );
    }
    const inVpc = network.functionsInVpc ?? mustBeInVpc;
    if (!inVpc && network.awsApiAccess === "vpc-endpoints") issue(["network", "awsApiAccess"], "needs the functions in the VPC (network.functionsInVpc: true)", "vpc-endpoints");
    if (imported && network.awsApiAccess === "vpc-endpoints") {
      issue(["network", "awsApiAccess"], 'must be "nat" with an imported cluster: its VPC is not this stage\'s to add endpoints to; the private subnets\' own routes (NAT or existing endpoints) are used', "vpc-endpoints");
    }
    if (imported && cluster.import && (inVpc || cluster.endpointAccess === "private")) {
      const why = cluster.endpointAccess === "private" ? 'with endpointAccess "private" (functions and the kubectl provider run in the VPC)' : "when the functions run in the VPC";
      if (!cluster.import.privateSubnetIds) issue(["cluster", "import", "privateSubnetIds"], `is required ${why}`);
      if (!cluster.import.clusterSecurityGroupId) issue(["cluster", "import", "clusterSecurityGroupId"], `is required ${why}`);
    }

    const outcomes = config.outcomes;
    if (outcomes.createEventBus && (outcomes.eventBus === "default" || outcomes.eventBus.startsWith("arn:"))) {
      issue(["outcomes", "createEventBus"], `needs outcomes.eventBus to name the bus to create (not "default" or an ARN), got "${outcomes.eventBus}"`, true);
    }

    const lambda = config.interruptions.lambda;
    if (lambda.reservedConcurrency !== undefined && lambda.maxConcurrency > lambda.reservedConcurrency) {
      issue(["interruptions", "lambda", "maxConcurrency"], `must be at most interruptions.lambda.reservedConcurrency (${lambda.reservedConcurrency}): a throttled batch uses up a receive`, lambda.maxConcurrency);
    }
  });

export type StageConfig = z.output<typeof stageSchema>;
export type StageConfigInput = z.input<typeof stageSchema>;

/** Whether the functions that call the Kubernetes API run in the cluster's VPC (see network.functionsInVpc). */
export function functionsInVpc(config: StageConfig): boolean {
  const cidrs = config.cluster.publicAccessCidrs;
  return config.network.functionsInVpc ?? (config.cluster.endpointAccess === "private" || (cidrs !== undefined && !cidrs.includes("0.0.0.0/0")));
}

const SPOT_TYPES = ["m6i.large", "m6a.large", "m5.large", "m5a.large", "m7i.large"];

/** The defaults every stage starts from; `prod` keeps more capacity and its data. */
export function stageDefaults(stage: string): StageConfigInput {
  const prod = stage === "prod";
  return {
    cluster: { name: resourceNames(stage).defaultClusterName },
    nodeGroups: {
      onDemand: { name: "base-on-demand", instanceTypes: ["m6i.large"], scaling: prod ? { min: 2, max: 6 } : { min: 1, max: 3 }, labels: { "spot-manager/lifecycle": "on-demand" } },
      spot: {
        name: "spot-general",
        instanceTypes: SPOT_TYPES,
        scaling: prod ? { min: 0, max: 20 } : { min: 0, max: 6 },
        labels: { "spot-manager/lifecycle": "spot" },
        taints: [{ key: "spot-manager/lifecycle", value: "spot", effect: "PreferNoSchedule" }],
      },
    },
    retainOnDelete: prod,
  };
}

/** NAT gateways of a stage: as configured, else one per AZ in prod and one elsewhere. */
export function natGatewayCount(stage: string, config: StageConfig): number {
  return config.vpc.natGateways ?? (stage === "prod" ? config.vpc.maxAzs : 1);
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

/** Validates a stage's name and configuration; throws ConfigError naming every bad field and value. */
export function parseStageConfig(stage: string, input: unknown): StageConfig {
  validateStageName(stage);
  const result = stageSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw new ConfigError(`invalid configuration for stage "${stage}": ${describeZodIssues(result.error)}`);
  const repository = imageRepositoryName(stage, result.data.delivery.imageRepositoryName);
  if (repository.length > 256) throw new ConfigError(`invalid configuration for stage "${stage}": delivery.imageRepositoryName: the ECR repository "${repository}" would be longer than 256 characters`);
  return result.data;
}

/** Where stage files live: $SPOT_MANAGER_CONFIG_DIR, else config/ under the project root. */
export function stageConfigDir(root = process.cwd()): string {
  return process.env["SPOT_MANAGER_CONFIG_DIR"] ?? join(root, "config");
}

/** Defaults for the stage, with <config dir>/<stage>.json (when present) merged over them. */
export function loadStageConfig(stage: string, root = process.cwd()): StageConfig {
  validateStageName(stage);
  const file = join(stageConfigDir(root), `${stage}.json`);
  let override: unknown = {};
  if (existsSync(file)) {
    try {
      override = JSON.parse(readFileSync(file, "utf8"));
    } catch (error) {
      throw new ConfigError(`${file} is not valid JSON: ${(error as Error).message}`);
    }
  }
  return parseStageConfig(stage, deepMerge(stageDefaults(stage), override));
}
