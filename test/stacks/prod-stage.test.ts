import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { synth } from "./synth";

let prod: Awaited<ReturnType<typeof synth>>;
beforeAll(async () => {
  prod = await synth("prod");
}, 120_000);

describe("prod defaults", () => {
  it("keeps more on-demand base and retains data on delete", () => {
    prod.template("Cluster").hasResourceProperties("AWS::EKS::Nodegroup", { NodegroupName: "base-on-demand", ScalingConfig: { MinSize: 2, MaxSize: 6, DesiredSize: 2 } });
    prod.template("Interruptions").hasResource("AWS::SQS::Queue", { DeletionPolicy: "Retain", Properties: Match.objectLike({ QueueName: "spot-manager-prod-interruptions-dlq" }) });
  });

  it("alarms on DLQ depth, deadline misses and function errors, to the notification topic", () => {
    const template = prod.template("Observability");
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmName: "spot-manager-prod-interruptions-dlq-not-empty",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Namespace: "AWS/SQS",
      Dimensions: [{ Name: "QueueName", Value: "spot-manager-prod-interruptions-dlq" }],
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      AlarmActions: [{ Ref: Match.stringLikeRegexp("^Notifications") }],
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmName: "spot-manager-prod-interruption-deadline-misses",
      Namespace: "SpotManager",
      MetricName: "DeadlineMisses",
      Dimensions: Match.arrayWith([{ Name: "cluster", Value: "spot-manager-prod" }, { Name: "service", Value: "spot-manager-interruption" }]),
      AlarmActions: [{ Ref: Match.stringLikeRegexp("^Notifications") }],
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", { AlarmName: "spot-manager-prod-capacity-group-failures", MetricName: "CapacityGroupFailures" });
    // alarms watch exact metrics: CloudWatch does not alarm on SEARCH expressions
    for (const alarm of Object.values(template.findResources("AWS::CloudWatch::Alarm"))) expect(JSON.stringify(alarm)).not.toContain("SEARCH(");
    template.resourceCountIs("AWS::CloudWatch::Alarm", 4);
  });

  it("passes cdk-nag", () => {
    expect(prod.errors).toEqual([]);
  });
});
