/**
 * Every physical name spot-manager gives an AWS resource, derived from the stage once, with the
 * limit its service sets. A stage whose names would not fit (or whose characters a service
 * refuses) is rejected before anything is synthesized, naming the resource that would break.
 */
import { ConfigError } from "@spot-manager/core";

/** Lower-case letters, digits and single inner hyphens: what every service here accepts (ECR is the strictest). */
export const STAGE_NAME_PATTERN = /^[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*$/;

/** The stacks `sst.config.ts` creates, in dependency order. */
export const STACK_IDS = ["Cluster", "Observability", "Interruptions", "Capacity", "Delivery", "Drills"] as const;

/** The EventBridge rules of the interruption path, by signal; short so every stage name fits. */
export const SIGNAL_RULE_SUFFIXES = {
  SpotInterruptionWarning: "spot-itn",
  RebalanceRecommendation: "rebalance",
  AsgTerminateLifecycleAction: "asg-terminate",
  AsgLaunchLifecycleAction: "asg-launch",
  InstanceStateChange: "state-change",
  HealthScheduledChange: "health",
} as const;

export type SignalRuleId = keyof typeof SIGNAL_RULE_SUFFIXES;

/** The image in the sample manifests; `delivery.imageRepositoryName` may name another. */
export const DEFAULT_IMAGE_NAME = "sample-app";

/** The ECR repository a stage's images go to: the stack creates it, the overlays' placeholders and the buildspec's tests use it. */
export function imageRepositoryName(stage: string, image: string = DEFAULT_IMAGE_NAME): string {
  return `spot-manager-${stage}-${image}`;
}

/** Physical names shared between stacks (and with `spot-manager drill`), derived from the stage once. */
export function resourceNames(stage: string) {
  const prefix = `spot-manager-${stage}`;
  const interruptionFunction = `${prefix}-interruption`;
  const capacityFunction = `${prefix}-capacity`;
  const deliveryProject = `${prefix}-delivery`;
  return {
    prefix,
    defaultClusterName: prefix,
    interruptionFunction,
    capacityFunction,
    webhookFunction: `${prefix}-delivery-webhook`,
    scheduledBuildsFunction: `${prefix}-delivery-scheduled`,
    buildNotifyFunction: `${prefix}-delivery-notify`,
    interruptionQueue: `${prefix}-interruptions`,
    notificationTopic: `${prefix}-notifications`,
    schedulerGroup: `${prefix}-follow-ups`,
    dashboard: prefix,
    deliveryProject,
    deliveryTable: `${prefix}-webhook-deliveries`,
    gitopsTokenSecret: `${prefix}/gitops-token`,
    webhookSecret: `${prefix}/github-webhook-secret`,
    signalRule: (id: SignalRuleId) => `${prefix}-${SIGNAL_RULE_SUFFIXES[id]}`,
    alarm: (what: string) => `${prefix}-${what}`,
    functionLogGroup: (functionName: string) => `/aws/lambda/${functionName}`,
    buildLogGroup: `/aws/codebuild/${deliveryProject}`,
    stack: (id: (typeof STACK_IDS)[number]) => `${stage}-spot-manager-${id}`,
    metricsService: "spot-manager-interruption",
    capacityMetricsService: "spot-manager-capacity",
  };
}

/** Alarm names, one place, so the dashboard can show alarms other stacks create. */
export const ALARMS = {
  interruptionDlq: "interruptions-dlq-not-empty",
  interruptionQueueAge: "interruptions-waiting",
  interruptionErrors: "interruption-errors",
  deadlineMisses: "interruption-deadline-misses",
  capacityFailures: "capacity-group-failures",
  undelivered: (stackId: string) => `${stackId.toLowerCase()}-undelivered-events`,
  failedInvocations: (stackId: string) => `${stackId.toLowerCase()}-rule-failed-invocations`,
} as const;

interface NameRule {
  what: string;
  value: string;
  max: number;
}

/** Every fixed physical name of a stage, with its service's length limit. */
export function physicalNames(stage: string, image: string = DEFAULT_IMAGE_NAME): NameRule[] {
  const n = resourceNames(stage);
  const functions = [n.interruptionFunction, n.capacityFunction, n.webhookFunction, n.scheduledBuildsFunction, n.buildNotifyFunction];
  const alarms = [ALARMS.interruptionDlq, ALARMS.interruptionQueueAge, ALARMS.interruptionErrors, ALARMS.deadlineMisses, ALARMS.capacityFailures, ...STACK_IDS.flatMap((s) => [ALARMS.undelivered(s), ALARMS.failedInvocations(s)])];
  return [
    { what: "EKS cluster name", value: n.defaultClusterName, max: 100 },
    ...functions.map((value) => ({ what: "Lambda function name", value, max: 64 })),
    ...functions.map((value) => ({ what: "CloudWatch Logs log group", value: n.functionLogGroup(value), max: 512 })),
    { what: "SQS queue name", value: n.interruptionQueue, max: 80 },
    { what: "SNS topic name", value: n.notificationTopic, max: 256 },
    { what: "EventBridge Scheduler group name", value: n.schedulerGroup, max: 64 },
    { what: "CloudWatch dashboard name", value: n.dashboard, max: 255 },
    { what: "CodeBuild project name", value: n.deliveryProject, max: 150 },
    { what: "DynamoDB table name", value: n.deliveryTable, max: 255 },
    { what: "CloudWatch Logs log group", value: n.buildLogGroup, max: 512 },
    { what: "Secrets Manager secret name", value: n.gitopsTokenSecret, max: 512 },
    { what: "Secrets Manager secret name", value: n.webhookSecret, max: 512 },
    { what: "ECR repository name", value: imageRepositoryName(stage, image), max: 256 },
    ...(Object.keys(SIGNAL_RULE_SUFFIXES) as SignalRuleId[]).map((id) => ({ what: "EventBridge rule name", value: n.signalRule(id), max: 64 })),
    ...alarms.map((a) => ({ what: "CloudWatch alarm name", value: n.alarm(a), max: 255 })),
    ...STACK_IDS.map((id) => ({ what: "CloudFormation stack name", value: n.stack(id), max: 128 })),
  ];
}

/** The longest stage name every physical name has room for. */
export const MAX_STAGE_LENGTH = (() => {
  let length = 1;
  while (physicalNames("a".repeat(length + 1)).every((r) => r.value.length <= r.max)) length += 1;
  return length;
})();

/** Throws ConfigError naming what is wrong with the stage name, or the first name it would break. */
export function validateStageName(stage: string): void {
  if (!STAGE_NAME_PATTERN.test(stage)) {
    throw new ConfigError(`invalid stage name "${stage}": use lower-case letters, digits and single hyphens, starting with a letter and not ending with a hyphen (ECR, SQS, Lambda and EventBridge names are built from it)`);
  }
  const tooLong = physicalNames(stage).find((r) => r.value.length > r.max);
  if (tooLong) {
    throw new ConfigError(`invalid stage name "${stage}": the ${tooLong.what} "${tooLong.value}" would be ${tooLong.value.length} characters (at most ${tooLong.max}); use at most ${MAX_STAGE_LENGTH} characters`);
  }
}
