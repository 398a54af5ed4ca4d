/**
 * The simulation's models of what the groups and cluster-autoscaler do, on a clock the test moves:
 * a group keeps desired (replacing a terminated member after it notices, a detached one at once),
 * launches boot into Ready nodes, capacity rebalancing replaces an at-risk instance, failed
 * launches show in the scaling activities, and cluster-autoscaler scales up for pods that fit
 * nowhere (not for pods an upcoming node takes), down after the unneeded time, and gives up on
 * nodes that never come.
 */
import { DescribeScalingActivitiesCommand, DetachInstancesCommand } from "@aws-sdk/client-auto-scaling";
import { DEMO_INTERRUPTED_INSTANCE, DEMO_INTERRUPTED_NODE, deploymentFixture, findResource, LIFECYCLE_LABEL, SPOT_TAINT_KEY, startKubeLocal, type KubeLocal, type ResourceType } from "@spot-manager/kube-local";
import { afterEach, describe, expect, it } from "vitest";
import { AwsWorld } from "../src/simulate/aws-world";
import { ClusterAutoscaler } from "../src/simulate/cluster-autoscaler";
import { FakeFleet, type GroupTemplate } from "../src/simulate/fleet";
import { SimScheduler, type SimClock } from "../src/simulate/scheduler";

const SPOT_ASG = "eks-spot-general";
const SPOT_NODES = [DEMO_INTERRUPTED_NODE, "ip-10-0-2-22.us-west-2.compute.internal", "ip-10-0-3-23.us-west-2.compute.internal"];
const template: GroupTemplate = { instanceType: "m5.xlarge", zones: ["us-west-2a"], capacityType: "SPOT", taints: [{ key: "spot-manager/lifecycle", value: "spot", effect: "PreferNoSchedule" }] };

/** A clock only the test moves (through the scheduler's fastForward). */
class TestClock implements SimClock {
  readonly timeScale = 1;
  private t = Date.parse("2024-05-14T18:21:08Z");
  now = () => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

let kube: KubeLocal | undefined;
let aws: AwsWorld | undefined;
let scheduler: SimScheduler | undefined;
afterEach(async () => {
  scheduler?.stop();
  aws?.restore();
  await kube?.stop();
  kube = undefined;
  aws = undefined;
  scheduler = undefined;
});

async function world(options: { bootSeconds?: number; capacityRebalance?: boolean; simulation?: boolean } = {}) {
  kube = await startKubeLocal({ seed: "demo", simulation: options.simulation ? { timeScale: 0.001, podStartupSeconds: 0 } : false });
  aws = new AwsWorld();
  aws.addNodes(kube.list("nodes"), "demo");
  scheduler = new SimScheduler(new TestClock());
  const fleet = new FakeFleet(aws, kube, { clusterName: "demo", scheduler, bootSeconds: options.bootSeconds ?? 90, replaceAfterSeconds: 10, nodeGoneAfterSeconds: 5 });
  fleet.addGroup({ name: SPOT_ASG, nodegroup: "spot-general", min: 0, max: 6, capacityRebalance: options.capacityRebalance ?? false, template }, SPOT_NODES);
  return { kube, aws, scheduler, fleet };
}

/** Moves the clock and lets what fell due run. */
async function pass(s: SimScheduler, seconds: number): Promise<void> {
  s.fastForward(s.now() + seconds * 1000);
  for (let i = 0; i < 5; i += 1) await new Promise((r) => setTimeout(r, 5));
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i += 1) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
}

const nodeNames = (k: KubeLocal) => k.list("nodes").map((n) => n.metadata.name ?? "");
const states = (fleet: FakeFleet) => fleet.members(SPOT_ASG).map((i) => i.lifecycleState).sort();

describe("an Auto Scaling group, as the simulation models it", () => {
  it("replaces a member EC2 reclaimed once it notices, and the launch joins as a Ready node after the boot time", async () => {
    const { kube, scheduler, fleet } = await world();
    fleet.reclaim(DEMO_INTERRUPTED_INSTANCE);
    await pass(scheduler, 5);
    expect(nodeNames(kube)).not.toContain(DEMO_INTERRUPTED_NODE);
    expect(states(fleet)).toEqual(["InService", "InService"]);
    await pass(scheduler, 5);
    expect(states(fleet)).toEqual(["InService", "InService", "Pending"]);
    const launched = fleet.members(SPOT_ASG).find((i) => i.lifecycleState === "Pending")!;
    await pass(scheduler, 89);
    expect(nodeNames(kube)).not.toContain(launched.nodeName);
    await pass(scheduler, 1);
    expect(nodeNames(kube)).toContain(launched.nodeName);
    const node = kube.get("nodes", undefined, launched.nodeName) as { metadata: { labels: Record<string, string> }; status: { conditions: { type: string; status: string }[] } };
    expect(node.metadata.labels["eks.amazonaws.com/nodegroup"]).toBe("spot-general");
    expect(node.status.conditions).toContainEqual(expect.objectContaining({ type: "Ready", status: "True" }));
  });

  it("a detached instance is replaced at once (not when decremented); it keeps running, and its reclaim later starts nothing", async () => {
    const { kube, aws, scheduler, fleet } = await world();
    await aws.clients.autoscaling.send(new DetachInstancesCommand({ AutoScalingGroupName: SPOT_ASG, InstanceIds: [DEMO_INTERRUPTED_INSTANCE], ShouldDecrementDesiredCapacity: false }));
    expect(states(fleet)).toEqual(["InService", "InService", "Pending"]);
    await aws.clients.autoscaling.send(new DetachInstancesCommand({ AutoScalingGroupName: SPOT_ASG, InstanceIds: [fleet.members(SPOT_ASG)[0]!.instanceId], ShouldDecrementDesiredCapacity: true }));
    expect(fleet.groups.get(SPOT_ASG)!.desired).toBe(2);
    expect(states(fleet)).toEqual(["InService", "Pending"]);
    expect(nodeNames(kube)).toContain(DEMO_INTERRUPTED_NODE);
    fleet.reclaim(DEMO_INTERRUPTED_INSTANCE);
    await pass(scheduler, 30);
    expect(nodeNames(kube)).not.toContain(DEMO_INTERRUPTED_NODE);
    expect(fleet.history.filter((e) => e.what === "launched")).toHaveLength(1);
    await expect(aws.clients.autoscaling.send(new DetachInstancesCommand({ AutoScalingGroupName: SPOT_ASG, InstanceIds: [DEMO_INTERRUPTED_INSTANCE], ShouldDecrementDesiredCapacity: false }))).rejects.toThrow(
      `The instance ${DEMO_INTERRUPTED_INSTANCE} is not part of Auto Scaling group ${SPOT_ASG}.`,
    );
  });

  it("capacity rebalancing launches a replacement above desired and ends the at-risk instance once it is in service", async () => {
    const { kube, scheduler, fleet } = await world({ capacityRebalance: true });
    fleet.rebalanceRecommendation(DEMO_INTERRUPTED_INSTANCE);
    expect(states(fleet)).toEqual(["InService", "InService", "InService", "Pending"]);
    await pass(scheduler, 90);
    expect(states(fleet)).toEqual(["InService", "InService", "InService"]);
    expect(fleet.instances.get(DEMO_INTERRUPTED_INSTANCE)?.lifecycleState).toBe("Terminated");
    await pass(scheduler, 5);
    expect(nodeNames(kube)).not.toContain(DEMO_INTERRUPTED_NODE);
    expect(fleet.groups.get(SPOT_ASG)!.desired).toBe(3);
  });

  it("a launch that fails for capacity shows as a failed scaling activity and is tried again later", async () => {
    const { aws, scheduler, fleet } = await world();
    fleet.failLaunches(SPOT_ASG, "InsufficientInstanceCapacity - There is no Spot capacity available that matches your request.");
    fleet.reclaim(DEMO_INTERRUPTED_INSTANCE);
    await pass(scheduler, 10);
    const { Activities } = await aws.clients.autoscaling.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: SPOT_ASG }));
    expect(Activities?.[0]).toMatchObject({ StatusCode: "Failed", StatusMessage: expect.stringContaining("InsufficientInstanceCapacity") });
    fleet.failLaunches(SPOT_ASG, undefined);
    await pass(scheduler, 30);
    expect(states(fleet)).toEqual(["InService", "InService", "Pending"]);
  });
});

describe("cluster-autoscaler, as the simulation models it", () => {
  const deployments = () => findResource("apps", "v1", "deployments") as ResourceType;

  it("scales up for pods that fit no node on its next scan, not again for pods the upcoming node takes, and down after the unneeded time", async () => {
    // Prepare: the spot nodes are cordoned, so a new spot-only workload fits no node
    const { kube, scheduler, fleet, aws } = await world({ bootSeconds: 60, simulation: true });
    const nodes = findResource("", "v1", "nodes") as ResourceType;
    for (const name of SPOT_NODES) kube.registry.patch(nodes, undefined, name, "merge", JSON.stringify({ spec: { unschedulable: true } }));
    const autoscaler = new ClusterAutoscaler(aws, kube, fleet, scheduler, { groups: [SPOT_ASG], scanIntervalSeconds: 10, firstScanAfterSeconds: 10, scaleDownUnneededSeconds: 600, scaleDownDelayAfterAddSeconds: 600 });
    autoscaler.start();
    const burst = deploymentFixture({ namespace: "shop", name: "burst", replicas: 1, nodeSelector: { [LIFECYCLE_LABEL]: "spot" }, tolerations: [{ key: SPOT_TAINT_KEY, operator: "Exists" }], requests: { cpu: "500m" } }).deployment;
    kube.registry.create(deployments(), "shop", burst);
    await kube.idle();
    // Act and assess: the first scan raises desired by one
    await pass(scheduler, 10);
    expect(autoscaler.history.map((e) => e.what)).toEqual(["scale-up"]);
    expect(fleet.groups.get(SPOT_ASG)!.desired).toBe(4);
    // one more pending pod fits the upcoming node: no second scale-up
    kube.registry.patch(deployments(), "shop", "burst", "merge", JSON.stringify({ spec: { replicas: 2 } }));
    await kube.idle();
    await pass(scheduler, 10);
    expect(autoscaler.history.map((e) => e.what)).toEqual(["scale-up"]);
    // the node joins and both pods run there; once the workload is gone the node is unneeded
    await pass(scheduler, 50);
    const added = fleet.history.find((e) => e.what === "node-joined")!.node!;
    await until(() => kube.list("pods", "shop").filter((p) => (p["spec"] as { nodeName?: string }).nodeName === added).length === 2);
    kube.registry.patch(deployments(), "shop", "burst", "merge", JSON.stringify({ spec: { replicas: 0 } }));
    await until(() => kube.list("pods", "shop").every((p) => (p["spec"] as { nodeName?: string }).nodeName !== added));
    await pass(scheduler, 10);
    expect(autoscaler.nextScaleDown()).toBeGreaterThan(scheduler.now());
    await pass(scheduler, 300);
    expect(autoscaler.history.map((e) => e.what)).toEqual(["scale-up"]);
    scheduler.fastForward(autoscaler.nextScaleDown()!);
    await pass(scheduler, 10);
    expect(autoscaler.history.map((e) => e.what)).toEqual(["scale-up", "scale-down"]);
    expect(fleet.groups.get(SPOT_ASG)!.desired).toBe(3);
    await pass(scheduler, 10);
    expect(nodeNames(kube)).not.toContain(added);
    autoscaler.stop();
  });

  it("gives up on nodes that never register within its max provision time and backs the group off", async () => {
    const { kube, scheduler, fleet, aws } = await world({ simulation: true });
    fleet.failLaunches(SPOT_ASG, "InsufficientInstanceCapacity");
    const nodes = findResource("", "v1", "nodes") as ResourceType;
    for (const name of SPOT_NODES) kube.registry.patch(nodes, undefined, name, "merge", JSON.stringify({ spec: { unschedulable: true } }));
    const autoscaler = new ClusterAutoscaler(aws, kube, fleet, scheduler, { groups: [SPOT_ASG], firstScanAfterSeconds: 10, maxNodeProvisionSeconds: 600 });
    autoscaler.start();
    kube.registry.patch(deployments(), "shop", "checkout", "merge", JSON.stringify({ spec: { replicas: 4 } }));
    await kube.idle();
    await pass(scheduler, 10);
    expect(fleet.groups.get(SPOT_ASG)!.desired).toBe(4);
    scheduler.fastForward(autoscaler.nextGiveUp()!);
    await pass(scheduler, 10);
    expect(autoscaler.history.map((e) => e.what)).toEqual(["scale-up", "gave-up"]);
    expect(fleet.groups.get(SPOT_ASG)!.desired).toBe(3);
    autoscaler.stop();
  });
});
