/**
 * The capacity function end to end with AWS faked by aws-sdk-client-mock: the groups are served
 * from a state snapshot (the README sample by default), and the tests assert the exact commands
 * the function sends, or that it sends none.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  AutoScalingClient,
  CreateOrUpdateTagsCommand,
  DeleteTagsCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeScalingActivitiesCommand,
  SetDesiredCapacityCommand,
  UpdateAutoScalingGroupCommand,
  type AutoScalingGroup,
} from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeNodegroupCommand, EKSClient, ResourceNotFoundException, TagResourceCommand, UntagResourceCommand, UpdateNodegroupConfigCommand } from "@aws-sdk/client-eks";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { CAPACITY_TAGS, parseCapacityPolicy, parseSnapshot, planCapacity, Recorder, type CapacityPolicy, type ObservedState } from "@spot-manager/core";
import { mockClient } from "@spot-manager/aws-fakes";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createCapacityHandler, handler } from "../../functions/capacity";
import { readCapacityConfig, type CapacityConfig } from "../../functions/lib/capacity-env";
import { createCapacityRuntime } from "../../functions/lib/capacity-runtime";

const CLUSTER = "spot-manager-prod";
const TOPIC_ARN = "arn:aws:sns:eu-central-1:123456789012:spot-manager-notifications";
const POLICY_JSON = readFileSync(join(import.meta.dirname, "policy.sample.json"), "utf8");
const POLICY: CapacityPolicy = parseCapacityPolicy(JSON.parse(POLICY_JSON));
const SAMPLE = parseSnapshot(JSON.parse(readFileSync(join(import.meta.dirname, "state.sample.json"), "utf8")));
const SAMPLE_AT = SAMPLE.observedAt!.getTime();

const eks = mockClient(EKSClient);
const autoscaling = mockClient(AutoScalingClient);
const cloudwatch = mockClient(CloudWatchClient);
const sns = mockClient(SNSClient);
afterAll(() => [eks, autoscaling, cloudwatch, sns].forEach((m) => m.restore()));
beforeEach(() => [eks, autoscaling, cloudwatch, sns].forEach((m) => m.reset()));
afterEach(() => vi.unstubAllEnvs());

/** The Auto Scaling group EKS runs a managed node group on (read only for us). */
const eksAsgOf = (group: string) => `eks-${group}-5ec7a2f0`;

/** Serves a state through the mocked Describe calls and GetMetricData, as AWS would answer. */
function serve(state: ObservedState, policy: CapacityPolicy = POLICY): void {
  const asgs: AutoScalingGroup[] = [];
  for (const [name, group] of Object.entries(state.groups)) {
    const managed = policy.groups[name]?.type === "managed-node-group";
    const asgName = managed ? eksAsgOf(name) : name;
    const instances = Array.from({ length: group.inService }, (_, i) => ({ InstanceId: `i-${name}-${i}`, LifecycleState: "InService" as const, AvailabilityZone: "eu-central-1a", HealthStatus: "Healthy", ProtectedFromScaleIn: false }));
    const ownTags = Object.entries(group.tags).map(([Key, Value]) => ({ Key, Value, ResourceId: asgName, ResourceType: "auto-scaling-group", PropagateAtLaunch: false }));
    asgs.push({ AutoScalingGroupName: asgName, MinSize: group.min, MaxSize: group.max, DesiredCapacity: group.desired, Instances: instances, Tags: managed ? [] : ownTags } as unknown as AutoScalingGroup);
    if (managed) {
      eks.on(DescribeNodegroupCommand, { clusterName: CLUSTER, nodegroupName: name }).resolves({
        nodegroup: {
          nodegroupName: name,
          clusterName: CLUSTER,
          nodegroupArn: group.arn,
          status: (group.status ?? "ACTIVE") as "ACTIVE",
          scalingConfig: { minSize: group.min, maxSize: group.max, desiredSize: group.desired },
          tags: { ...group.tags, "eks:cluster-name": CLUSTER },
          resources: { autoScalingGroups: [{ name: asgName }] },
        },
      });
    }
    autoscaling.on(DescribeScalingActivitiesCommand, { AutoScalingGroupName: asgName }).resolves({
      Activities: (group.activities ?? []).map((a, i) => ({ ActivityId: `a-${i}`, AutoScalingGroupName: asgName, Cause: "c", StartTime: a.start, StatusCode: a.status as "Failed", StatusMessage: a.message })),
    });
  }
  autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: asgs });
  cloudwatch.on(GetMetricDataCommand).callsFake((input: { MetricDataQueries: { Id: string; Label: string }[]; EndTime: Date }) => ({
    MetricDataResults: input.MetricDataQueries.map((q) => {
      const count = state.groups[q.Label]?.interruptions ?? 0;
      return { Id: q.Id, Label: q.Label, StatusCode: "Complete", Timestamps: count ? [new Date(input.EndTime.getTime() - 120_000)] : [], Values: count ? [count] : [] };
    }),
  }));
}

function setUp(options: { config?: Partial<CapacityConfig>; now?: number } = {}) {
  const recorder = new Recorder();
  const config: CapacityConfig = { clusterName: CLUSTER, region: "eu-central-1", policy: POLICY, topicArn: TOPIC_ARN, dryRun: false, functionName: "spot-manager-prod-capacity", ...options.config };
  const clients = { eks: new EKSClient({}), autoscaling: new AutoScalingClient({}), cloudwatch: new CloudWatchClient({}), sns: new SNSClient({}) };
  const invoke = createCapacityHandler(async () => createCapacityRuntime({ config, clients, log: recorder, metrics: recorder, now: () => options.now ?? SAMPLE_AT }));
  return { recorder, invoke };
}

const WRITES: (new (...args: never[]) => object)[] = [
  UpdateNodegroupConfigCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAutoScalingGroupCommand,
  SetDesiredCapacityCommand,
  CreateOrUpdateTagsCommand,
  DeleteTagsCommand,
];

/** Every command sent that changes something (to EKS and Auto Scaling, or to the calls given), as [command, input]. */
function writes(calls: readonly { args: readonly unknown[] }[] = [...eks.calls(), ...autoscaling.calls()]): [string, unknown][] {
  return calls
    .map((call) => call.args[0] as object & { input: unknown })
    .filter((command) => WRITES.some((write) => command instanceof write))
    .map((command) => [command.constructor.name, command.input]);
}

function expectNoWrites(): void {
  expect(writes()).toEqual([]);
  expect(sns).not.toReceiveCommand(PublishCommand);
}

/** The sample with every group already where the policy wants it (Tuesday 11:30 in Berlin, spot healthy). */
function settled(): ObservedState {
  const state = structuredClone(SAMPLE.state);
  state.groups["base-on-demand"]!.tags = {};
  Object.assign(state.groups["spot-general"]!, { desired: 5, inService: 5, activities: [] });
  Object.assign(state.groups["spot-manager-prod-spot-self-managed"]!, { min: 0, max: 4 });
  return state;
}

describe("capacity function", () => {
  it("sends nothing when every group already matches", async () => {
    serve(settled());
    const { invoke, recorder } = setUp();
    const report = await invoke({ "detail-type": "Scheduled Event", source: "aws.events" });
    expect(report).toMatchObject({ actions: [], failures: [], transitions: [], dryRun: false });
    expectNoWrites();
    expect(recorder.lines.filter((l) => l.message === "capacity group in place").map((l) => l.extra["group"])).toEqual(["base-on-demand", "spot-general", "spot-manager-prod-spot-self-managed"]);
    expect(recorder.total("GroupInServiceInstances", { group: "spot-general", capacityType: "spot" })).toBe(5);
  });

  it("spot short: records the fallback on the on-demand node group, raises it through EKS, resizes the self-managed group, notifies", async () => {
    serve(SAMPLE.state);
    const { invoke, recorder } = setUp();
    const report = await invoke({});
    const arn = SAMPLE.state.groups["base-on-demand"]!.arn;
    expect(eks.commandCalls(TagResourceCommand).map((c) => c.args[0].input)).toEqual([
      {
        resourceArn: arn,
        tags: { [CAPACITY_TAGS.fallbackSince]: "2024-05-14T09:30:00.000Z", [CAPACITY_TAGS.fallbackExtra]: "3" },
      },
    ]);
    expect(eks.commandCalls(UpdateNodegroupConfigCommand).map((c) => c.args[0].input)).toEqual([
      { clusterName: CLUSTER, nodegroupName: "base-on-demand", scalingConfig: { minSize: 5, maxSize: 6, desiredSize: 5 } },
    ]);
    expect(autoscaling.commandCalls(UpdateAutoScalingGroupCommand).map((c) => c.args[0].input)).toEqual([{ AutoScalingGroupName: "spot-manager-prod-spot-self-managed", MinSize: 0, MaxSize: 4 }]);
    // the intent is recorded before the change it describes
    const order = eks.calls().map((c) => (c.args[0] as object).constructor.name).filter((n) => n !== "DescribeNodegroupCommand");
    expect(order).toEqual(["TagResourceCommand", "UpdateNodegroupConfigCommand"]);
    // never a write to the Auto Scaling groups EKS runs managed node groups on
    expect(writes(autoscaling.calls()).map(([, input]) => JSON.stringify(input)).filter((input) => input.includes("eks-"))).toEqual([]);
    expect(eks).not.toReceiveCommand(UntagResourceCommand);
    expect(autoscaling).not.toReceiveCommand(SetDesiredCapacityCommand);

    expect(sns).toReceiveCommandTimes(PublishCommand, 1);
    expect(sns).toReceiveCommandWith(PublishCommand, { TopicArn: TOPIC_ARN, Subject: "spot-manager spot-fallback start: base-on-demand" });
    const message = JSON.parse(sns.commandCalls(PublishCommand)[0]!.args[0].input.Message ?? "{}") as Record<string, unknown>;
    expect(message).toMatchObject({ product: "spot-manager", kind: "spot-fallback", phase: "start", cluster: CLUSTER, onDemandGroup: "base-on-demand", spotGroups: ["spot-general", "spot-manager-prod-spot-self-managed"], extra: 3, at: "2024-05-14T09:30:00.000Z" });

    expect(report.failures).toEqual([]);
    expect(report.actions.map((a) => [a.group, a.kind, a.status])).toEqual([
      ["base-on-demand", "tags", "applied"],
      ["base-on-demand", "min", "applied"],
      ["base-on-demand", "desired", "applied"],
      ["spot-manager-prod-spot-self-managed", "min", "applied"],
      ["spot-manager-prod-spot-self-managed", "max", "applied"],
    ]);
    expect(recorder.lines.filter((l) => l.message === "capacity decision")).toHaveLength(5);
    expect(recorder.lines.find((l) => l.message === "spot fallback started")?.extra).toMatchObject({ group: "base-on-demand", extra: 3 });
    expect(recorder.total("CapacityActionsApplied", { group: "base-on-demand" })).toBe(3);
    expect(recorder.total("FallbackTransitions", { group: "base-on-demand", phase: "start" })).toBe(1);
    expect(recorder.total("FallbackExtraInstances", { group: "base-on-demand" })).toBe(3);
  });

  it("reports what it observed as a snapshot plan-capacity reproduces", async () => {
    serve(SAMPLE.state);
    const report = await setUp({ config: { dryRun: true } }).invoke({});
    const replay = parseSnapshot(report.state);
    const offline = planCapacity(POLICY, replay.state, replay.observedAt!);
    expect(offline.actions).toEqual(report.actions.map(({ status: _, ...action }) => action));
  });

  it("a window opening on a self-managed group whose bounds already fit: SetDesiredCapacity, then the window mark", async () => {
    const night = settled();
    Object.assign(night.groups["spot-general"]!, { min: 0, max: 6, desired: 2, inService: 2 });
    Object.assign(night.groups["spot-manager-prod-spot-self-managed"]!, { min: 2, max: 10, desired: 2, inService: 2, tags: { [CAPACITY_TAGS.window]: "nightly-batch@2024-05-13T22:30:00.000Z" } });
    serve(night);
    await setUp({ now: Date.parse("2024-05-14T22:45:00Z") }).invoke({});
    expect(autoscaling.commandCalls(SetDesiredCapacityCommand).map((c) => c.args[0].input)).toEqual([{ AutoScalingGroupName: "spot-manager-prod-spot-self-managed", DesiredCapacity: 4, HonorCooldown: false }]);
    expect(autoscaling.commandCalls(CreateOrUpdateTagsCommand).map((c) => c.args[0].input)).toEqual([
      { Tags: [{ ResourceId: "spot-manager-prod-spot-self-managed", ResourceType: "auto-scaling-group", Key: CAPACITY_TAGS.window, Value: "nightly-batch@2024-05-14T22:30:00.000Z", PropagateAtLaunch: false }] },
    ]);
    expect(autoscaling).not.toReceiveCommand(UpdateAutoScalingGroupCommand);
    expect(eks).not.toReceiveCommand(UpdateNodegroupConfigCommand);
  });

  it.each([
    ["DRY_RUN in its configuration", { config: { dryRun: true } }, {}],
    ["a manual invoke asking for it", {}, { dryRun: true }],
  ])("dry run (%s): plans and reports, sends nothing, notifies no one", async (_, options, event) => {
    serve(SAMPLE.state);
    const { invoke, recorder } = setUp(options);
    const report = await invoke(event);
    expectNoWrites();
    expect(report.dryRun).toBe(true);
    expect(report.actions.map((a) => a.status)).toEqual(["dry-run", "dry-run", "dry-run", "dry-run", "dry-run"]);
    expect(report.transitions).toEqual([expect.objectContaining({ phase: "start" })]);
    expect(recorder.lines.filter((l) => l.message === "capacity decision").every((l) => l.extra["dryRun"] === true)).toBe(true);
  });

  it("a group that cannot be read fails alone: the fallback depending on it holds, the others are applied", async () => {
    serve(SAMPLE.state);
    eks.on(DescribeNodegroupCommand, { clusterName: CLUSTER, nodegroupName: "spot-general" }).rejects(new ResourceNotFoundException({ message: "No node group found", $metadata: {} }));
    const { invoke, recorder } = setUp();
    const report = await invoke({});
    expect(report.failures).toEqual([{ group: "spot-general", error: `node group spot-general not found in cluster ${CLUSTER}`, stage: "plan" }]);
    expect(eks).not.toReceiveCommand(UpdateNodegroupConfigCommand);
    expect(eks).not.toReceiveCommand(TagResourceCommand);
    expect(autoscaling).toReceiveCommandWith(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: "spot-manager-prod-spot-self-managed", MinSize: 0, MaxSize: 4 });
    expect(sns).not.toReceiveCommand(PublishCommand);
    expect(report.groups.find((g) => g.group === "base-on-demand")?.fallback).toMatchObject({ phase: "held", extra: 0 });
    expect(recorder.lines.find((l) => l.level === "ERROR")).toMatchObject({ message: "capacity group not planned", extra: { group: "spot-general" } });
    expect(recorder.total("CapacityGroupFailures", { group: "spot-general" })).toBe(1);
  });

  it("a change that fails is reported for its group, without a notification; the other groups are changed", async () => {
    serve(SAMPLE.state);
    eks.on(UpdateNodegroupConfigCommand).rejects(new Error("ResourceInUseException: the node group is being updated"));
    const report = await setUp().invoke({});
    expect(report.failures).toEqual([{ group: "base-on-demand", stage: "apply", error: "eks:UpdateNodegroupConfig failed: ResourceInUseException: the node group is being updated" }]);
    expect(report.actions.filter((a) => a.group === "base-on-demand").map((a) => a.status)).toEqual(["failed", "failed", "failed"]);
    expect(report.transitions).toEqual([]);
    expect(sns).not.toReceiveCommand(PublishCommand);
    expect(autoscaling).toReceiveCommandTimes(UpdateAutoScalingGroupCommand, 1);
  });

  it("the next run after a fallback started changes nothing while spot stays short", async () => {
    serve(SAMPLE.state);
    const first = await setUp().invoke({});
    const after = structuredClone(SAMPLE.state);
    for (const action of first.actions) {
      const group = after.groups[action.group]!;
      if (action.kind === "tags") Object.assign(group.tags, action.to);
      else group[action.kind] = action.to;
    }
    [eks, autoscaling, cloudwatch, sns].forEach((m) => m.reset());
    serve(after);
    const second = await setUp({ now: SAMPLE_AT + 5 * 60_000 }).invoke({});
    expect(second.actions).toEqual([]);
    expectNoWrites();
  });
});

describe("capacity function configuration", () => {
  const ENV = { CLUSTER_NAME: CLUSTER, AWS_REGION: "eu-central-1", CAPACITY_POLICY: POLICY_JSON, NOTIFICATION_TOPIC_ARN: TOPIC_ARN, DRY_RUN: "true" };

  it("reads the environment once into a typed config, the policy's defaults filled in", () => {
    const config = readCapacityConfig(ENV);
    expect(config).toMatchObject({ clusterName: CLUSTER, region: "eu-central-1", topicArn: TOPIC_ARN, dryRun: true, functionName: "spot-manager-capacity" });
    expect(config.policy.fallbacks[0]).toMatchObject({ onDemandGroup: "base-on-demand", minExtra: 1 });
    expect(readCapacityConfig({ ...ENV, DRY_RUN: undefined, NOTIFICATION_TOPIC_ARN: undefined })).toMatchObject({ dryRun: false });
    expect(readCapacityConfig({ ...ENV, DRY_RUN: "0" }).dryRun).toBe(false);
  });

  it("names the missing or bad variable, and the bad policy field", () => {
    expect(() => readCapacityConfig({ ...ENV, CLUSTER_NAME: undefined })).toThrowError(/invalid environment: CLUSTER_NAME/);
    expect(() => readCapacityConfig({ ...ENV, CAPACITY_POLICY: undefined })).toThrowError(/CAPACITY_POLICY/);
    expect(() => readCapacityConfig({ ...ENV, DRY_RUN: "yes" })).toThrowError(/DRY_RUN/);
    expect(() => readCapacityConfig({ ...ENV, CAPACITY_POLICY: "{" })).toThrowError(/CAPACITY_POLICY is not JSON/);
    const bad = JSON.parse(POLICY_JSON) as { fallbacks: { maxExtra: number }[] };
    bad.fallbacks[0]!.maxExtra = 0;
    expect(() => readCapacityConfig({ ...ENV, CAPACITY_POLICY: JSON.stringify(bad) })).toThrowError(/CAPACITY_POLICY\.fallbacks\.0\.maxExtra: Too small: expected number to be >=1 \(got 0\)/);
  });

  it("the deployed handler fails its invocation with the configuration error, and builds again next time", async () => {
    vi.stubEnv("CLUSTER_NAME", "");
    vi.stubEnv("CAPACITY_POLICY", POLICY_JSON);
    await expect(handler({})).rejects.toThrowError(/CLUSTER_NAME/);
    await expect(handler({})).rejects.toThrowError(/CLUSTER_NAME/);
  });
});
