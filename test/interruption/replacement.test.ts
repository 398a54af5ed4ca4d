/**
 * Replacement capacity at the warning, through the real handler: kube-local's demo cluster, its
 * spot nodes the members of an Auto Scaling group kept in memory (FakeFleet, behind the faked Auto
 * Scaling and EKS APIs). What the group was asked, what it did, and what the report, the node, the
 * Events and the metrics say — on the good day and on the bad ones.
 */
import { DetachInstancesCommand, SetDesiredCapacityCommand } from "@aws-sdk/client-auto-scaling";
import { TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import { UpdateNodegroupConfigCommand } from "@aws-sdk/client-eks";
import { DEMO_INTERRUPTED_INSTANCE, DEMO_INTERRUPTED_NODE, findResource, type ResourceType } from "@spot-manager/kube-local";
import { OUTCOME_DETAIL_TYPES, type ActionReport, type CapacityPolicyInput, type ReplacementRequested } from "@spot-manager/core";
import { afterEach, describe, expect, it } from "vitest";
import type { DirectResult } from "../../functions/interruption";
import { FakeFleet, type FleetGroupSpec } from "../../packages/cli/src/simulate/fleet";
import { SimScheduler } from "../../packages/cli/src/simulate/scheduler";
import { fixture } from "../fixtures";
import { outcomeDetails } from "../outcomes/schemas";
import { CLUSTER, createWorld, eventsAbout, podsOn, type World, type WorldOptions } from "./world";

const SPOT_ASG = "eks-spot-general-6ec7a2f0-1c1e-4a48-9a52-3c2b9f1d0e11";
const ON_DEMAND_ASG = "eks-base-on-demand-5ec7a2f0-1c1e-4a48-9a52-3c2b9f1d0e11";
const SPOT_NODES = [DEMO_INTERRUPTED_NODE, "ip-10-0-2-22.us-west-2.compute.internal", "ip-10-0-3-23.us-west-2.compute.internal"];
const ON_DEMAND_NODES = ["ip-10-0-1-11.us-west-2.compute.internal", "ip-10-0-2-12.us-west-2.compute.internal"];
const SECOND_SPOT = { instanceId: "i-0b2c3d4e5f6a70022", node: "ip-10-0-2-22.us-west-2.compute.internal", eventId: "5d1a7c3e-2b4f-4e6a-9c8d-0f1e2d3c4b01" };
const EVENT_ID = "3f4c2e8a-9d1b-4b6e-8f0a-2c7d5e1b9a34";

const spotTemplate = { instanceType: "m5.xlarge", zones: ["us-west-2a", "us-west-2b"], capacityType: "SPOT" as const, taints: [{ key: "spot-manager/lifecycle", value: "spot", effect: "PreferNoSchedule" as const }] };

let world: World | undefined;
let fleet: FakeFleet | undefined;
afterEach(async () => {
  fleet?.stop();
  fleet = undefined;
  await world?.stop();
  world = undefined;
});

interface Setup extends WorldOptions {
  spot?: Partial<FleetGroupSpec>;
  /** The spot group is a self-managed Auto Scaling group, not a managed node group. */
  selfManaged?: boolean;
  onDemand?: Partial<FleetGroupSpec>;
  bootSeconds?: number;
}

/** The demo cluster with its spot nodes in one group and its on-demand nodes in another. */
async function setUp(setup: Setup = {}): Promise<{ world: World; fleet: FakeFleet; told: ReplacementRequested[] }> {
  const told: ReplacementRequested[] = [];
  world = await createWorld({ onReplacementRequested: (r) => void told.push(r), ...setup });
  const scheduler = new SimScheduler({ now: world.now, timeScale: 1, advance: world.advance });
  fleet = new FakeFleet(world.aws, world.kube, { clusterName: CLUSTER, scheduler, bootSeconds: setup.bootSeconds ?? 3600 });
  fleet.addGroup({ name: SPOT_ASG, ...(setup.selfManaged ? {} : { nodegroup: "spot-general" }), min: 0, max: 6, capacityRebalance: true, template: spotTemplate, ...setup.spot }, SPOT_NODES);
  fleet.addGroup({ name: ON_DEMAND_ASG, nodegroup: "base-on-demand", min: 2, max: 4, template: { ...spotTemplate, capacityType: "ON_DEMAND", taints: [] }, ...setup.onDemand }, ON_DEMAND_NODES);
  return { world, fleet, told };
}

function warningFor(instanceId: string, eventId: string): Record<string, unknown> {
  const event = fixture("spotInterruption");
  event["id"] = eventId;
  (event["detail"] as Record<string, string>)["instance-id"] = instanceId;
  return event;
}

const replacementOf = (result: unknown) => ((result as DirectResult).reports[0] as ActionReport).replacement;
const recordOn = (w: World, node: string) => w.kube.get("nodes", undefined, node)?.metadata.annotations?.["spot-manager/replacement"];

describe("a spot warning starts the replacement at once", () => {
  it("detaches the instance from its managed node group's Auto Scaling group without decrementing desired: the group launches the replacement now", async () => {
    // Prepare
    const { world, fleet, told } = await setUp();
    // Act
    const result = await world.invoke(fixture("spotInterruption"));
    // Assess: what Auto Scaling was asked, and what the group did
    expect(world.aws.autoscaling).toReceiveCommandTimes(DetachInstancesCommand, 1);
    expect(world.aws.autoscaling).toReceiveCommandWith(DetachInstancesCommand, { AutoScalingGroupName: SPOT_ASG, InstanceIds: [DEMO_INTERRUPTED_INSTANCE], ShouldDecrementDesiredCapacity: false });
    expect(world.aws.autoscaling).not.toReceiveCommand(SetDesiredCapacityCommand);
    expect(world.aws.eks).not.toReceiveCommand(UpdateNodegroupConfigCommand);
    const group = fleet.groups.get(SPOT_ASG)!;
    expect(group.desired).toBe(3);
    expect(fleet.members(SPOT_ASG).map((i) => i.lifecycleState).sort()).toEqual(["InService", "InService", "Pending"]);
    expect(fleet.instances.get(DEMO_INTERRUPTED_INSTANCE)?.lifecycleState).toBe("Detached");
    // Assess: the report, the node, its Events, the notification, the metric and the hook
    expect(replacementOf(result)).toMatchObject({ status: "requested", trigger: "spot-interruption", mechanism: "detach", group: "spot-general", replacementGroup: "spot-general", autoScalingGroup: SPOT_ASG });
    expect(recordOn(world, DEMO_INTERRUPTED_NODE)).toMatch(new RegExp(`^${EVENT_ID} detach spot-general 2024-05-14T18:21:\\d\\d\\.\\d{3}Z requested$`));
    const events = eventsAbout(world.kube, DEMO_INTERRUPTED_NODE);
    expect(events.map((e) => e.reason)).toEqual(expect.arrayContaining(["SpotInterruption", "ReplacementRequested", "DrainSucceeded"]));
    expect(events.find((e) => e.reason === "ReplacementRequested")?.message).toContain(`detach ${DEMO_INTERRUPTED_INSTANCE} from ${SPOT_ASG} keeping desired 3`);
    const end = world.aws.notifications().find((n) => n["phase"] === "end");
    expect(end?.["replacement"]).toMatchObject({ status: "requested", mechanism: "detach" });
    expect(world.recorder.total("ReplacementsRequested", { group: "spot-general", mechanism: "detach" })).toBe(1);
    expect(told).toEqual([
      expect.objectContaining({ cluster: CLUSTER, eventId: EVENT_ID, trigger: "spot-interruption", instanceId: DEMO_INTERRUPTED_INSTANCE, node: DEMO_INTERRUPTED_NODE, mechanism: "detach", autoScalingGroup: SPOT_ASG }),
    ]);
    // Assess: the outcome event, held to its schema
    expect(outcomeDetails(world.aws, OUTCOME_DETAIL_TYPES.replacementRequested)).toEqual([
      {
        cluster: CLUSTER,
        instanceId: DEMO_INTERRUPTED_INSTANCE,
        node: DEMO_INTERRUPTED_NODE,
        group: "spot-general",
        signal: expect.objectContaining({ eventId: EVENT_ID, kind: "spot-interruption", source: "aws.ec2" }),
        drill: false,
        replacementGroup: "spot-general",
        autoScalingGroup: SPOT_ASG,
        mechanism: "detach",
        fallback: false,
        reason: expect.stringContaining(`detach ${DEMO_INTERRUPTED_INSTANCE} from ${SPOT_ASG}`),
        requestedAt: expect.stringMatching(/^2024-05-14T18:21:\d\d\.\d{3}Z$/),
      },
    ]);
  });

  it("does the same for a self-managed Auto Scaling group", async () => {
    const { world, fleet } = await setUp({ selfManaged: true, spot: { name: "spot-manager-prod-spot-self-managed", capacityRebalance: false } });
    const result = await world.invoke(fixture("spotInterruption"));
    expect(world.aws.autoscaling).toReceiveCommandWith(DetachInstancesCommand, { AutoScalingGroupName: "spot-manager-prod-spot-self-managed", InstanceIds: [DEMO_INTERRUPTED_INSTANCE], ShouldDecrementDesiredCapacity: false });
    expect(replacementOf(result)).toMatchObject({ status: "requested", mechanism: "detach", group: "spot-manager-prod-spot-self-managed" });
    expect(fleet.members("spot-manager-prod-spot-self-managed").filter((i) => i.lifecycleState === "Pending")).toHaveLength(1);
  });

  it("leaves a group alone that already has the replacement on its way (capacity rebalancing launched it)", async () => {
    const { world, fleet } = await setUp();
    fleet.rebalanceRecommendation(DEMO_INTERRUPTED_INSTANCE);
    expect(fleet.members(SPOT_ASG).filter((i) => i.lifecycleState === "Pending")).toHaveLength(1);
    const result = await world.invoke(fixture("spotInterruption"));
    expect(world.aws.autoscaling).not.toReceiveCommand(DetachInstancesCommand);
    expect(replacementOf(result)).toMatchObject({ status: "in-progress" });
    expect(replacementOf(result)?.reason).toContain("already has 3 other instances for desired 3");
  });
});

describe("asked once per event, and bounded", () => {
  it("duplicates in one batch, another container and a redelivery detach the instance once", async () => {
    // Prepare
    const { world, told } = await setUp();
    const warning = fixture("spotInterruption");
    // Act: two copies in one batch, a copy in a second container, then a redelivery of the first
    const first = await world.invoke(world.sqs(warning, warning));
    const second = await world.container()(world.sqs(warning));
    const redelivered = (await world.invoke(world.redelivered(2, warning))) as unknown;
    // Assess
    expect(first).toEqual({ batchItemFailures: [] });
    expect(second).toEqual({ batchItemFailures: [] });
    expect(redelivered).toEqual({ batchItemFailures: [] });
    expect(world.aws.autoscaling).toReceiveCommandTimes(DetachInstancesCommand, 1);
    expect(world.recorder.total("ReplacementsRequested")).toBe(1);
    expect(told).toHaveLength(1);
    expect(outcomeDetails(world.aws, OUTCOME_DETAIL_TYPES.replacementRequested)).toHaveLength(1);
    expect(fleet!.groups.get(SPOT_ASG)!.desired).toBe(3);
    expect(fleet!.members(SPOT_ASG)).toHaveLength(3);
    const later = world.recorder.lines.filter((l) => l.message === "action finished").map((l) => l.extra);
    expect(later).toHaveLength(2);
    expect(eventsAbout(world.kube, DEMO_INTERRUPTED_NODE).filter((e) => e.reason === "ReplacementRequested")).toHaveLength(1);
  });

  it("a redelivered warning whose first receive detached the instance reports it as already requested", async () => {
    const { world } = await setUp();
    await world.invoke(world.sqs(fixture("spotInterruption")));
    const again = (await world.invoke(fixture("spotInterruption"))) as DirectResult;
    // a direct invoke is not a redelivery: it is the duplicate the ledger stops before anything is asked
    expect(again.reports[0]).toMatchObject({ outcome: "skipped" });
    const redelivery = await world.invoke(world.redelivered(3, fixture("spotInterruption")));
    expect(redelivery).toEqual({ batchItemFailures: [] });
    expect(world.aws.autoscaling).toReceiveCommandTimes(DetachInstancesCommand, 1);
    const finished = world.recorder.lines.filter((l) => l.message === "replacement requested");
    expect(finished).toHaveLength(1);
  });

  it("at most maxExtraPerGroup replacements per group: the second warning of a mass reclaim is reported, not sent", async () => {
    const { world } = await setUp({ policy: { replacement: { maxExtraPerGroup: 1 } } });
    const response = await world.invoke(world.sqs(fixture("spotInterruption"), warningFor(SECOND_SPOT.instanceId, SECOND_SPOT.eventId)));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(world.aws.autoscaling).toReceiveCommandTimes(DetachInstancesCommand, 1);
    const skipped = world.recorder.lines.filter((l) => l.message === "action finished");
    expect(skipped).toHaveLength(2);
    const records = [DEMO_INTERRUPTED_NODE, SECOND_SPOT.node].map((n) => recordOn(world, n)).filter(Boolean);
    expect(records).toHaveLength(1);
    expect(world.recorder.total("ReplacementsRequested")).toBe(1);
  });
});

describe("bad days", () => {
  it("a permanent AWS error: the drain goes on, the failure is reported and counted, the record is acknowledged (not dead-lettered)", async () => {
    // Prepare: the function's role may not detach
    const { world } = await setUp();
    world.aws.autoscaling.on(DetachInstancesCommand).rejects(
      Object.assign(new Error("User: arn:aws:sts::123456789012:assumed-role/spot-manager-interruption/fn is not authorized to perform: autoscaling:DetachInstances"), {
        name: "AccessDenied",
        $fault: "client",
        $metadata: { httpStatusCode: 403 },
      }),
    );
    // Act
    const response = await world.invoke(world.sqs(fixture("spotInterruption")));
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(world.aws.deadLettered()).toEqual([]);
    expect(podsOn(world.kube, DEMO_INTERRUPTED_NODE).filter((p) => p.startsWith("shop/"))).toEqual([]);
    const end = world.aws.notifications().find((n) => n["phase"] === "end");
    expect(end?.["replacement"]).toMatchObject({ status: "failed", error: { code: "AccessDenied", permanent: true } });
    expect(end?.["drain"]).toMatchObject({ complete: true });
    expect(world.recorder.total("ReplacementsFailed", { group: "spot-general" })).toBe(1);
    expect(world.recorder.total("ReplacementsRequested")).toBe(0);
    expect(eventsAbout(world.kube, DEMO_INTERRUPTED_NODE).find((e) => e.reason === "ReplacementFailed")).toMatchObject({ type: "Warning" });
    expect(recordOn(world, DEMO_INTERRUPTED_NODE)).toMatch(/ detach spot-general \S+ failed$/);
    expect(fleet!.members(SPOT_ASG)).toHaveLength(3);
  });

  it("dry run reads and reports what it would ask; nothing changes", async () => {
    const { world, told } = await setUp({ policy: { dryRun: true } });
    const result = await world.invoke(fixture("spotInterruption"));
    expect(world.aws.autoscaling).not.toReceiveCommand(DetachInstancesCommand);
    expect(replacementOf(result)).toMatchObject({ status: "dry-run", mechanism: "detach" });
    expect(replacementOf(result)?.reason).toMatch(/^would detach i-1234567890abcdef0 from /);
    expect((result as DirectResult).reports[0]?.steps).toContainEqual(expect.stringMatching(/^would request replacement: detach i-1234567890abcdef0 from /));
    expect(recordOn(world, DEMO_INTERRUPTED_NODE)).toBeUndefined();
    expect(told).toEqual([]);
    expect(outcomeDetails(world.aws, OUTCOME_DETAIL_TYPES.replacementRequested)).toEqual([]);
    expect(world.recorder.total("ReplacementsRequested")).toBe(0);
  });

  it("an instance in no Auto Scaling group is reported as such; nothing is asked", async () => {
    world = await createWorld();
    const result = await world.invoke(fixture("spotInterruption"));
    expect(replacementOf(result)).toMatchObject({ status: "skipped", reason: expect.stringContaining("belongs to no Auto Scaling group") });
    expect(world.aws.autoscaling).not.toReceiveCommand(DetachInstancesCommand);
  });
});

describe("the count ends where it began", () => {
  const checkOf = (w: World) => w.aws.queuedFollowUps().find((f) => (f.body["detail"] as { action?: string }).action === "check-reclaimed");

  it("a detached instance EC2 never reclaims (a drill's) is terminated once its deadline is well past: its replacement runs in its place", async () => {
    // Prepare: a warning that EC2 does not follow through
    const { world, fleet } = await setUp();
    world.aws.ec2.on(TerminateInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => {
      for (const id of input.InstanceIds ?? []) world.aws.setState(id, "shutting-down");
      return { TerminatingInstances: (input.InstanceIds ?? []).map((InstanceId) => ({ InstanceId, CurrentState: { Name: "shutting-down" } })) };
    });
    await world.invoke(fixture("spotInterruption"));
    const check = checkOf(world);
    expect(check?.body["detail"]).toMatchObject({ action: "check-reclaimed", due: "2024-05-14T18:28:07.000Z" });
    // Act: five minutes after the deadline the instance still runs
    world.advance(7 * 60_000);
    const result = (await world.invoke(check!.body)) as DirectResult;
    // Assess
    expect(world.aws.ec2).toReceiveCommandWith(TerminateInstancesCommand, { InstanceIds: [DEMO_INTERRUPTED_INSTANCE] });
    expect(result.reports[0]).toMatchObject({ kind: "follow-up:check-reclaimed", outcome: "done" });
    expect(eventsAbout(world.kube, DEMO_INTERRUPTED_NODE).find((e) => e.reason === "DetachedInstanceTerminated")).toMatchObject({ type: "Warning" });
    expect(world.recorder.total("DetachedInstancesTerminated")).toBe(1);
    expect(fleet.members(SPOT_ASG)).toHaveLength(3);
  });

  it("an instance EC2 reclaimed as announced is left alone", async () => {
    const { world, fleet } = await setUp();
    await world.invoke(fixture("spotInterruption"));
    fleet.reclaim(DEMO_INTERRUPTED_INSTANCE);
    world.advance(7 * 60_000);
    const result = (await world.invoke(checkOf(world)!.body)) as DirectResult;
    expect(result.reports[0]).toMatchObject({ outcome: "done", reason: "EC2 reclaimed the instance" });
    expect(world.aws.ec2).not.toReceiveCommand(TerminateInstancesCommand);
  });

  it("by policy such an instance is only reported", async () => {
    const { world } = await setUp({ policy: { replacement: { terminateUnreclaimed: false } } });
    await world.invoke(fixture("spotInterruption"));
    world.advance(7 * 60_000);
    const result = (await world.invoke(checkOf(world)!.body)) as DirectResult;
    expect(result.reports[0]?.outcome).toBe("skipped");
    expect(world.aws.ec2).not.toReceiveCommand(TerminateInstancesCommand);
    expect(eventsAbout(world.kube, DEMO_INTERRUPTED_NODE).find((e) => e.reason === "DetachedInstanceTerminated")?.message).toMatch(/^Not terminated/);
  });
});

describe("spot short: the on-demand group, per the capacity policy", () => {
  const capacityPolicy: CapacityPolicyInput = {
    groups: {
      "base-on-demand": { type: "managed-node-group", capacityType: "on-demand", default: { min: 2, max: 4 } },
      "spot-general": { type: "managed-node-group", capacityType: "spot", default: { min: 0, max: 6 } },
    },
    fallbacks: [{ onDemandGroup: "base-on-demand", spotGroups: ["spot-general"], maxExtra: 2 }],
  };

  it("with the fallback active, the on-demand group's desired is raised by one instead of detaching; a redelivery raises nothing more", async () => {
    // Prepare: the capacity manager's tags say spot fell back
    const { world, fleet } = await setUp({ capacityPolicy, onDemand: { tags: { "spot-manager/fallback-since": "2024-05-14T18:10:00.000Z", "spot-manager/fallback-extra": "1" } } });
    // Act
    await world.invoke(world.sqs(fixture("spotInterruption")));
    await world.invoke(world.redelivered(2, fixture("spotInterruption")));
    // Assess
    expect(world.aws.autoscaling).not.toReceiveCommand(DetachInstancesCommand);
    expect(world.aws.autoscaling).toReceiveCommandTimes(SetDesiredCapacityCommand, 1);
    expect(world.aws.autoscaling).toReceiveCommandWith(SetDesiredCapacityCommand, { AutoScalingGroupName: ON_DEMAND_ASG, DesiredCapacity: 3, HonorCooldown: false });
    expect(fleet.groups.get(ON_DEMAND_ASG)!.desired).toBe(3);
    expect(fleet.groups.get(SPOT_ASG)!.desired).toBe(3);
    expect(recordOn(world, DEMO_INTERRUPTED_NODE)).toMatch(/ on-demand-fallback base-on-demand \S+ requested$/);
    expect(outcomeDetails(world.aws, OUTCOME_DETAIL_TYPES.replacementRequested)).toEqual([
      expect.objectContaining({ group: "spot-general", replacementGroup: "base-on-demand", autoScalingGroup: ON_DEMAND_ASG, mechanism: "on-demand-fallback", fallback: true, desiredBefore: 2, desiredAfter: 3 }),
    ]);
    const [, redelivery] = world.recorder.lines.filter((l) => l.message === "action finished");
    expect(redelivery).toBeDefined();
  });

  it("a launch failed for capacity within the rule's window counts as short too", async () => {
    // Prepare: cluster-autoscaler raised the spot group, and its launch failed for capacity
    const { world, fleet } = await setUp({ capacityPolicy });
    fleet.failLaunches(SPOT_ASG, "Could not launch Spot Instances. InsufficientInstanceCapacity - There is no Spot capacity available that matches your request.");
    await world.aws.clients.autoscaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: SPOT_ASG, DesiredCapacity: 4, HonorCooldown: false }));
    // Act
    const result = await world.invoke(fixture("spotInterruption"));
    expect(replacementOf(result)).toMatchObject({ status: "requested", mechanism: "on-demand-fallback", replacementGroup: "base-on-demand", desired: { from: 2, to: 3 } });
    expect(replacementOf(result)?.reason).toContain("InsufficientInstanceCapacity");
  });
});

describe("a rebalance recommendation, by policy", () => {
  it("a group with capacity rebalancing launches its own: nothing is asked", async () => {
    const { world } = await setUp({ policy: { replacement: { onRebalanceRecommendation: true } } });
    const result = await world.invoke(fixture("rebalance"));
    expect(replacementOf(result)).toMatchObject({ status: "not-needed", trigger: "rebalance-recommendation" });
    expect(world.aws.autoscaling).not.toReceiveCommand(SetDesiredCapacityCommand);
  });

  it("a group without raises desired by one; the interruption that follows detaches the instance taking it back", async () => {
    // Prepare
    const { world, fleet } = await setUp({ startAt: "2024-05-14T18:09:43Z", policy: { replacement: { onRebalanceRecommendation: true } }, spot: { capacityRebalance: false } });
    // Act: the recommendation, then the warning eleven minutes later
    const rebalance = await world.invoke(fixture("rebalance"));
    world.advance(685_000);
    const warning = await world.invoke(fixture("spotInterruption"));
    // Assess
    expect(replacementOf(rebalance)).toMatchObject({ status: "requested", mechanism: "raise-desired", desired: { from: 3, to: 4 } });
    expect(world.aws.autoscaling).toReceiveCommandWith(SetDesiredCapacityCommand, { AutoScalingGroupName: SPOT_ASG, DesiredCapacity: 4, HonorCooldown: false });
    expect(replacementOf(warning)).toMatchObject({ status: "requested", mechanism: "detach-after-raise" });
    expect(world.aws.autoscaling).toReceiveCommandWith(DetachInstancesCommand, { AutoScalingGroupName: SPOT_ASG, InstanceIds: [DEMO_INTERRUPTED_INSTANCE], ShouldDecrementDesiredCapacity: true });
    expect(fleet.groups.get(SPOT_ASG)!.desired).toBe(3);
    expect(fleet.members(SPOT_ASG)).toHaveLength(3);
  });
});

describe("pods with nowhere else to go wait for the replacement on the node", () => {
  it("they stay until the new node joins, then move to it; pods with room elsewhere go at once", async () => {
    // Prepare: the other spot nodes are full (cordoned), so the spot-only pods have nowhere to go
    const { world, fleet } = await setUp({ bootSeconds: 2, policy: { replacement: { roomCheckSeconds: 1 } } });
    for (const name of SPOT_NODES.slice(1)) world.kube.registry.patch(findResource("", "v1", "nodes") as ResourceType, undefined, name, "merge", JSON.stringify({ spec: { unschedulable: true } }));
    // Act
    const started = Date.now();
    const result = (await world.invoke(fixture("spotInterruption"))) as DirectResult;
    // Assess: the drain waited for the replacement's node, and not for the deadline
    const report = result.reports[0]!;
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(report.drain?.complete).toBe(true);
    const held = report.drain?.held ?? [];
    expect(held.length).toBeGreaterThanOrEqual(3);
    for (const pod of held) {
      expect(pod.releasedBy).toBe("room");
      expect(pod.seconds).toBeGreaterThanOrEqual(1);
    }
    expect(held.map((h) => h.pod.name)).not.toContain("debug-shell");
    const joined = fleet.history.find((e) => e.what === "node-joined")!;
    const onNew = podsOn(world.kube, joined.node!).filter((p) => p.startsWith("shop/"));
    expect(onNew.length).toBeGreaterThanOrEqual(3);
    expect(world.recorder.total("PodsHeldForRoom")).toBe(held.length);
  });
});
