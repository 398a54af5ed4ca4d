import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { rendered, statements } from "./synth";
import { OPERATOR_ROLE, synthVariant, type SynthesizedVariant } from "./variants";

let staging: SynthesizedVariant;
let dev: SynthesizedVariant;
beforeAll(async () => {
  [staging, dev] = await Promise.all([synthVariant("selfManaged"), synthVariant("dev")]);
}, 420_000);

describe("Cluster stack", () => {
  it("creates EKS with authentication mode API, control plane logs with managed retention, and no default capacity", () => {
    const template = staging.template("Cluster");
    template.hasResourceProperties("Custom::AWSCDK-EKS-Cluster", {
      Config: Match.objectLike({
        name: "spot-manager-staging",
        version: "1.34",
        accessConfig: Match.objectLike({ authenticationMode: "API" }),
        logging: { clusterLogging: [{ enabled: true, types: ["api", "audit", "authenticator", "controllerManager", "scheduler"] }] },
      }),
    });
    template.hasResourceProperties("Custom::LogRetention", { LogGroupName: "/aws/eks/spot-manager-staging/cluster", RetentionInDays: 30, RemovalPolicy: "destroy" });
    template.resourceCountIs("AWS::EC2::VPC", 1);
    template.hasResourceProperties("AWS::EC2::FlowLog", { TrafficType: "REJECT" });
  });

  it("maps the operators' IAM roles to cluster admin, so people can use kubectl on the new cluster", () => {
    const [entry] = Object.values(staging.template("Cluster").findResources("AWS::EKS::AccessEntry", { Properties: { PrincipalArn: OPERATOR_ROLE } })) as { Properties: { AccessPolicies: unknown } }[];
    expect(rendered(entry?.Properties.AccessPolicies)).toEqual([{ PolicyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", AccessScope: { Type: "cluster" } }]);
    // without operators the synth says so: only the deploy role could use kubectl
    dev.template("Cluster").resourcePropertiesCountIs("AWS::EKS::AccessEntry", { PrincipalArn: OPERATOR_ROLE }, 0);
    expect(dev.notices).toContainEqual(expect.objectContaining({ level: "warning", message: expect.stringMatching(/cluster\.admins is empty: no person can use kubectl/) }));
  });

  it("limits the public endpoint to publicAccessCidrs, and then runs the Kubernetes client in the VPC", () => {
    staging.template("Cluster").hasResourceProperties("Custom::AWSCDK-EKS-Cluster", {
      Config: Match.objectLike({ resourcesVpcConfig: Match.objectLike({ endpointPublicAccess: true, endpointPrivateAccess: true, publicAccessCidrs: ["203.0.113.0/24"] }) }),
    });
    staging.template("Interruptions").hasResourceProperties("AWS::Lambda::Function", { FunctionName: "spot-manager-staging-interruption", VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }) });
    // AWS APIs through the NAT gateway unless the stage asks for VPC endpoints
    staging.template("Cluster").resourceCountIs("AWS::EC2::VPCEndpoint", 0);
    dev.template("Cluster").hasResourceProperties("Custom::AWSCDK-EKS-Cluster", { Config: Match.objectLike({ resourcesVpcConfig: Match.objectLike({ publicAccessCidrs: Match.absent() }) }) });
  });

  it("an on-demand managed node group is the stable base; a spot group with diversified types carries the PreferNoSchedule taint; neither sets a desired size", () => {
    const template = staging.template("Cluster");
    template.hasResourceProperties("AWS::EKS::Nodegroup", {
      NodegroupName: "base-on-demand",
      CapacityType: "ON_DEMAND",
      AmiType: "AL2023_x86_64_STANDARD",
      InstanceTypes: ["m6i.large"],
      ScalingConfig: { MinSize: 1, MaxSize: 3 },
      Labels: { "spot-manager/lifecycle": "on-demand", "spot-manager/capacity-group": "base-on-demand" },
    });
    template.hasResourceProperties("AWS::EKS::Nodegroup", {
      NodegroupName: "spot-general",
      CapacityType: "SPOT",
      ScalingConfig: { MinSize: 0, MaxSize: 6 },
      InstanceTypes: ["m6i.large", "m6a.large", "m5.large", "m5a.large", "m7i.large"],
      Labels: { "spot-manager/lifecycle": "spot", "spot-manager/capacity-group": "spot-general" },
      Taints: [{ Key: "spot-manager/lifecycle", Value: "spot", Effect: "PREFER_NO_SCHEDULE" }],
    });
  });

  it("the self-managed spot group: price-capacity-optimized across types, capacity rebalance, a terminate hook, cluster tags on instances", () => {
    const template = staging.template("Cluster");
    template.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", {
      AutoScalingGroupName: "spot-manager-staging-spot-self-managed",
      CapacityRebalance: true,
      MinSize: "0",
      MaxSize: "8",
      DesiredCapacity: Match.absent(),
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

  it("installs metrics-server as an add-on, cluster-autoscaler of the cluster's minor version by Helm with least-privilege IAM, and Argo when asked", () => {
    const template = staging.template("Cluster");
    template.hasResourceProperties("AWS::EKS::Addon", { AddonName: "metrics-server", ClusterName: Match.anyValue() });
    const charts = Object.values(template.findResources("Custom::AWSCDK-EKS-HelmChart")).map((c) => (c as { Properties: { Chart: string; Version?: string; Values?: unknown } }).Properties);
    expect(charts.map((c) => c.Chart).sort()).toEqual(["argo-cd", "argo-rollouts", "cluster-autoscaler"]);
    const autoscaler = charts.find((c) => c.Chart === "cluster-autoscaler")!;
    expect(autoscaler.Version).toBe("9.53.0");
    const values = JSON.parse(String(rendered(autoscaler.Values))) as Record<string, unknown>;
    expect(values).toMatchObject({
      image: { tag: "v1.34.2" },
      autoDiscovery: { clusterName: "spot-manager-staging" },
      rbac: { serviceAccount: { create: false, name: "cluster-autoscaler" } },
      expanderPriorities: { 50: [".*spot.*"], 10: [".*"] },
    });
    const scaling = statements(template).find((s) => JSON.stringify(s.Action).includes("SetDesiredCapacity"));
    expect(scaling?.Condition).toEqual({ StringEquals: { "aws:ResourceTag/k8s.io/cluster-autoscaler/spot-manager-staging": "owned" } });
    expect([scaling?.Action].flat().sort()).toEqual(["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]);
    const nodegroups = statements(template).find((s) => s.Action === "eks:DescribeNodegroup");
    expect(rendered(nodegroups?.Resource)).toBe("arn:aws:eks:us-west-2:123456789012:nodegroup/spot-manager-staging/*/*");
    for (const s of statements(template)) for (const action of [s.Action].flat()) expect(action).not.toMatch(/^\*$/);
  });

  it("uses the kubectl layer of the cluster's minor version", () => {
    staging.template("Cluster").hasResourceProperties("AWS::Lambda::LayerVersion", { Description: Match.stringLikeRegexp("^/opt/kubectl/kubectl 1\\.34\\.") });
    dev.template("Cluster").hasResourceProperties("AWS::Lambda::LayerVersion", { Description: Match.stringLikeRegexp("^/opt/kubectl/kubectl 1\\.35\\.") });
    dev.template("Cluster").hasResourceProperties("Custom::AWSCDK-EKS-Cluster", { Config: Match.objectLike({ version: "1.35" }) });
  });

  it("one NAT gateway outside prod", () => {
    dev.template("Cluster").resourceCountIs("AWS::EC2::NatGateway", 1);
  });
});

describe("Drills stack", () => {
  it("an FIS template interrupts this cluster's running spot instances, selected by tag", () => {
    const template = staging.template("Drills");
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
  it("an encrypted, TLS-only topic and a dashboard that shows the stage's alarms; the alarms live next to what they watch", () => {
    const template = staging.template("Observability");
    template.hasResourceProperties("AWS::SNS::Topic", { TopicName: "spot-manager-staging-notifications", KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties("AWS::KMS::Key", { EnableKeyRotation: true });
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
    template.resourceCountIs("AWS::CloudWatch::Alarm", 0);
    const [dashboard] = Object.values(template.findResources("AWS::CloudWatch::Dashboard")) as { Properties: { DashboardBody: unknown } }[];
    const body = String(rendered(dashboard!.Properties.DashboardBody));
    for (const alarm of ["interruptions-dlq-not-empty", "interruptions-waiting", "interruptions-undelivered-events", "capacity-rule-failed-invocations", "capacity-group-failures"]) {
      expect(body).toContain(`:alarm:spot-manager-staging-${alarm}`);
    }
  });
});
