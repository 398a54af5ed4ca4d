import { AutoScalingClient, DescribeAutoScalingGroupsCommand, DescribeScalingActivitiesCommand, type AutoScalingGroup } from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeNodegroupCommand, EKSClient, ResourceNotFoundException } from "@aws-sdk/client-eks";
import { mockClient } from "@spot-manager/aws-fakes";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { CapacityObserver } from "../src/capacity/observe";
import { parseCapacityPolicy } from "../src/capacity/policy";

const eks = mockClient(EKSClient);
const autoscaling = mockClient(AutoScalingClient);
const cloudwatch = mockClient(CloudWatchClient);
afterAll(() => {
  eks.restore();
  autoscaling.restore();
  cloudwatch.restore();
});

const CLUSTER = "spot-manager-prod";
const NOW = Date.parse("2024-05-14T09:30:20Z");
const ago = (minutes: number) => new Date(NOW - minutes * 60_000);

const POLICY = parseCapacityPolicy({
  groups: {
    "base-on-demand": { type: "managed-node-group", capacityType: "on-demand", default: { min: 1, max: 4 } },
    "spot-general": { type: "managed-node-group", capacityType: "spot", default: { min: 0, max: 10 } },
    "self-managed-spot": { type: "auto-scaling-group", capacityType: "spot", default: { min: 0, max: 5 } },
  },
  fallbacks: [{ onDemandGroup: "base-on-demand", spotGroups: ["spot-general", "self-managed-spot"], maxExtra: 4, capacityFailures: { windowMinutes: 15 }, interruptions: { windowMinutes: 30 } }],
});

const instances = (...states: string[]) => states.map((LifecycleState, i) => ({ InstanceId: `i-${i}`, LifecycleState, AvailabilityZone: "eu-central-1a", HealthStatus: "Healthy", ProtectedFromScaleIn: false }));

const ASGS: AutoScalingGroup[] = [
  // EKS's groups: their sizes are read from EKS, only what is in service from here
  { AutoScalingGroupName: "eks-base-on-demand-1ec7", MinSize: 9, MaxSize: 9, DesiredCapacity: 9, Instances: instances("InService", "InService", "Pending"), Tags: [] } as unknown as AutoScalingGroup,
  { AutoScalingGroupName: "eks-spot-general-8d1f", MinSize: 9, MaxSize: 9, DesiredCapacity: 9, Instances: instances("InService", "Terminating", "InService"), Tags: [] } as unknown as AutoScalingGroup,
  {
    AutoScalingGroupName: "self-managed-spot",
    MinSize: 0,
    MaxSize: 5,
    DesiredCapacity: 2,
    Instances: instances("InService", "InService"),
    Tags: [
      { Key: "spot-manager/window", Value: "default", ResourceId: "self-managed-spot" },
      { Key: "k8s.io/cluster-autoscaler/enabled", Value: "true", ResourceId: "self-managed-spot" },
    ],
  } as unknown as AutoScalingGroup,
];

function nodegroup(name: string, sizes: { minSize: number; maxSize: number; desiredSize: number }, asg: string, tags: Record<string, string> = {}) {
  return {
    nodegroup: {
      nodegroupName: name,
      clusterName: CLUSTER,
      nodegroupArn: `arn:aws:eks:eu-central-1:123456789012:nodegroup/${CLUSTER}/${name}/1`,
      status: "ACTIVE" as const,
      scalingConfig: sizes,
      tags,
      resources: { autoScalingGroups: [{ name: asg }] },
    },
  };
}

beforeEach(() => {
  eks.reset();
  autoscaling.reset();
  cloudwatch.reset();
  eks
    .on(DescribeNodegroupCommand, { nodegroupName: "base-on-demand" })
    .resolves(nodegroup("base-on-demand", { minSize: 1, maxSize: 4, desiredSize: 3 }, "eks-base-on-demand-1ec7", { "spot-manager/shortfall-since": "2024-05-14T09:12:00.000Z", team: "platform" }))
    .on(DescribeNodegroupCommand, { nodegroupName: "spot-general" })
    .resolves(nodegroup("spot-general", { minSize: 0, maxSize: 10, desiredSize: 4 }, "eks-spot-general-8d1f"));
  autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: ASGS });
  autoscaling
    .on(DescribeScalingActivitiesCommand, { AutoScalingGroupName: "eks-spot-general-8d1f" })
    .resolves({
      Activities: [
        { ActivityId: "a1", AutoScalingGroupName: "eks-spot-general-8d1f", Cause: "c", StartTime: ago(5), StatusCode: "Failed", StatusMessage: "Could not launch Spot Instances. InsufficientInstanceCapacity - There is no Spot capacity available." },
        { ActivityId: "a2", AutoScalingGroupName: "eks-spot-general-8d1f", Cause: "c", StartTime: ago(40), StatusCode: "Failed", StatusMessage: "old" },
      ],
    })
    .on(DescribeScalingActivitiesCommand, { AutoScalingGroupName: "self-managed-spot" })
    .resolves({ Activities: [{ ActivityId: "a3", AutoScalingGroupName: "self-managed-spot", Cause: "c", StartTime: ago(2), StatusCode: "Successful", Description: "Launching a new EC2 instance: i-1" }] });
  cloudwatch.on(GetMetricDataCommand).resolves({
    MetricDataResults: [
      // per-minute sums, newest first; the one 40 minutes back is outside the 30-minute window
      { Id: "g0", Label: "spot-general", StatusCode: "Complete", Timestamps: [ago(3), ago(10), ago(40)], Values: [2, 1, 7] },
      { Id: "g1", Label: "self-managed-spot", StatusCode: "Complete", Timestamps: [], Values: [] },
    ],
  });
});

const observer = () => new CapacityObserver({ eks: new EKSClient({}), autoscaling: new AutoScalingClient({}), cloudwatch: new CloudWatchClient({}) }, { clusterName: CLUSTER });

describe("observing the groups", () => {
  it("reads sizes from EKS for managed node groups, what is in service from their Auto Scaling groups, and only the manager's tags", async () => {
    const state = await observer().observe(POLICY, NOW);
    expect(state.errors).toBeUndefined();
    expect(state.groups["base-on-demand"]).toEqual({
      min: 1,
      max: 4,
      desired: 3,
      inService: 2,
      tags: { "spot-manager/shortfall-since": "2024-05-14T09:12:00.000Z" },
      status: "ACTIVE",
      arn: `arn:aws:eks:eu-central-1:123456789012:nodegroup/${CLUSTER}/base-on-demand/1`,
      autoScalingGroupName: "eks-base-on-demand-1ec7",
    });
    expect(state.groups["self-managed-spot"]).toMatchObject({ min: 0, max: 5, desired: 2, inService: 2, tags: { "spot-manager/window": "default" }, interruptions: 0 });
    expect(eks).toReceiveCommandWith(DescribeNodegroupCommand, { clusterName: CLUSTER, nodegroupName: "spot-general" });
    expect(autoscaling).toReceiveCommandWith(DescribeAutoScalingGroupsCommand, { AutoScalingGroupNames: ["eks-base-on-demand-1ec7", "eks-spot-general-8d1f", "self-managed-spot"] });
  });

  it("for the spot groups a rule watches: recent scaling activities of the group EKS runs, and interruptions within the window", async () => {
    const state = await observer().observe(POLICY, NOW);
    expect(state.groups["spot-general"]).toMatchObject({
      inService: 2,
      activities: [{ start: ago(5), status: "Failed", message: expect.stringContaining("InsufficientInstanceCapacity") }],
      interruptions: 3,
    });
    expect(state.groups["self-managed-spot"]?.activities).toEqual([{ start: ago(2), status: "Successful", message: "Launching a new EC2 instance: i-1" }]);
    expect(state.groups["base-on-demand"]?.activities).toBeUndefined();
    expect(autoscaling).toReceiveCommandWith(DescribeScalingActivitiesCommand, { AutoScalingGroupName: "eks-spot-general-8d1f", MaxRecords: 50 });
  });

  it("reads SpotInterruptions with the exact dimensions the interruption function writes, in one call", async () => {
    await observer().observe(POLICY, NOW);
    expect(cloudwatch).toReceiveCommandTimes(GetMetricDataCommand, 1);
    const metric = (group: string) => ({
      Namespace: "SpotManager",
      MetricName: "SpotInterruptions",
      Dimensions: [
        { Name: "cluster", Value: CLUSTER },
        { Name: "group", Value: group },
        { Name: "service", Value: "spot-manager-interruption" },
      ],
    });
    expect(cloudwatch).toReceiveCommandWith(GetMetricDataCommand, {
      StartTime: new Date("2024-05-14T09:01:00Z"),
      EndTime: new Date("2024-05-14T09:31:00Z"),
      MetricDataQueries: [
        { Id: "g0", Label: "spot-general", ReturnData: true, MetricStat: { Metric: metric("spot-general"), Period: 60, Stat: "Sum" } },
        { Id: "g1", Label: "self-managed-spot", ReturnData: true, MetricStat: { Metric: metric("self-managed-spot"), Period: 60, Stat: "Sum" } },
      ],
    });
  });

  it("a node group that is not found is reported for that group; the others are read", async () => {
    eks.on(DescribeNodegroupCommand, { nodegroupName: "spot-general" }).rejects(new ResourceNotFoundException({ message: "No node group found for name: spot-general.", $metadata: {} }));
    const state = await observer().observe(POLICY, NOW);
    expect(state.groups["spot-general"]).toBeUndefined();
    expect(state.errors).toEqual({ "spot-general": `node group spot-general not found in cluster ${CLUSTER}` });
    expect(Object.keys(state.groups)).toEqual(["base-on-demand", "self-managed-spot"]);
  });

  it("a missing Auto Scaling group, or an answer without sizes, fails that group", async () => {
    autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [ASGS[0]!, ASGS[1]!] });
    eks.on(DescribeNodegroupCommand, { nodegroupName: "base-on-demand" }).resolves({ nodegroup: { nodegroupName: "base-on-demand", status: "ACTIVE", resources: { autoScalingGroups: [{ name: "eks-base-on-demand-1ec7" }] } } });
    const state = await observer().observe(POLICY, NOW);
    expect(state.errors).toEqual({
      "self-managed-spot": "Auto Scaling group self-managed-spot not found",
      // never the sizes of the Auto Scaling group under it
      "base-on-demand": "eks:DescribeNodegroup answered without min, max and desired",
    });
  });

  it("when CloudWatch fails, the interruptions stay unknown (not zero) and the reason is kept", async () => {
    cloudwatch.on(GetMetricDataCommand).rejects(new Error("Rate exceeded"));
    const state = await observer().observe(POLICY, NOW);
    expect(state.groups["spot-general"]?.interruptions).toBeUndefined();
    expect(state.groups["spot-general"]?.activities).toHaveLength(1);
    expect(state.errors).toEqual({ "spot-general": "cloudwatch:GetMetricData failed: Rate exceeded", "self-managed-spot": "cloudwatch:GetMetricData failed: Rate exceeded" });
  });

  it("sends nothing but reads", async () => {
    await observer().observe(POLICY, NOW);
    const sent = [...eks.calls(), ...autoscaling.calls(), ...cloudwatch.calls()].map((c) => (c.args[0] as object).constructor.name);
    expect(new Set(sent)).toEqual(new Set(["DescribeNodegroupCommand", "DescribeAutoScalingGroupsCommand", "DescribeScalingActivitiesCommand", "GetMetricDataCommand"]));
  });
});
