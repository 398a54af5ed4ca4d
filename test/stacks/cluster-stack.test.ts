import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { rendered, statements, synth } from "./synth";

let stage: Awaited<ReturnType<typeof synth>>;
beforeAll(async () => {
  stage = await synth("staging", {
    nodeGroups: { selfManagedSpot: { enabled: true, scaling: { min: 0, max: 8, desired: 0 } } },
    addons: { argoCd: { enabled: true }, argoRollouts: { enabled: true } },
  });
}, 120_000);

describe("Cluster stack", () => {
  it("creates EKS with authentication mode API, control plane logs and no default capacity", () => {
    const template = stage.template("Cluster");
    template.hasResourceProperties("Custom::AWSCDK-EKS-Cluster", {
      Config: Match.objectLike({
        name: "spot-manager-staging",
        version: "1.33",
        accessConfig: { authenticationMode: "API" },
        logging: { clusterLogging: [{ enabled: true, types: ["api", "audit", "authenticator", "controllerManager", "scheduler"] }] },
      }),
    });
    template.resourceCountIs("AWS::EC2::VPC", 1);
    template.hasResourceProperties("AWS::EC2::FlowLog", { TrafficType: "REJECT" });
  });

  it("an on-demand managed node group is the stable base; a spot group with diversified types carries the PreferNoSchedule taint", () => {
    const template = stage.template("Cluster");
    template.hasResourceProperties("AWS::EKS::Nodegroup", {
      NodegroupName: "base-on-demand",
      CapacityType: "ON_DEMAND",
      AmiType: "AL2023_x86_64_STANDARD",
      InstanceTypes: ["m6i.large"],
      ScalingConfig: { MinSize: 1, MaxSize: 3, DesiredSize: 1 },
      Labels: { "spot-manager/lifecycle": "on-demand", "spot-manager/capacity-group": "base-on-demand" },
    });
    template.hasResourceProperties("AWS::EKS::Nodegroup", {
      NodegroupName: "spot-general",
      CapacityType: "SPOT",
      InstanceTypes: ["m6i.large", "m6a.large", "m5.large", "m5a.large", "m7i.large"],
      Labels: { "spot-manager/lifecycle": "spot", "spot-manager/capacity-group": "spot-general" },
      Taints: [{ Key: "spot-manager/lifecycle", Value: "spot", Effect: "PREFER_NO_SCHEDULE" }],
    });
  });

  it("the self-managed spot group: price-capacity-optimized across types, capacity rebalance, a terminate hook, cluster tags on instances", () => {
    const template = stage.template("Cluster");
    template.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", {
      AutoScalingGroupName: "spot-manager-staging-spot-self-managed",
      CapacityRebalance: true,
      MinSize: "0",
      MaxSize: "8",
      MixedInstancesPolicy: {
        InstancesDistribution: { OnDemandBaseCapacity: 0, OnDemandPercentageAboveBaseCapacity: 0, SpotAllocationStrategy: "price-capacity-optimized" },
        LaunchTemplate: Match.objectLike({ Overrides: ["m6i.large", "m6a.large", "m5.large", "m5a.large"].map((t) => ({ InstanceType: t })) }),
      },
    });
    const [asg] = Object.values(template.findResources("AWS::AutoScaling::AutoScalingGroup")) as { Properties: { Tags: { Key: string; Value: string; PropagateAtLaunch: boolean }[] } }[];
    for (const [Key, Value] of [
      ["kubernetes.io/cluster/spot-manager-staging", "owned"],
      ["eks:cluster-name", "spot-manager-staging"],
      ["k8s.io/cluster-autoscaler/enabled", "true"],
      ["k8s.io/cluster-autoscaler/spot-manager-staging", "owned"],
    ]) {
      expect(asg?.Properties.Tags).toContainEqual({ Key, Value, PropagateAtLaunch: true });
    }
    template.hasResourceProperties("AWS::AutoScaling::LifecycleHook", {
      LifecycleHookName: "spot-manager-drain",
      LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
      HeartbeatTimeout: 300,
      DefaultResult: "CONTINUE",
    });
    template.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({ MetadataOptions: Match.objectLike({ HttpTokens: "required" }), BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ Encrypted: true }) })] }),
    });
    template.hasResourceProperties("AWS::EKS::AccessEntry", { Type: "EC2_LINUX" });
  });

  it("installs metrics-server as an add-on, cluster-autoscaler by Helm with least-privilege IAM, and Argo when asked", () => {
    const template = stage.template("Cluster");
    template.hasResourceProperties("AWS::EKS::Addon", { AddonName: "metrics-server", ClusterName: Match.anyValue() });
    const charts = Object.values(template.findResources("Custom::AWSCDK-EKS-HelmChart")).map((c) => (c as { Properties: { Chart: string; Values?: unknown } }).Properties);
    expect(charts.map((c) => c.Chart).sort()).toEqual(["argo-cd", "argo-rollouts", "cluster-autoscaler"]);
    const values = JSON.parse(String(rendered(charts.find((c) => c.Chart === "cluster-autoscaler")?.Values))) as Record<string, unknown>;
    expect(values).toMatchObject({ autoDiscovery: { clusterName: "spot-manager-staging" }, rbac: { serviceAccount: { create: false, name: "cluster-autoscaler" } }, expanderPriorities: { 50: [".*spot.*"], 10: [".*"] } });
    const scaling = statements(template).find((s) => JSON.stringify(s.Action).includes("SetDesiredCapacity"));
    expect(scaling?.Condition).toEqual({ StringEquals: { "aws:ResourceTag/k8s.io/cluster-autoscaler/spot-manager-staging": "owned" } });
    expect([scaling?.Action].flat().sort()).toEqual(["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]);
    for (const s of statements(template)) for (const action of [s.Action].flat()) expect(action).not.toMatch(/^\*$/);
  });

  it("passes cdk-nag", () => {
    expect(stage.errors).toEqual([]);
  });
});

describe("Drills stack", () => {
  it("an FIS template interrupts this cluster's running spot instances, selected by tag", () => {
    const template = stage.template("Drills");
    template.hasResourceProperties("AWS::FIS::ExperimentTemplate", {
      Targets: { SpotInstances: { ResourceType: "aws:ec2:spot-instance", ResourceTags: { "kubernetes.io/cluster/spot-manager-staging": "owned" }, SelectionMode: "COUNT(1)", Filters: [{ Path: "State.Name", Values: ["running"] }] } },
      Actions: { InterruptSpot: { ActionId: "aws:ec2:send-spot-instance-interruptions", Parameters: { durationBeforeInterruption: "PT2M" }, Targets: { SpotInstances: "SpotInstances" } } },
      StopConditions: [{ Source: "none" }],
    });
    const send = statements(template).find((s) => JSON.stringify(s.Action).includes("SendSpotInstanceInterruptions"));
    expect(send?.Condition).toEqual({ StringEquals: { "aws:ResourceTag/kubernetes.io/cluster/spot-manager-staging": "owned" } });
    template.hasResourceProperties("AWS::IAM::Role", { AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: "fis.amazonaws.com" } })] }) });
  });
});

describe("Observability stack", () => {
  it("an encrypted, TLS-only topic and a dashboard; alarms only where the stage asks (not in dev-like stages)", () => {
    const template = stage.template("Observability");
    template.hasResourceProperties("AWS::SNS::Topic", { TopicName: "spot-manager-staging-notifications", KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties("AWS::KMS::Key", { EnableKeyRotation: true });
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
    template.resourceCountIs("AWS::CloudWatch::Alarm", 0);
  });
});
