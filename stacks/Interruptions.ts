/**
 * The interruption path: EventBridge rules for the six signals -> an encrypted SQS queue (DLQ after
 * N receives) -> the interruption function (partial batch responses), with IAM scoped to what it
 * touches, an EKS access entry and the least-privilege ClusterRole it is bound to.
 */
import { Duration, Stack } from "aws-cdk-lib";
import * as eks from "aws-cdk-lib/aws-eks";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Function, use, type StackContext } from "sst/constructs";
import { CLUSTER_ROLE_NAME, CLUSTER_ROLE_RULES, KUBERNETES_GROUP } from "@spot-manager/core";
import { Cluster } from "./Cluster";
import { resourceNames } from "./names";
import { Observability } from "./Observability";
import { SIGNAL_RULES } from "./rules";

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
  const { cluster, clusterName, config } = use(Cluster);
  const { topic } = use(Observability);
  const names = resourceNames(app.stage);
  const settings = config.interruptions;
  const timeout = settings.lambda.timeoutSeconds;

  const dlq = new sqs.Queue(stack, "InterruptionDlq", {
    queueName: names.interruptionDlq,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
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

  for (const rule of SIGNAL_RULES) {
    new events.Rule(stack, rule.id, {
      ruleName: `${names.interruptionQueue}-${rule.id}`.slice(0, 64),
      description: rule.description,
      eventPattern: { source: rule.pattern.source, detailType: rule.pattern["detail-type"], ...(rule.pattern.detail ? { detail: rule.pattern.detail } : {}) },
      targets: [new targets.SqsQueue(queue)],
    });
  }

  const followUps = new scheduler.CfnScheduleGroup(stack, "FollowUpGroup", { name: names.schedulerGroup });
  const schedulerRole = new iam.Role(stack, "FollowUpSchedulerRole", {
    description: "EventBridge Scheduler delivers spot-manager follow-ups to the interruption queue",
    assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com", { conditions: { StringEquals: { "aws:SourceAccount": stack.account } } }),
  });
  queue.grantSendMessages(schedulerRole);

  const fn = new Function(stack, "InterruptionFunction", {
    functionName: names.interruptionFunction,
    description: "spot-manager: taint, cordon and drain nodes on EC2 interruption signals",
    handler: "functions/interruption.handler",
    runtime: "nodejs22.x",
    architecture: "arm_64",
    timeout: `${timeout} seconds`,
    memorySize: `${settings.lambda.memoryMiB} MB`,
    reservedConcurrentExecutions: settings.lambda.reservedConcurrency,
    logRetention: "one_month",
    nodejs: { format: "esm", minify: true },
    environment: {
      CLUSTER_NAME: clusterName,
      SPOT_MANAGER_POLICY: JSON.stringify(settings.policy),
      NOTIFICATION_TOPIC_ARN: topic.topicArn,
      QUEUE_URL: queue.queueUrl,
      QUEUE_ARN: queue.queueArn,
      SCHEDULER_ROLE_ARN: schedulerRole.roleArn,
      SCHEDULER_GROUP_NAME: names.schedulerGroup,
      POWERTOOLS_SERVICE_NAME: names.metricsService,
      POWERTOOLS_METRICS_NAMESPACE: "SpotManager",
    },
  });
  // no more concurrent batches than the function may run: a throttled delivery would use up a receive
  fn.addEventSource(new SqsEventSource(queue, { batchSize: settings.lambda.batchSize, reportBatchItemFailures: true, maxConcurrency: settings.lambda.reservedConcurrency }));

  const role = fn.role as iam.IRole;
  const region = Stack.of(stack).region;
  const account = Stack.of(stack).account;
  const partition = Stack.of(stack).partition;
  fn.addToRolePolicy(
    new iam.PolicyStatement({ sid: "DescribeInstances", actions: ["ec2:DescribeInstances"], resources: ["*"] }), // DescribeInstances has no resource-level permissions
  );
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
  fn.addToRolePolicy(
    new iam.PolicyStatement({ sid: "FollowUpsViaScheduler", actions: ["scheduler:CreateSchedule"], resources: [`arn:${partition}:scheduler:${region}:${account}:schedule/${names.schedulerGroup}/*`] }),
  );
  fn.addToRolePolicy(
    new iam.PolicyStatement({ sid: "PassSchedulerRole", actions: ["iam:PassRole"], resources: [schedulerRole.roleArn], conditions: { StringEquals: { "iam:PassedToService": "scheduler.amazonaws.com" } } }),
  );
  topic.grantPublish(fn);
  fn.node.addDependency(followUps);

  // the function's role becomes a Kubernetes group member, bound to the least-privilege ClusterRole
  new eks.CfnAccessEntry(stack, "InterruptionAccessEntry", { clusterName, principalArn: role.roleArn, type: "STANDARD", kubernetesGroups: [KUBERNETES_GROUP] });
  new eks.KubernetesManifest(stack, "InterruptionRbac", { cluster, manifest: rbacManifests(), overwrite: true });

  stack.addOutputs({ InterruptionQueueUrl: queue.queueUrl, InterruptionFunction: fn.functionName });
  return { queue, dlq, fn };
}
