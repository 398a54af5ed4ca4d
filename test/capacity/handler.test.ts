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

/** What AWS holds while a test runs: Describe calls read it, write calls that succeed change it. */
let world: ObservedState = { groups: {} };
/** Errors the next calls of a write command answer with, by command name. */
const faults = new Map<string, Error[]>();

/** The next call of the write command fails with this error (and changes nothing). */
function failNext(command: { name: string }, error: Error): void {
  faults.set(command.name, [...(faults.get(command.name) ?? []), error]);
}

/** A write command's fake: fails when a fault is queued for it, else changes the world. */
function write<I>(command: { name: string }, change: (input: I) => unknown) {
  return (input: I) => {
    const fault = faults.get(command.name)?.shift();
    if (fault) throw fault;
    return change(input) ?? {};
  };
}

/** Serves a state through the mocked Describe calls and GetMetricData, as AWS would answer; writes go to the same state. */
function serve(state: ObservedState, policy: CapacityPolicy = POLICY): void {
  world = structuredClone(state);
  faults.clear();
  const managed = (name: string) => policy.groups[name]?.type === "managed-node-group";
  const byAsg = (asgName: string) => Object.keys(world.groups).find((name) => (managed(name) ? eksAsgOf(name) : name) === asgName);
  const asgOf = (name: string): AutoScalingGroup => {
    const group = world.groups[name]!;
    const asgName = managed(name) ? eksAsgOf(name) : name;
    const instances = Array.from({ length: group.inService }, (_, i) => ({ InstanceId: `i-${name}-${i}`, LifecycleState: "InService" as const, AvailabilityZone: "eu-central-1a", HealthStatus: "Healthy", ProtectedFromScaleIn: false }));
    const ownTags = Object.entries(group.tags).map(([Key, Value]) => ({ Key, Value, ResourceId: asgName, ResourceType: "auto-scaling-group", PropagateAtLaunch: false }));
    return { AutoScalingGroupName: asgName, MinSize: group.min, MaxSize: group.max, DesiredCapacity: group.desired, Instances: instances, Tags: managed(name) ? [] : ownTags } as unknown as AutoScalingGroup;
  };
  eks.on(DescribeNodegroupCommand).callsFake((input: { clusterName: string; nodegroupName: string }) => {
    const group = world.groups[input.nodegroupName];
    if (input.clusterName !== CLUSTER || !group || !managed(input.nodegroupName)) throw new ResourceNotFoundException({ message: "No node group found", $metadata: {} });
    return {
      nodegroup: {
        nodegroupName: input.nodegroupName,
        clusterName: CLUSTER,
        nodegroupArn: group.arn,
        status: (group.status ?? "ACTIVE") as "ACTIVE",
        scalingConfig: { minSize: group.min, maxSize: group.max, desiredSize: group.desired },
        tags: { ...group.tags, "eks:cluster-name": CLUSTER },
        resources: { autoScalingGroups: [{ name: eksAsgOf(input.nodegroupName) }] },
      },
    };
  });
  autoscaling.on(DescribeScalingActivitiesCommand).callsFake((input: { AutoScalingGroupName: string }) => {
    const group = world.groups[byAsg(input.AutoScalingGroupName) ?? ""];
    return {
      Activities: (group?.activities ?? []).map((a, i) => ({ ActivityId: `a-${i}`, AutoScalingGroupName: input.AutoScalingGroupName, Cause: "c", StartTime: a.start, StatusCode: a.status as "Failed", StatusMessage: a.message })),
    };
  });
  autoscaling.on(DescribeAutoScalingGroupsCommand).callsFake(() => ({ AutoScalingGroups: Object.keys(world.groups).map(asgOf) }));
  cloudwatch.on(GetMetricDataCommand).callsFake((input: { MetricDataQueries: { Id: string; Label: string }[]; EndTime: Date }) => ({
    MetricDataResults: input.MetricDataQueries.map((q) => {
      const count = world.groups[q.Label]?.interruptions ?? 0;
      return { Id: q.Id, Label: q.Label, StatusCode: "Complete", Timestamps: count ? [new Date(input.EndTime.getTime() - 120_000)] : [], Values: count ? [count] : [] };
    }),
  }));
  const byArn = (arn: string) => Object.values(world.groups).find((g) => g.arn === arn)!;
  eks.on(TagResourceCommand).callsFake(write(TagResourceCommand, (input: { resourceArn: string; tags: Record<string, string> }) => void Object.assign(byArn(input.resourceArn).tags, input.tags)));
  eks.on(UntagResourceCommand).callsFake(
    write(UntagResourceCommand, (input: { resourceArn: string; tagKeys: string[] }) => {
      for (const key of input.tagKeys) delete byArn(input.resourceArn).tags[key];
    }),
  );
  eks.on(UpdateNodegroupConfigCommand).callsFake(
    write(UpdateNodegroupConfigCommand, (input: { nodegroupName: string; scalingConfig: { minSize?: number; maxSize?: number; desiredSize?: number } }) => {
      const group = world.groups[input.nodegroupName]!;
      const { minSize, maxSize, desiredSize } = input.scalingConfig;
      Object.assign(group, { ...(minSize !== undefined ? { min: minSize } : {}), ...(maxSize !== undefined ? { max: maxSize } : {}), ...(desiredSize !== undefined ? { desired: desiredSize } : {}) });
      group.desired = Math.min(group.max, Math.max(group.min, group.desired));
      return { update: { id: "u-1", status: "InProgress" } };
    }),
  );
  autoscaling.on(UpdateAutoScalingGroupCommand).callsFake(
    write(UpdateAutoScalingGroupCommand, (input: { AutoScalingGroupName: string; MinSize?: number; MaxSize?: number; DesiredCapacity?: number }) => {
      const group = world.groups[input.AutoScalingGroupName]!;
      Object.assign(group, { ...(input.MinSize !== undefined ? { min: input.MinSize } : {}), ...(input.MaxSize !== undefined ? { max: input.MaxSize } : {}), ...(input.DesiredCapacity !== undefined ? { desired: input.DesiredCapacity } : {}) });
      group.desired = Math.min(group.max, Math.max(group.min, group.desired));
    }),
  );
  autoscaling.on(SetDesiredCapacityCommand).callsFake(write(SetDesiredCapacityCommand, (input: { AutoScalingGroupName: string; DesiredCapacity: number }) => void (world.groups[input.AutoScalingGroupName]!.desired = input.DesiredCapacity)));
  autoscaling.on(CreateOrUpdateTagsCommand).callsFake(
    write(CreateOrUpdateTagsCommand, (input: { Tags: { ResourceId: string; Key: string; Value: string }[] }) => {
      for (const tag of input.Tags) world.groups[tag.ResourceId]!.tags[tag.Key] = tag.Value;
    }),
  );
  autoscaling.on(DeleteTagsCommand).callsFake(
    write(DeleteTagsCommand, (input: { Tags: { ResourceId: string; Key: string }[] }) => {
      for (const tag of input.Tags) delete world.groups[tag.ResourceId]!.tags[tag.Key];
    }),
  );
  sns.on(PublishCommand).callsFake(write(PublishCommand, () => ({ MessageId: "m-1" })));
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
      // once published, the start is recorded so that no later run publishes it again
      { resourceArn: arn, tags: { [CAPACITY_TAGS.announced]: "start@2024-05-14T09:30:00.000Z" } },
    ]);
    expect(eks.commandCalls(UpdateNodegroupConfigCommand).map((c) => c.args[0].input)).toEqual([
      { clusterName: CLUSTER, nodegroupName: "base-on-demand", scalingConfig: { minSize: 5, maxSize: 6, desiredSize: 5 } },
    ]);
    expect(autoscaling.commandCalls(UpdateAutoScalingGroupCommand).map((c) => c.args[0].input)).toEqual([{ AutoScalingGroupName: "spot-manager-prod-spot-self-managed", MinSize: 0, MaxSize: 4 }]);
    // the intent is recorded before the change it describes
    const order = eks.calls().map((c) => (c.args[0] as object).constructor.name).filter((n) => n !== "DescribeNodegroupCommand");
    expect(order).toEqual(["TagResourceCommand", "UpdateNodegroupConfigCommand", "TagResourceCommand"]);
    // never a write to the Auto Scaling groups EKS runs managed node groups on
    expect(writes(autoscaling.calls()).map(([, input]) => JSON.stringify(input)).filter((input) => input.includes("eks-"))).toEqual([]);
    expect(eks).not.toReceiveCommand(UntagResourceCommand);
    expect(autoscaling).not.toReceiveCommand(SetDesiredCapacityCommand);

    expect(sns).toReceiveCommandTimes(PublishCommand, 1);
    expect(sns).toReceiveCommandWith(PublishCommand, { TopicArn: TOPIC_ARN, Subject: "spot-manager spot-fallback start: base-on-demand" });
    const message = JSON.parse(sns.commandCalls(PublishCommand)[0]!.args[0].input.Message ?? "{}") as Record<string, unknown>;
    expect(message).toMatchObject({
      product: "spot-manager",
      kind: "spot-fallback",
      phase: "start",
      cluster: CLUSTER,
      onDemandGroup: "base-on-demand",
      spotGroups: ["spot-general", "spot-manager-prod-spot-self-managed"],
      extra: 3,
      since: "2024-05-14T09:30:00.000Z",
      id: `${CLUSTER}/base-on-demand/start/2024-05-14T09:30:00.000Z`,
      at: "2024-05-14T09:30:00.000Z",
    });
    expect(report.transitions).toEqual([expect.objectContaining({ phase: "start", status: "published" })]);

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

  it("a change that fails is reported call by call: the tag write went through, the update did not; the fallback's start waits for it", async () => {
    serve(SAMPLE.state);
    failNext(UpdateNodegroupConfigCommand, Object.assign(new Error("Nodegroup cannot be updated as it is currently not in Active State"), { name: "ResourceInUseException" }));
    const report = await setUp().invoke({});
    expect(report.failures).toEqual([{ group: "base-on-demand", stage: "apply", error: "eks:UpdateNodegroupConfig failed: Nodegroup cannot be updated as it is currently not in Active State" }]);
    expect(report.actions.filter((a) => a.group === "base-on-demand").map((a) => [a.kind, a.status, a.calls?.map((c) => `${c.operation} ${c.ok ? "ok" : "failed"}`)])).toEqual([
      ["tags", "applied", ["eks:TagResource ok"]],
      ["min", "failed", ["eks:UpdateNodegroupConfig failed"]],
      ["desired", "failed", ["eks:UpdateNodegroupConfig failed"]],
    ]);
    expect(report.transitions).toEqual([expect.objectContaining({ phase: "start", status: "waiting" })]);
    expect(sns).not.toReceiveCommand(PublishCommand);
    expect(autoscaling).toReceiveCommandTimes(UpdateAutoScalingGroupCommand, 1);
  });

  it("a fallback start whose change failed midway is published exactly once: by the run that completes the change", async () => {
    // Prepare: the first run records the fallback, then the update is refused
    serve(SAMPLE.state);
    failNext(UpdateNodegroupConfigCommand, Object.assign(new Error("An update is already in progress"), { name: "ResourceInUseException" }));
    const first = await setUp().invoke({});
    expect(world.groups["base-on-demand"]).toMatchObject({ min: 2, tags: { [CAPACITY_TAGS.fallbackSince]: "2024-05-14T09:30:00.000Z" } });
    expect(sns).not.toReceiveCommand(PublishCommand);
    // Act: two more runs, two and four minutes later
    const runs = [setUp({ now: SAMPLE_AT + 2 * 60_000 }), setUp({ now: SAMPLE_AT + 4 * 60_000 })];
    const second = await runs[0]!.invoke({});
    const third = await runs[1]!.invoke({});
    // Assess: one notification, carrying when the fallback started; recorded on the group
    expect(first.transitions.map((t) => t.status)).toEqual(["waiting"]);
    expect(second.transitions.map((t) => [t.phase, t.status])).toEqual([["start", "published"]]);
    expect(third.transitions).toEqual([]);
    expect(sns).toReceiveCommandTimes(PublishCommand, 1);
    const message = JSON.parse(sns.commandCalls(PublishCommand)[0]!.args[0].input.Message!) as Record<string, unknown>;
    expect(message).toMatchObject({ phase: "start", since: "2024-05-14T09:30:00.000Z", extra: 3, at: "2024-05-14T09:32:00.000Z" });
    expect(world.groups["base-on-demand"]).toMatchObject({ min: 5, desired: 5, tags: { [CAPACITY_TAGS.announced]: "start@2024-05-14T09:30:00.000Z" } });
    expect(runs.map((run) => run.recorder.total("FallbackTransitions", { group: "base-on-demand", phase: "start" }))).toEqual([1, 0]);
  });

  it("a publish the topic refuses is not recorded, and the next run publishes it", async () => {
    serve(SAMPLE.state);
    failNext(PublishCommand, Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
    const { invoke, recorder } = setUp();
    const first = await invoke({});
    const second = await setUp({ now: SAMPLE_AT + 2 * 60_000 }).invoke({});
    expect(first.transitions).toEqual([expect.objectContaining({ phase: "start", status: "publish-failed", error: expect.stringContaining("Rate exceeded") })]);
    expect(recorder.lines.find((l) => l.message.startsWith("spot fallback transition not published"))).toMatchObject({ level: "ERROR" });
    expect(second.transitions.map((t) => t.status)).toEqual(["published"]);
    expect(sns).toReceiveCommandTimes(PublishCommand, 2);
    expect(world.groups["base-on-demand"]!.tags[CAPACITY_TAGS.announced]).toBe("start@2024-05-14T09:30:00.000Z");
  });

  it("the next run after a fallback started changes nothing while spot stays short", async () => {
    serve(SAMPLE.state);
    await setUp().invoke({});
    [eks, autoscaling, sns].forEach((m) => m.resetHistory());
    const second = await setUp({ now: SAMPLE_AT + 5 * 60_000 }).invoke({});
    expect(second.actions).toEqual([]);
    expect(second.transitions).toEqual([]);
    expectNoWrites();
  });

  it("the end of a fallback is published once the floor came down, and the mark is removed", async () => {
    // Prepare: a fallback announced at 08:00 with +1 left; spot healthy for an hour, the last step long ago
    const state = settled();
    Object.assign(state.groups["base-on-demand"]!, {
      min: 3,
      desired: 3,
      tags: {
        [CAPACITY_TAGS.fallbackSince]: "2024-05-14T08:00:00.000Z",
        [CAPACITY_TAGS.fallbackExtra]: "1",
        [CAPACITY_TAGS.healthySince]: "2024-05-14T08:30:00.000Z",
        [CAPACITY_TAGS.lastStepDown]: "2024-05-14T09:00:00.000Z",
        [CAPACITY_TAGS.announced]: "start@2024-05-14T08:00:00.000Z",
      },
    });
    serve(state);
    // Act
    const report = await setUp().invoke({});
    // Assess
    expect(report.transitions).toEqual([expect.objectContaining({ phase: "end", since: "2024-05-14T08:00:00.000Z", extra: 0, status: "published" })]);
    expect(sns).toReceiveCommandTimes(PublishCommand, 1);
    expect(world.groups["base-on-demand"]).toMatchObject({ min: 2, tags: {} });
    expect(eks.commandCalls(UntagResourceCommand).map((c) => c.args[0].input.tagKeys)).toEqual([
      [CAPACITY_TAGS.fallbackSince, CAPACITY_TAGS.fallbackExtra, CAPACITY_TAGS.healthySince, CAPACITY_TAGS.lastStepDown],
      [CAPACITY_TAGS.announced],
    ]);
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

    const misspelt = JSON.parse(POLICY_JSON) as { groups: Record<string, { windows?: Record<string, unknown>[] }> };
    misspelt.groups["spot-general"]!.windows![1]!["priorty"] = 20;
    expect(() => readCapacityConfig({ ...ENV, CAPACITY_POLICY: JSON.stringify(misspelt) })).toThrowError(
      'invalid CAPACITY_POLICY: CAPACITY_POLICY.groups.spot-general.windows.1: unknown key "priorty" (did you mean "priority"?)',
    );
  });

  it("the deployed handler fails its invocation with the configuration error, and builds again next time", async () => {
    vi.stubEnv("CLUSTER_NAME", "");
    vi.stubEnv("CAPACITY_POLICY", POLICY_JSON);
    await expect(handler({})).rejects.toThrowError(/CLUSTER_NAME/);
    await expect(handler({})).rejects.toThrowError(/CLUSTER_NAME/);
  });
});
