/**
 * The notification topic every function and alarm publishes to, the bus outcome events go to, and
 * the stage's dashboard. It comes before the stacks it watches, so it shows their alarms and
 * fixed-name resources by name (names.ts); the alarms themselves live next to what they watch.
 */
import { Duration, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import { use, type StackContext } from "sst/constructs";
import { METRICS, METRICS_NAMESPACE } from "@spot-manager/core";
import { Cluster } from "./Cluster";
import type { StageConfig } from "./config";
import { ALARMS, resourceNames, STACK_IDS } from "./names";
import { outcomeBus, type OutcomeBus } from "./outcomes";

export interface ObservabilityOutputs {
  topic: sns.ITopic;
  /** Where outcome events go; undefined when the stage turned them off. */
  outcomeBus?: OutcomeBus;
}

/** A metric the interruption function emits with a `kind` dimension, summed over every other dimension. */
function byKind(metric: string, cluster: string, label: string, statistic = "Sum"): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${METRICS_NAMESPACE},cluster,kind,service} MetricName="${metric}" cluster="${cluster}"', '${statistic}', 300)`,
    label,
    period: Duration.minutes(5),
  });
}

function total(metric: string, cluster: string, statistic: string, label: string): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: `SUM(SEARCH('{${METRICS_NAMESPACE},cluster,kind,service} MetricName="${metric}" cluster="${cluster}"', '${statistic}', 300))`,
    label,
    period: Duration.minutes(5),
  });
}

/** The alarm names this stage's stacks create, for the dashboard's status widget. */
export function stageAlarmNames(stage: string, config: StageConfig): string[] {
  const names = resourceNames(stage);
  const always = [ALARMS.interruptionDlq, ALARMS.interruptionQueueAge, ALARMS.undelivered("Interruptions"), ALARMS.failedInvocations("Interruptions")];
  const optional = config.observability.alarms ? [ALARMS.interruptionErrors, ALARMS.deadlineMisses] : [];
  const capacity = config.capacity.enabled ? [ALARMS.undelivered("Capacity"), ALARMS.failedInvocations("Capacity"), ...(config.observability.alarms ? [ALARMS.capacityFailures] : [])] : [];
  const delivery = config.delivery.enabled ? [ALARMS.undelivered("Delivery"), ALARMS.failedInvocations("Delivery")] : [];
  return [...always, ...optional, ...capacity, ...delivery].map((a) => names.alarm(a));
}

export function Observability({ stack, app }: StackContext): ObservabilityOutputs {
  const { config, clusterName } = use(Cluster);
  const names = resourceNames(app.stage);
  const { partition, region, account } = Stack.of(stack);
  // a key of our own: CloudWatch alarms cannot publish to a topic under the AWS-managed SNS key
  const key = new kms.Key(stack, "NotificationKey", { enableKeyRotation: true, description: `spot-manager ${app.stage} notifications` });
  key.grant(new iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*");
  const topic = new sns.Topic(stack, "Notifications", { topicName: names.notificationTopic, masterKey: key, enforceSSL: true });
  for (const email of config.notifications.emails) topic.addSubscription(new subscriptions.EmailSubscription(email));
  const bus = outcomeBus(stack, config);

  const shown = new Map<string, cloudwatch.IAlarm>();
  const alarm = (name: string) => {
    if (!shown.has(name)) shown.set(name, cloudwatch.Alarm.fromAlarmArn(stack, `Show-${name}`, `arn:${partition}:cloudwatch:${region}:${account}:alarm:${name}`));
    return shown.get(name)!;
  };
  const queueAge = new cloudwatch.Metric({ namespace: "AWS/SQS", metricName: "ApproximateAgeOfOldestMessage", dimensionsMap: { QueueName: names.interruptionQueue }, statistic: "Maximum", period: Duration.minutes(1) });
  const deadlineMisses = total(METRICS.deadlineMisses, clusterName, "Sum", "deadline misses");

  new cloudwatch.Dashboard(stack, "Dashboard", {
    dashboardName: names.dashboard,
    widgets: [
      [new cloudwatch.AlarmStatusWidget({ title: `spot-manager ${app.stage} alarms`, alarms: stageAlarmNames(app.stage, config).map(alarm), width: 24, height: 4 })],
      [
        new cloudwatch.GraphWidget({ title: "Events by kind", left: [byKind(METRICS.eventsReceived, clusterName, "")], width: 12 }),
        new cloudwatch.GraphWidget({ title: "Drain seconds (max) and seconds left at finish (min)", left: [byKind(METRICS.drainSeconds, clusterName, "drain", "Maximum")], right: [byKind(METRICS.secondsLeftAtFinish, clusterName, "left", "Minimum")], width: 12 }),
      ],
      [
        new cloudwatch.GraphWidget({ title: "Pods evicted, evictions blocked by PDBs", left: [byKind(METRICS.podsEvicted, clusterName, "evicted")], right: [byKind(METRICS.evictionsBlockedByPdb, clusterName, "blocked by PDB")], width: 12 }),
        new cloudwatch.GraphWidget({ title: "Deadline misses and ignored events", left: [deadlineMisses], right: [byKind(METRICS.eventsIgnored, clusterName, "ignored")], width: 12 }),
      ],
      [
        new cloudwatch.AlarmWidget({ title: "Interruption DLQ depth", alarm: alarm(names.alarm(ALARMS.interruptionDlq)), width: 8 }),
        new cloudwatch.GraphWidget({ title: "Interruption queue: oldest message age", left: [queueAge], width: 8 }),
        new cloudwatch.AlarmWidget({ title: "Undelivered interruption events", alarm: alarm(names.alarm(ALARMS.undelivered(STACK_IDS[2]))), width: 8 }),
      ],
      [
        new cloudwatch.GraphWidget({
          title: "Spot vs on-demand capacity (in-service instances)",
          left: [
            // the capacity manager reports every group it watches, by capacity type
            new cloudwatch.MathExpression({
              expression: `SEARCH('{${METRICS_NAMESPACE},capacityType,cluster,group,service} MetricName="${METRICS.groupInService}" cluster="${clusterName}"', 'Average', 300)`,
              label: "",
              period: Duration.minutes(5),
            }),
          ],
          right: [new cloudwatch.MathExpression({ expression: `SEARCH('{${METRICS_NAMESPACE},cluster,group,service} MetricName="${METRICS.spotInterruptions}" cluster="${clusterName}"', 'Sum', 300)`, label: "interruptions", period: Duration.minutes(5) })],
          width: 24,
        }),
      ],
    ],
  });
  if (bus) stack.addOutputs({ OutcomeEventBus: bus.arn });
  return { topic, ...(bus ? { outcomeBus: bus } : {}) };
}
