/**
 * The capacity manager: a scheduled function that owns the node groups' bounds and the spot ->
 * on-demand fallback. IAM is scoped to the groups its policy names. A run that could not start on
 * time is dropped (the next one redoes the work) rather than overlapping the next.
 */
import { Duration, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import { use, type StackContext } from "sst/constructs";
import {
  CAPACITY_IAM_ACTIONS,
  CAPACITY_METRICS,
  checkAutoscalerTiming,
  ConfigError,
  METRICS_NAMESPACE,
  parseCapacityPolicy,
  rateMinutes,
  type CapacityPolicy,
  type CapacityPolicyInput,
} from "@spot-manager/core";
import { failedInvocationsAlarm, notifyingAlarm, undeliveredEventsQueue } from "./alarms";
import type { StageConfig } from "./config";
import { Cluster } from "./Cluster";
import { acceptWildcards, spotManagerFunction } from "./functions";
import { ALARMS, resourceNames } from "./names";
import { Observability } from "./Observability";
import { grantOutcomeEvents } from "./outcomes";
import { grantWithoutResourceScope } from "./permissions";

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
  const { topic, outcomeBus } = use(Observability);
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

  const names = resourceNames(app.stage);
  const timeoutSeconds = 60;
  const fn = spotManagerFunction(
    stack,
    "CapacityFunction",
    {
      functionName: names.capacityFunction,
      description: "spot-manager: keep node group bounds and the spot -> on-demand fallback",
      handler: "functions/capacity.handler",
      timeout: `${timeoutSeconds} seconds`,
      memorySize: "256 MB",
      ...(settings.reservedConcurrency !== undefined ? { reservedConcurrentExecutions: settings.reservedConcurrency } : {}),
      // an invocation that cannot start within a minute, or that failed, is not retried: the
      // schedule's next run plans from fresh state, and two runs never pile up
      retryAttempts: 0,
      maxEventAge: Duration.seconds(60),
      environment: {
        CLUSTER_NAME: clusterName,
        CAPACITY_POLICY: JSON.stringify(policy),
        NOTIFICATION_TOPIC_ARN: topic.topicArn,
        DRY_RUN: settings.dryRun ? "true" : "false",
        POWERTOOLS_SERVICE_NAME: names.capacityMetricsService,
      },
    },
    config,
  );
  grantWithoutResourceScope(
    stack,
    "ReadCapacity",
    fn.role as iam.IRole,
    CAPACITY_IAM_ACTIONS.read.filter((a) => a !== "eks:DescribeNodegroup"),
    "the capacity manager reads the groups and the interruption counts it plans from",
  );
  if (nodegroupArns.length) {
    fn.addToRolePolicy(new iam.PolicyStatement({ sid: "NodeGroups", actions: ["eks:DescribeNodegroup", ...CAPACITY_IAM_ACTIONS.nodegroupWrite], resources: nodegroupArns }));
  }
  if (asgArns.length) {
    fn.addToRolePolicy(new iam.PolicyStatement({ sid: "AutoScalingGroups", actions: [...CAPACITY_IAM_ACTIONS.autoScalingGroupWrite], resources: asgArns }));
  }
  topic.grantPublish(fn);
  grantOutcomeEvents(fn, outcomeBus);
  acceptWildcards(fn, "kms:GenerateDataKey* is how the CDK grants publishing to the encrypted topic; node group and Auto Scaling group ARNs hold ids AWS assigns, so each named group is granted as <cluster>/<group>/* or autoScalingGroup:*:autoScalingGroupName/<name>.", [
    "Action::kms:GenerateDataKey*",
    { regex: "/^Resource::arn:<AWS::Partition>:eks:[^:]+:[^:]+:nodegroup\\/[^/*]+\\/[^/*]+\\/\\*$/g" },
    { regex: "/^Resource::arn:<AWS::Partition>:autoscaling:[^:]+:[^:]+:autoScalingGroup:\\*:autoScalingGroupName\\/[^*]+$/g" },
  ]);

  const undelivered = undeliveredEventsQueue(stack, "Capacity", app.stage, topic, config);
  const schedule = new events.Rule(stack, "CapacitySchedule", {
    description: `spot-manager ${app.stage}: capacity manager run`,
    schedule: events.Schedule.expression(settings.schedule),
    targets: [new targets.LambdaFunction(fn, { deadLetterQueue: undelivered, retryAttempts: 2, maxEventAge: Duration.seconds(60) })],
  });
  failedInvocationsAlarm(stack, "Capacity", app.stage, topic, [schedule]);
  if (config.observability.alarms) {
    notifyingAlarm(stack, "CapacityFailureAlarm", app.stage, topic, {
      name: ALARMS.capacityFailures,
      description: "The capacity manager could not read or change a node group: see its logs for the group and the reason.",
      // an exact metric: alarms cannot use SEARCH
      metric: new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: CAPACITY_METRICS.groupFailures,
        dimensionsMap: { cluster: clusterName, service: names.capacityMetricsService },
        statistic: "Sum",
        period: Duration.minutes(5),
      }),
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 1,
    });
  }
  stack.addOutputs({ CapacityFunction: fn.functionName, CapacityUndeliveredEventsQueueUrl: undelivered.queueUrl });
  return { policy };
}
