import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { synthVariant, type SynthesizedVariant } from "./variants";

let prod: SynthesizedVariant;
beforeAll(async () => {
  prod = await synthVariant("prod");
}, 420_000);

describe("prod defaults", () => {
  it("keeps more on-demand base (no desired size) and a NAT gateway in each AZ", () => {
    const cluster = prod.template("Cluster");
    cluster.hasResourceProperties("AWS::EKS::Nodegroup", { NodegroupName: "base-on-demand", ScalingConfig: { MinSize: 2, MaxSize: 6 } });
    cluster.resourceCountIs("AWS::EC2::NatGateway", 3);
  });

  it("keeps data when the stage is removed: the DLQs, log groups and keys; the cluster, node groups, NAT and functions go", () => {
    const interruptions = prod.template("Interruptions");
    interruptions.hasResource("AWS::SQS::Queue", { DeletionPolicy: "Retain", Properties: Match.objectLike({ RedrivePolicy: Match.absent(), QueueName: Match.absent() }) });
    interruptions.hasResource("AWS::SQS::Queue", { DeletionPolicy: "Delete", Properties: Match.objectLike({ QueueName: "spot-manager-prod-interruptions" }) });
    interruptions.hasResource("AWS::Lambda::Function", { DeletionPolicy: "Delete", Properties: Match.objectLike({ FunctionName: "spot-manager-prod-interruption" }) });
    interruptions.hasResourceProperties("Custom::LogRetention", { LogGroupName: "/aws/lambda/spot-manager-prod-interruption", RemovalPolicy: "retain" });
    const cluster = prod.template("Cluster");
    for (const type of ["Custom::AWSCDK-EKS-Cluster", "AWS::EKS::Nodegroup", "AWS::EC2::NatGateway", "AWS::EC2::VPC"]) {
      for (const [id, resource] of Object.entries(cluster.findResources(type))) expect((resource as { DeletionPolicy?: string }).DeletionPolicy, id).toBe("Delete");
    }
    cluster.hasResourceProperties("Custom::LogRetention", { LogGroupName: "/aws/eks/spot-manager-prod/cluster", RemovalPolicy: "retain" });
    prod.template("Observability").hasResource("AWS::KMS::Key", { DeletionPolicy: "Retain" });
  });

  it("alarms on DLQ depth, waiting events, deadline misses and function errors, to the notification topic", () => {
    const template = prod.template("Interruptions");
    const topic = [{ "Fn::ImportValue": Match.stringLikeRegexp("Notifications") }];
    template.hasResourceProperties("AWS::CloudWatch::Alarm", { AlarmName: "spot-manager-prod-interruptions-dlq-not-empty", MetricName: "ApproximateNumberOfMessagesVisible", Threshold: 1, ComparisonOperator: "GreaterThanOrEqualToThreshold", AlarmActions: topic });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", { AlarmName: "spot-manager-prod-interruptions-waiting", Threshold: 60, AlarmActions: topic });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmName: "spot-manager-prod-interruption-deadline-misses",
      Namespace: "SpotManager",
      MetricName: "DeadlineMisses",
      Dimensions: Match.arrayWith([{ Name: "cluster", Value: "spot-manager-prod" }, { Name: "service", Value: "spot-manager-interruption" }]),
      AlarmActions: topic,
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", { AlarmName: "spot-manager-prod-interruption-errors", AlarmActions: topic });
    prod.template("Capacity").hasResourceProperties("AWS::CloudWatch::Alarm", { AlarmName: "spot-manager-prod-capacity-group-failures", MetricName: "CapacityGroupFailures" });
  });

  it("passes cdk-nag", () => {
    expect(prod.errors).toEqual([]);
  });
});
