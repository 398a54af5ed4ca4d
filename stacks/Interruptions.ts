/**
 * The interruption path: EventBridge rules for the six signals (retries, then an undelivered-events
 * queue) -> an encrypted SQS queue (DLQ after N receives) -> the interruption function (partial
 * batch responses, at most `maxConcurrency` batches at once), with IAM scoped to what it touches,
 * an EKS access entry and the least-privilege ClusterRole it is bound to; in the cluster's VPC when
 * the API endpoint needs it. Alarms on everything that means events are not being handled.
 */
import { Duration, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as eks from "aws-cdk-lib/aws-eks";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import type * as sns from "aws-cdk-lib/aws-sns";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { use, type Function, type StackContext } from "sst/constructs";
import { CLUSTER_ROLE_NAME, CLUSTER_ROLE_RULES, fallbackPolicyOf, KUBERNETES_GROUP, METRICS, METRICS_NAMESPACE, parseCapacityPolicy, REPLACEMENT_IAM_ACTIONS } from "@spot-manager/core";
import { deadLetterQueue, failedInvocationsAlarm, notifyingAlarm, undeliveredEventsQueue } from "./alarms";
import { defaultCapacityPolicy } from "./Capacity";
import { Cluster } from "./Cluster";
import type { StageConfig } from "./config";
import { acceptWildcards, spotManagerFunction } from "./functions";
import { ALARMS, resourceNames } from "./names";
import { Observability } from "./Observability";
import { grantWithoutResourceScope } from "./permissions";
import { grantOutcomeEvents } from "./outcomes";
import { signalRules } from "./rules";

export interface InterruptionsOutputs {
  queue: sqs.IQueue;
  dlq: sqs.IQueue;
  fn: Function;
}

/** The ClusterRole the access entry's group is bound to, and the binding. */
export function rbacManifests(): Record<string, unknown>[] {
  return [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: CLUSTER_ROLE_NAME, labels: { "app.kubernetes.io/managed-by": "spot-manager" } },
      rules: CLUSTER_ROLE_RULES.map((r) => ({ apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] })),
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: CLUSTER_ROLE_NAME, labels: { "app.kubernetes.io/managed-by": "spot-manager" } },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: CLUSTER_ROLE_NAME },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: KUBERNETES_GROUP }],
    },
  ];
}

export function Interruptions({ stack, app }: StackContext): InterruptionsOutputs {
  const { cluster, clusterName, config, kubernetesClients } = use(Cluster);
  const { topic, outcomeBus } = use(Observability);
  const names = resourceNames(app.stage);
  const settings = config.interruptions;
  const timeout = settings.lambda.timeoutSeconds;

  const dlq = deadLetterQueue(stack, "InterruptionDlq", app.stage, topic, config, {
    name: ALARMS.interruptionDlq,
    description: "Interruption events gave up after every retry and wait in the dead-letter queue: inspect and redrive them.",
  });
  const queue = new sqs.Queue(stack, "InterruptionQueue", {
    queueName: names.interruptionQueue,
    // SSE-SQS: EventBridge can deliver to it without a key policy of ours
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(settings.queue.retentionDays),
    // AWS's guidance for Lambda consumers: six times the function timeout
    visibilityTimeout: Duration.seconds(timeout * 6),
    deadLetterQueue: { queue: dlq, maxReceiveCount: settings.queue.maxReceiveCount },
  });

  const undelivered = undeliveredEventsQueue(stack, "Interruptions", app.stage, topic, config);
  const rules = signalRules({ drills: config.drills.viaEventBridge }).map(
    (rule) =>
      new events.Rule(stack, rule.id, {
        ruleName: names.signalRule(rule.id),
        description: rule.description,
        eventPattern: { source: rule.pattern.source, detailType: rule.pattern["detail-type"], ...(rule.pattern.detail ? { detail: rule.pattern.detail } : {}) },
        targets: [new targets.SqsQueue(queue, { deadLetterQueue: undelivered, retryAttempts: 185, maxEventAge: Duration.seconds(rule.maxEventAgeSeconds) })],
      }),
  );
  failedInvocationsAlarm(stack, "Interruptions", app.stage, topic, rules);

  const followUps = new scheduler.CfnScheduleGroup(stack, "FollowUpGroup", { name: names.schedulerGroup });
  const schedulerRole = new iam.Role(stack, "FollowUpSchedulerRole", {
    description: "EventBridge Scheduler delivers spot-manager follow-ups to the interruption queue",
    assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com", { conditions: { StringEquals: { "aws:SourceAccount": stack.account } } }),
  });
  queue.grantSendMessages(schedulerRole);

  // replacement at the warning reads the capacity policy's fallback rules (only while a capacity manager keeps them)
  const replacement = settings.policy.replacement;
  const capacityPolicy =
    replacement.enabled && replacement.fallbackToOnDemand && config.capacity.enabled ? fallbackPolicyOf(parseCapacityPolicy(config.capacity.policy ?? defaultCapacityPolicy(config), "capacity.policy")) : undefined;

  const fn = spotManagerFunction(
    stack,
    "InterruptionFunction",
    {
      functionName: names.interruptionFunction,
      description: "spot-manager: taint, cordon and drain nodes on EC2 interruption signals",
      handler: "functions/interruption.handler",
      timeout: `${timeout} seconds`,
      memorySize: `${settings.lambda.memoryMiB} MB`,
      ...(settings.lambda.reservedConcurrency !== undefined ? { reservedConcurrentExecutions: settings.lambda.reservedConcurrency } : {}),
      ...(kubernetesClients ? { vpc: kubernetesClients.vpc, vpcSubnets: kubernetesClients.subnets, securityGroups: [kubernetesClients.securityGroup] } : {}),
      environment: {
        CLUSTER_NAME: clusterName,
        SPOT_MANAGER_POLICY: JSON.stringify(settings.policy),
        NOTIFICATION_TOPIC_ARN: topic.topicArn,
        QUEUE_URL: queue.queueUrl,
        QUEUE_ARN: queue.queueArn,
        // a record a dependency refused for good goes here at once, with the reason
        DEAD_LETTER_QUEUE_URL: dlq.queueUrl,
        SCHEDULER_ROLE_ARN: schedulerRole.roleArn,
        SCHEDULER_GROUP_NAME: names.schedulerGroup,
        ...(capacityPolicy ? { CAPACITY_POLICY: JSON.stringify(capacityPolicy) } : {}),
        POWERTOOLS_SERVICE_NAME: names.metricsService,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
    },
    config,
  );
  // the event source's maximum concurrency is the cap: no reservation taken from the account
  fn.addEventSource(new SqsEventSource(queue, { batchSize: settings.lambda.batchSize, reportBatchItemFailures: true, maxConcurrency: settings.lambda.maxConcurrency }));

  const role = fn.role as iam.IRole;
  const { region, account, partition } = Stack.of(stack);
  grantWithoutResourceScope(stack, "DescribeInstances", role, ["ec2:DescribeInstances"], "the function resolves an event's instance to its node and cluster with it");
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: "LifecycleActionsOfThisCluster",
      actions: ["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"],
      resources: [`arn:${partition}:autoscaling:${region}:${account}:autoScalingGroup:*:autoScalingGroupName/*`],
      conditions: { StringEquals: { [`aws:ResourceTag/kubernetes.io/cluster/${clusterName}`]: "owned" } },
    }),
  );
  fn.addToRolePolicy(new iam.PolicyStatement({ sid: "DescribeCluster", actions: ["eks:DescribeCluster"], resources: [`arn:${partition}:eks:${region}:${account}:cluster/${clusterName}`] }));
  fn.addToRolePolicy(new iam.PolicyStatement({ sid: "FollowUpsViaQueue", actions: ["sqs:SendMessage", "sqs:ChangeMessageVisibility"], resources: [queue.queueArn] }));
  fn.addToRolePolicy(new iam.PolicyStatement({ sid: "PermanentFailuresToDlq", actions: ["sqs:SendMessage"], resources: [dlq.queueArn] }));
  fn.addToRolePolicy(
    new iam.PolicyStatement({ sid: "FollowUpsViaScheduler", actions: ["scheduler:CreateSchedule"], resources: [`arn:${partition}:scheduler:${region}:${account}:schedule/${names.schedulerGroup}/*`] }),
  );
  fn.addToRolePolicy(
    new iam.PolicyStatement({ sid: "PassSchedulerRole", actions: ["iam:PassRole"], resources: [schedulerRole.roleArn], conditions: { StringEquals: { "iam:PassedToService": "scheduler.amazonaws.com" } } }),
  );
  if (replacement.enabled) {
    grantWithoutResourceScope(stack, "DescribeGroups", role, [...REPLACEMENT_IAM_ACTIONS.read], "replacement at the warning reads the instance's group, its members and its failed launches");
    // the same scope cluster-autoscaler has for the same kind of change: this cluster's groups, by their auto-discovery tag
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "ReplacementInThisClustersGroups",
        actions: [...REPLACEMENT_IAM_ACTIONS.write],
        resources: [`arn:${partition}:autoscaling:${region}:${account}:autoScalingGroup:*:autoScalingGroupName/*`],
        conditions: { StringEquals: { [`aws:ResourceTag/k8s.io/cluster-autoscaler/${clusterName}`]: "owned" } },
      }),
    );
    fn.addToRolePolicy(new iam.PolicyStatement({ sid: "DescribeNodeGroups", actions: [...REPLACEMENT_IAM_ACTIONS.nodegroupRead], resources: [`arn:${partition}:eks:${region}:${account}:nodegroup/${clusterName}/*/*`] }));
    if (replacement.terminateUnreclaimed) {
      // only this cluster's instances, by either tag EKS and the Kubernetes AWS integration put on them
      const instances = `arn:${partition}:ec2:${region}:${account}:instance/*`;
      fn.addToRolePolicy(
        new iam.PolicyStatement({ sid: "EndUnreclaimedDetachedInstances", actions: [...REPLACEMENT_IAM_ACTIONS.terminate], resources: [instances], conditions: { StringEquals: { "aws:ResourceTag/eks:cluster-name": clusterName } } }),
      );
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: "EndUnreclaimedDetachedClusterInstances",
          actions: [...REPLACEMENT_IAM_ACTIONS.terminate],
          resources: [instances],
          conditions: { StringEquals: { [`aws:ResourceTag/kubernetes.io/cluster/${clusterName}`]: "owned" } },
        }),
      );
    }
  }
  topic.grantPublish(fn);
  grantOutcomeEvents(fn, outcomeBus);
  acceptWildcards(fn, "kms:GenerateDataKey* is how the CDK grants publishing to the encrypted topic; lifecycle actions and replacement requests reach only this cluster's groups, and terminations only its instances (tag conditions), node groups only this cluster's; schedules only the follow-up group.", [
    "Action::kms:GenerateDataKey*",
    { regex: "/^Resource::arn:<AWS::Partition>:autoscaling:[^:]+:[^:]+:autoScalingGroup:\\*:autoScalingGroupName\\/\\*$/g" },
    { regex: "/^Resource::arn:<AWS::Partition>:eks:[^:]+:[^:]+:nodegroup\\/[^/*]+\\/\\*\\/\\*$/g" },
    { regex: "/^Resource::arn:<AWS::Partition>:ec2:[^:]+:[^:]+:instance\\/\\*$/g" },
    { regex: `/^Resource::arn:<AWS::Partition>:scheduler:[^:]+:[^:]+:schedule\\/${names.schedulerGroup}\\/\\*$/g` },
  ]);
  fn.node.addDependency(followUps);

  // the function's role becomes a Kubernetes group member, bound to the least-privilege ClusterRole
  new eks.CfnAccessEntry(stack, "InterruptionAccessEntry", { clusterName, principalArn: role.roleArn, type: "STANDARD", kubernetesGroups: [KUBERNETES_GROUP] });
  new eks.KubernetesManifest(stack, "InterruptionRbac", { cluster, manifest: rbacManifests(), overwrite: true });

  interruptionAlarms(stack, app.stage, topic, queue, fn, config, names);

  stack.addOutputs({ InterruptionQueueUrl: queue.queueUrl, InterruptionDlqUrl: dlq.queueUrl, UndeliveredEventsQueueUrl: undelivered.queueUrl, InterruptionFunction: fn.functionName });
  return { queue, dlq, fn };
}

/** Events waiting, the function failing, drains missing their deadlines. */
function interruptionAlarms(stack: StackContext["stack"], stage: string, topic: sns.ITopic, queue: sqs.Queue, fn: Function, config: StageConfig, names: ReturnType<typeof resourceNames>): void {
  const minute = Duration.minutes(1);
  // the oldest message counts while events wait to be picked up; a message in flight (a drain
  // running for minutes) or delayed (a follow-up) is not waiting
  const waiting = new cloudwatch.MathExpression({
    expression: "IF(visible > 0, age, 0)",
    usingMetrics: {
      age: queue.metricApproximateAgeOfOldestMessage({ statistic: "Maximum", period: minute }),
      visible: queue.metricApproximateNumberOfMessagesVisible({ statistic: "Maximum", period: minute }),
    },
    period: minute,
    label: "age of the oldest message while events wait",
  });
  notifyingAlarm(stack, "QueueAgeAlarm", stage, topic, {
    name: ALARMS.interruptionQueueAge,
    description: `Interruption events have waited over ${config.observability.queueAgeAlarmSeconds} s (ApproximateAgeOfOldestMessage) for the function: it is throttled, failing, disabled, or interruptions.lambda.maxConcurrency is too low for the load.`,
    metric: waiting,
    threshold: config.observability.queueAgeAlarmSeconds,
    comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 2,
  });
  if (!config.observability.alarms) return;
  notifyingAlarm(stack, "FunctionErrorAlarm", stage, topic, {
    name: ALARMS.interruptionErrors,
    description: "The interruption function failed invocations (configuration, permissions or a bug).",
    metric: fn.metricErrors({ statistic: "Sum", period: Duration.minutes(5) }),
    threshold: 1,
    evaluationPeriods: 1,
  });
  // alarms need exact metrics: the function also emits this total with only its default dimensions
  notifyingAlarm(stack, "DeadlineMissAlarm", stage, topic, {
    name: ALARMS.deadlineMisses,
    description: "Drains did not finish before the instance went away (PDBs, capacity, or API trouble): see the DeadlineMissed events on the nodes.",
    metric: new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: METRICS.deadlineMisses,
      dimensionsMap: { cluster: config.cluster.name, service: names.metricsService },
      statistic: "Sum",
      period: Duration.minutes(5),
    }),
    threshold: config.observability.deadlineMissThreshold,
    evaluationPeriods: 3,
    datapointsToAlarm: 1,
  });
}
