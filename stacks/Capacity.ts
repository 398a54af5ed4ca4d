/**
 * The capacity manager: a scheduled function that owns the node groups' bounds and the spot ->
 * on-demand fallback. IAM is scoped to the groups its policy names.
 */
import { Stack } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import { Function, use, type StackContext } from "sst/constructs";
import { CAPACITY_IAM_ACTIONS, checkAutoscalerTiming, ConfigError, parseCapacityPolicy, rateMinutes, type CapacityPolicy, type CapacityPolicyInput } from "@spot-manager/core";
import type { StageConfig } from "./config";
import { Cluster } from "./Cluster";
import { Observability } from "./Observability";

/** The stage's node groups with the seed architecture's rule: spot first, on-demand as base and fallback. */
export function defaultCapacityPolicy(config: StageConfig): CapacityPolicyInput {
  const { onDemand, spot, selfManagedSpot } = config.nodeGroups;
  const selfManagedName = `${config.cluster.name}-${selfManagedSpot.name}`;
  return {
    timeZone: "UTC",
    groups: {
      [onDemand.name]: { type: "managed-node-group", capacityType: "on-demand", default: { min: onDemand.scaling.min, max: onDemand.scaling.max } },
      [spot.name]: { type: "managed-node-group", capacityType: "spot", default: { min: spot.scaling.min, max: spot.scaling.max } },
      ...(selfManagedSpot.enabled
        ? { [selfManagedName]: { type: "auto-scaling-group", capacityType: "spot", default: { min: selfManagedSpot.scaling.min, max: selfManagedSpot.scaling.max } } }
        : {}),
    },
    fallbacks: [
      {
        onDemandGroup: onDemand.name,
        spotGroups: [spot.name, ...(selfManagedSpot.enabled ? [selfManagedName] : [])],
        maxExtra: Math.max(1, spot.scaling.max - onDemand.scaling.min),
      },
    ],
  } as CapacityPolicyInput;
}

export interface CapacityOutputs {
  policy?: CapacityPolicy;
}

export function Capacity({ stack, app }: StackContext): CapacityOutputs {
  const { clusterName, config } = use(Cluster);
  const { topic } = use(Observability);
  const settings = config.capacity;
  if (!settings.enabled) return {};
  // validated at synth: a bad policy fails here, with the field named
  const policy = parseCapacityPolicy(settings.policy ?? defaultCapacityPolicy(config), "capacity.policy");
  if (config.cluster.mode === "create" && config.addons.clusterAutoscaler.enabled) {
    const timing = { maxNodeProvisionMinutes: config.addons.clusterAutoscaler.maxNodeProvisionMinutes, runIntervalMinutes: rateMinutes(settings.schedule) };
    const problems = checkAutoscalerTiming(policy, timing);
    if (problems.length > 0) throw new ConfigError(`invalid capacity.policy: ${problems.map((p) => `capacity.policy.${p.path.join(".")}: ${p.message}`).join("; ")}`);
  }
  const { partition, region, account } = Stack.of(stack);
  const groups = Object.entries(policy.groups);
  const nodegroupArns = groups.filter(([, g]) => g.type === "managed-node-group").map(([name]) => `arn:${partition}:eks:${region}:${account}:nodegroup/${clusterName}/${name}/*`);
  const asgArns = groups.filter(([, g]) => g.type === "auto-scaling-group").map(([name]) => `arn:${partition}:autoscaling:${region}:${account}:autoScalingGroup:*:autoScalingGroupName/${name}`);

  const fn = new Function(stack, "CapacityFunction", {
    functionName: `spot-manager-${app.stage}-capacity`,
    description: "spot-manager: keep node group bounds and the spot -> on-demand fallback",
    handler: "functions/capacity.handler",
    runtime: "nodejs22.x",
    architecture: "arm_64",
    timeout: "60 seconds",
    memorySize: "256 MB",
    // one run at a time: runs read and write the same groups' memory
    reservedConcurrentExecutions: 1,
    logRetention: "one_month",
    nodejs: { format: "esm", minify: true },
    environment: {
      CLUSTER_NAME: clusterName,
      CAPACITY_POLICY: JSON.stringify(policy),
      NOTIFICATION_TOPIC_ARN: topic.topicArn,
      DRY_RUN: settings.dryRun ? "true" : "false",
      POWERTOOLS_SERVICE_NAME: "spot-manager-capacity",
    },
  });
  fn.addToRolePolicy(new iam.PolicyStatement({ sid: "ReadCapacity", actions: CAPACITY_IAM_ACTIONS.read.filter((a) => a !== "eks:DescribeNodegroup"), resources: ["*"] }));
  if (nodegroupArns.length) {
    fn.addToRolePolicy(new iam.PolicyStatement({ sid: "NodeGroups", actions: ["eks:DescribeNodegroup", ...CAPACITY_IAM_ACTIONS.nodegroupWrite], resources: nodegroupArns }));
  }
  if (asgArns.length) {
    fn.addToRolePolicy(new iam.PolicyStatement({ sid: "AutoScalingGroups", actions: [...CAPACITY_IAM_ACTIONS.autoScalingGroupWrite], resources: asgArns }));
  }
  topic.grantPublish(fn);
  new events.Rule(stack, "CapacitySchedule", {
    description: `spot-manager ${app.stage}: capacity manager run`,
    schedule: events.Schedule.expression(settings.schedule),
    targets: [new targets.LambdaFunction(fn, { retryAttempts: 0 })],
  });
  stack.addOutputs({ CapacityFunction: fn.functionName });
  return { policy };
}
