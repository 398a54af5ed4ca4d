/**
 * Notifications, dashboard and alarms. Resources of the later stacks are referenced by their
 * physical names (names.ts), so the topic can come first and be used by every function.
 */
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import { use, type StackContext } from "sst/constructs";
import { CAPACITY_METRICS, METRICS, METRICS_NAMESPACE } from "@spot-manager/core";
import { Cluster } from "./Cluster";
import { resourceNames } from "./names";

export interface ObservabilityOutputs {
  topic: sns.ITopic;
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

export function Observability({ stack, app }: StackContext): ObservabilityOutputs {
  const { config, clusterName } = use(Cluster);
  const names = resourceNames(app.stage);
  // a key of our own: CloudWatch alarms cannot publish to a topic under the AWS-managed SNS key
  const key = new kms.Key(stack, "NotificationKey", { enableKeyRotation: true, description: `spot-manager ${app.stage} notifications` });
  key.grant(new iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*");
  const topic = new sns.Topic(stack, "Notifications", { topicName: names.notificationTopic, masterKey: key, enforceSSL: true });
  for (const email of config.notifications.emails) topic.addSubscription(new subscriptions.EmailSubscription(email));

  const dlqDepth = new cloudwatch.Metric({ namespace: "AWS/SQS", metricName: "ApproximateNumberOfMessagesVisible", dimensionsMap: { QueueName: names.interruptionDlq }, statistic: "Maximum", period: Duration.minutes(1) });
  const queueAge = new cloudwatch.Metric({ namespace: "AWS/SQS", metricName: "ApproximateAgeOfOldestMessage", dimensionsMap: { QueueName: names.interruptionQueue }, statistic: "Maximum", period: Duration.minutes(1) });
  const errors = new cloudwatch.Metric({ namespace: "AWS/Lambda", metricName: "Errors", dimensionsMap: { FunctionName: names.interruptionFunction }, statistic: "Sum", period: Duration.minutes(5) });
  const deadlineMisses = total(METRICS.deadlineMisses, clusterName, "Sum", "deadline misses");
  // alarms need exact metrics: the functions also emit these totals with only their default dimensions
  const deadlineMissTotal = new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: METRICS.deadlineMisses, dimensionsMap: { cluster: clusterName, service: names.metricsService }, statistic: "Sum", period: Duration.minutes(5) });
  const capacityFailures = new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: CAPACITY_METRICS.groupFailures, dimensionsMap: { cluster: clusterName, service: "spot-manager-capacity" }, statistic: "Sum", period: Duration.minutes(5) });

  new cloudwatch.Dashboard(stack, "Dashboard", {
    dashboardName: names.dashboard,
    widgets: [
      [
        new cloudwatch.GraphWidget({ title: "Events by kind", left: [byKind(METRICS.eventsReceived, clusterName, "")], width: 12 }),
        new cloudwatch.GraphWidget({ title: "Drain seconds (max) and seconds left at finish (min)", left: [byKind(METRICS.drainSeconds, clusterName, "drain", "Maximum")], right: [byKind(METRICS.secondsLeftAtFinish, clusterName, "left", "Minimum")], width: 12 }),
      ],
      [
        new cloudwatch.GraphWidget({ title: "Pods evicted, evictions blocked by PDBs", left: [byKind(METRICS.podsEvicted, clusterName, "evicted")], right: [byKind(METRICS.evictionsBlockedByPdb, clusterName, "blocked by PDB")], width: 12 }),
        new cloudwatch.GraphWidget({ title: "Deadline misses and ignored events", left: [deadlineMisses], right: [byKind(METRICS.eventsIgnored, clusterName, "ignored")], width: 12 }),
      ],
      [
        new cloudwatch.GraphWidget({ title: "Interruption queue: DLQ depth, oldest message age", left: [dlqDepth], right: [queueAge], width: 12 }),
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
          width: 12,
        }),
      ],
    ],
  });

  if (config.observability.alarms) {
    const alarm = (id: string, name: string, description: string, metric: cloudwatch.IMetric, threshold: number, evaluationPeriods: number) =>
      new cloudwatch.Alarm(stack, id, {
        alarmName: name,
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods,
        datapointsToAlarm: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    const alarms = [
      alarm("DlqDepthAlarm", `${names.interruptionDlq}-not-empty`, "Interruption events gave up after every retry and wait in the dead-letter queue: inspect and redrive them.", dlqDepth, config.observability.dlqAlarmThreshold, 1),
      alarm(
        "DeadlineMissAlarm",
        `${names.interruptionFunction}-deadline-misses`,
        "Drains did not finish before the instance went away (PDBs, capacity, or API trouble): see the DeadlineMissed events on the nodes.",
        deadlineMissTotal,
        config.observability.deadlineMissThreshold,
        3,
      ),
      alarm("FunctionErrorAlarm", `${names.interruptionFunction}-errors`, "The interruption function failed invocations (configuration, permissions or a bug).", errors, 1, 1),
    ];
    if (config.capacity.enabled) {
      alarms.push(
        alarm(
          "CapacityFailureAlarm",
          `spot-manager-${app.stage}-capacity-group-failures`,
          "The capacity manager could not read or change a node group: see its logs for the group and the reason.",
          capacityFailures,
          1,
          3,
        ),
      );
    }
    for (const a of alarms) a.addAlarmAction(new actions.SnsAction(topic));
  }
  return { topic };
}
