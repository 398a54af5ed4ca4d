/**
 * Alarms every stage gets, next to what they watch, all notifying the stage's topic: dead-letter
 * queues with anything in them, EventBridge rules whose targets failed, and the queue for events
 * EventBridge could not deliver at all.
 */
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as events from "aws-cdk-lib/aws-events";
import type * as sns from "aws-cdk-lib/aws-sns";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { NagSuppressions } from "cdk-nag";
import type { Construct } from "constructs";
import type { StageConfig } from "./config";
import { ALARMS, resourceNames, type STACK_IDS } from "./names";
import { markAsData } from "./retention";

type StackId = (typeof STACK_IDS)[number];

export interface AlarmSpec {
  /** The name's stage-independent part (names.ts ALARMS). */
  name: string;
  description: string;
  metric: cloudwatch.IMetric;
  threshold: number;
  evaluationPeriods: number;
  datapointsToAlarm?: number;
  comparison?: cloudwatch.ComparisonOperator;
}

/** An alarm that notifies the stage's topic when it fires (missing data: all is well). */
export function notifyingAlarm(scope: Construct, id: string, stage: string, topic: sns.ITopic, spec: AlarmSpec): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, id, {
    alarmName: resourceNames(stage).alarm(spec.name),
    alarmDescription: spec.description,
    metric: spec.metric,
    threshold: spec.threshold,
    evaluationPeriods: spec.evaluationPeriods,
    datapointsToAlarm: spec.datapointsToAlarm ?? spec.evaluationPeriods,
    comparisonOperator: spec.comparison ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  alarm.addAlarmAction(new actions.SnsAction(topic));
  return alarm;
}

/** A dead-letter queue (SSE, TLS only, 14 days) kept as data, with an alarm on anything in it. */
export function deadLetterQueue(scope: Construct, id: string, stage: string, topic: sns.ITopic, config: StageConfig, alarm: { name: string; description: string }): sqs.Queue {
  const queue = new sqs.Queue(scope, id, { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
  markAsData(queue);
  NagSuppressions.addResourceSuppressions(queue, [{ id: "AwsSolutions-SQS3", reason: "This is a dead-letter queue; what fails here is kept for inspection and redrive." }]);
  notifyingAlarm(scope, `${id}Alarm`, stage, topic, {
    ...alarm,
    metric: queue.metricApproximateNumberOfMessagesVisible({ statistic: "Maximum", period: Duration.minutes(1) }),
    threshold: config.observability.dlqAlarmThreshold,
    evaluationPeriods: 1,
  });
  return queue;
}

/** The queue for events EventBridge could not deliver to this stack's targets after its retries. */
export function undeliveredEventsQueue(scope: Construct, stackId: StackId, stage: string, topic: sns.ITopic, config: StageConfig): sqs.Queue {
  return deadLetterQueue(scope, "UndeliveredEvents", stage, topic, config, {
    name: ALARMS.undelivered(stackId),
    description: `EventBridge gave up delivering events to ${stackId} targets (permissions, throttling, a deleted target): they wait in this stack's UndeliveredEvents queue.`,
  });
}

/** Alarms when any of the rules' targets failed an invocation (summed, at most ten rules an alarm). */
export function failedInvocationsAlarm(scope: Construct, stackId: StackId, stage: string, topic: sns.ITopic, rules: events.IRule[]): void {
  const metric = (rule: events.IRule) =>
    new cloudwatch.Metric({ namespace: "AWS/Events", metricName: "FailedInvocations", dimensionsMap: { RuleName: rule.ruleName }, statistic: "Sum", period: Duration.minutes(5) });
  for (let start = 0; start < rules.length; start += 10) {
    const chunk = rules.slice(start, start + 10);
    const part = start === 0 ? "" : `-${start / 10 + 1}`;
    const usingMetrics = Object.fromEntries(chunk.map((rule, i) => [`m${i}`, metric(rule)]));
    notifyingAlarm(scope, `RuleFailedInvocations${part}`, stage, topic, {
      name: `${ALARMS.failedInvocations(stackId)}${part}`,
      description: `An EventBridge rule of ${stackId} could not invoke its target: see the rule's FailedInvocations and the UndeliveredEvents queue.`,
      metric:
        chunk.length === 1
          ? metric(chunk[0]!)
          : new cloudwatch.MathExpression({ expression: `SUM([${Object.keys(usingMetrics).map((k) => `FILL(${k}, 0)`).join(", ")}])`, usingMetrics, period: Duration.minutes(5), label: "failed invocations" }),
      threshold: 1,
      evaluationPeriods: 1,
    });
  }
}
