/**
 * Outcome events of the interruption path, through the real handler against kube-local with AWS
 * faked: what was put on the bus (every event held to its JSON Schema), once per signal, never
 * more than happened, and never at the cost of the action it reports on.
 */
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { PublishCommand } from "@aws-sdk/client-sns";
import { OUTCOME_DETAIL_TYPES as T } from "@spot-manager/core";
import { DEMO_INTERRUPTED_NODE } from "@spot-manager/kube-local";
import { afterEach, describe, expect, it } from "vitest";
import type { DirectResult } from "../../functions/interruption";
import { fixture } from "../fixtures";
import { createWorld, eventsAbout, nodeView, podsOn, type World } from "../interruption/world";
import { outcomeDetails, outcomeEvents } from "./schemas";

let world: World | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

const SPOT_EVENT = "3f4c2e8a-9d1b-4b6e-8f0a-2c7d5e1b9a34";
const INSTANCE = "i-1234567890abcdef0";
const detailTypes = (w: World) => outcomeEvents(w.aws).map((e) => e["detail-type"]);

describe("a spot interruption warning", () => {
  it("publishes Node Protected, then Drain Finished with what moved and the deadline met, on the default bus", async () => {
    // Prepare
    world = await createWorld();
    // Act
    const response = await world.invoke(world.sqs(fixture("spotInterruption")));
    // Assess: the events, each valid against its schema
    expect(response).toEqual({ batchItemFailures: [] });
    expect(detailTypes(world)).toEqual([T.nodeProtected, T.drainFinished]);
    const [protectedNode] = outcomeDetails(world.aws, T.nodeProtected);
    expect(protectedNode).toEqual({
      cluster: "demo",
      instanceId: INSTANCE,
      node: DEMO_INTERRUPTED_NODE,
      group: "spot-general",
      signal: { eventId: SPOT_EVENT, kind: "spot-interruption", source: "aws.ec2", detailType: "EC2 Spot Instance Interruption Warning", time: "2024-05-14T18:21:07.000Z" },
      drill: false,
      taint: { key: "spot-manager/spot-itn", value: SPOT_EVENT, effect: "NoSchedule" },
      cordoned: true,
      deadline: "2024-05-14T18:23:07.000Z",
    });
    const [drain] = outcomeDetails(world.aws, T.drainFinished);
    expect(drain).toMatchObject({ node: DEMO_INTERRUPTED_NODE, complete: true, podsEvicted: 5, podsDeleted: 0, podsLeft: 0, left: [], deadline: "2024-05-14T18:23:07.000Z", deadlineMet: true, invocations: 1, drill: false });
    expect(drain?.["secondsLeft"]).toBeGreaterThan(100);
    // Assess: what EventBridge was asked
    const entries = world.aws.eventbridge.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []);
    expect(entries.map((e) => [e.Source, e.DetailType, e.EventBusName])).toEqual([
      ["spot-manager", "Node Protected", "default"],
      ["spot-manager", "Drain Finished", "default"],
    ]);
    expect(entries[0]?.Resources).toEqual([`arn:aws:ec2:us-west-2:123456789012:instance/${INSTANCE}`]);
    expect(world.recorder.total("OutcomeEventsPublished")).toBe(2);
  });

  it("a duplicate delivery publishes nothing", async () => {
    world = await createWorld();
    const body = fixture("spotInterruption");
    await world.invoke(world.sqs(body));
    await world.invoke(world.sqs(body));
    expect(detailTypes(world)).toEqual([T.nodeProtected, T.drainFinished]);
  });

  it("a drain that leaves a pod says so: complete false, the pod with why, deadline not met", async () => {
    world = await createWorld();
    world.kube.faults.add({
      match: { resource: "pods/eviction", path: "/pods/debug-shell/" },
      effect: { kind: "status", code: 400, message: 'admission webhook "no-evict.example.com" denied the request: debug shells stay' },
    });
    await world.invoke(world.sqs(fixture("spotInterruption")), 60_000);
    const [drain] = outcomeDetails(world.aws, T.drainFinished);
    expect(drain).toMatchObject({
      complete: false,
      deadlineMet: false,
      podsEvicted: 4,
      podsLeft: 1,
      left: [{ pod: "shop/debug-shell", reason: "eviction-refused", why: 'eviction refused: HTTP 400: admission webhook "no-evict.example.com" denied the request: debug shells stay' }],
    });
  });

  it("a drain continued in a follow-up publishes Drain Finished once, when it ends, with the invocations it took", async () => {
    world = await createWorld();
    world.kube.faults.add({ match: { resource: "pods/eviction" }, effect: { kind: "status", code: 429, retryAfterSeconds: 1 }, times: 20 });
    await world.invoke(world.sqs(fixture("spotInterruption")), 22_000);
    expect(detailTypes(world)).toEqual([T.nodeProtected]);
    world.kube.faults.clear();
    world.advance(5_000);
    await world.invoke(world.sqs(world.aws.queuedFollowUps()[0]!.body));
    expect(detailTypes(world)).toEqual([T.nodeProtected, T.drainFinished]);
    expect(outcomeDetails(world.aws, T.drainFinished)[0]).toMatchObject({ complete: true, invocations: 2 });
  });

  it("in a dry run publishes nothing", async () => {
    world = await createWorld({ policy: { dryRun: true } });
    await world.invoke(world.sqs(fixture("spotInterruption")));
    expect(world.aws.eventbridge).not.toReceiveCommand(PutEventsCommand);
  });

  it("with no bus configured publishes nothing and acts as before", async () => {
    world = await createWorld({ eventBus: null });
    await world.invoke(world.sqs(fixture("spotInterruption")));
    expect(world.aws.eventbridge).not.toReceiveCommand(PutEventsCommand);
    expect(podsOn(world.kube, DEMO_INTERRUPTED_NODE)).toHaveLength(2);
  });

  it("goes to the stage's own bus when one is configured", async () => {
    const bus = "arn:aws:events:us-west-2:210987654321:event-bus/platform-events";
    world = await createWorld({ eventBus: bus });
    await world.invoke(world.sqs(fixture("spotInterruption")));
    expect(outcomeEvents(world.aws, bus).map((e) => e["detail-type"])).toEqual([T.nodeProtected, T.drainFinished]);
    expect(world.aws.eventbridge).toReceiveCommandWith(PutEventsCommand, { Entries: [expect.objectContaining({ EventBusName: bus })] });
  });
});

describe("a bus that refuses never fails the action", () => {
  it("a throttled entry is sent again and published once", async () => {
    world = await createWorld();
    world.aws.failPutEvents(() => "ThrottlingException");
    await world.invoke(world.sqs(fixture("spotInterruption")));
    expect(detailTypes(world)).toEqual([T.nodeProtected, T.drainFinished]);
    expect(world.aws.eventbridge).toReceiveCommandTimes(PutEventsCommand, 3);
    expect(world.recorder.total("OutcomeEventsFailed")).toBe(0);
  });

  it("entries refused for good, or a bus that cannot be reached, are logged and counted; the drain and its notifications go on", async () => {
    world = await createWorld();
    world.aws.failPutEvents(() => "AccessDeniedException");
    world.aws.failPutEventsCall(Object.assign(new Error("Could not connect to the endpoint URL"), { name: "TimeoutError" }));
    const response = await world.invoke(world.sqs(fixture("spotInterruption")));
    // Assess: the action as if nothing happened
    expect(response).toEqual({ batchItemFailures: [] });
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).unschedulable).toBe(true);
    expect(podsOn(world.kube, DEMO_INTERRUPTED_NODE)).toHaveLength(2);
    expect(world.aws.sns).toReceiveCommandTimes(PublishCommand, 2);
    // Assess: nothing claimed, every failure counted with its reason
    expect(world.aws.eventsOnBus()).toEqual([]);
    expect(world.recorder.total("OutcomeEventsFailed")).toBe(2);
    expect(world.recorder.points.filter((p) => p.name === "OutcomeEventsFailed").map((p) => p.dimensions["reason"]).sort()).toEqual(["AccessDeniedException", "TimeoutError"]);
    expect(world.recorder.lines.filter((l) => l.message === "outcome event not published")).toHaveLength(2);
  });
});

describe("lifecycle actions", () => {
  it("a terminate hook: Node Protected, Drain Finished, then Lifecycle Action Completed; a redelivery after completion does not complete it twice", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:23:12Z" });
    const body = fixture("asgTerminate");
    await world.invoke(world.sqs(body));
    // the earlier receive finished but was not acknowledged: its redelivery drains again (what is
    // left: nothing) and tells that drain's end, as the end notification does; the action is over
    await world.invoke(world.redelivered(2, body));
    expect(detailTypes(world)).toEqual([T.nodeProtected, T.drainFinished, T.lifecycleActionCompleted, T.drainFinished]);
    expect(outcomeDetails(world.aws, T.drainFinished)[1]).toMatchObject({ complete: true, podsEvicted: 0, podsLeft: 0 });
    expect(outcomeDetails(world.aws, T.lifecycleActionCompleted)[0]).toMatchObject({
      autoScalingGroup: "my-asg",
      hookName: "my-termination-lifecycle-hook",
      transition: "autoscaling:EC2_INSTANCE_TERMINATING",
      result: "CONTINUE",
      why: "drained",
      drainComplete: true,
      node: DEMO_INTERRUPTED_NODE,
    });
    expect(outcomeDetails(world.aws, T.drainFinished)[0]).toMatchObject({ deadline: "2024-05-14T18:38:11.000Z", deadlineMet: true });
  });

  it("a terminate hook without a node is completed and says why", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:23:12Z" });
    world.aws.setState(INSTANCE, "terminated");
    await world.invoke(fixture("asgTerminate"));
    expect(detailTypes(world)).toEqual([T.lifecycleActionCompleted]);
    expect(outcomeDetails(world.aws, T.lifecycleActionCompleted)[0]).toMatchObject({ result: "CONTINUE", why: "nothing to drain (instance terminated)" });
    expect(outcomeDetails(world.aws, T.lifecycleActionCompleted)[0]).not.toHaveProperty("drainComplete");
  });

  it("a launch hook abandoned for a node that never became Ready", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:35:44Z" });
    world.aws.addInstance({ instanceId: "i-0598c7d356eba48d7", privateDnsName: "ip-10-0-2-31.us-west-2.compute.internal", availabilityZone: "us-west-2b", instanceType: "m5.xlarge", lifecycle: "spot", tags: { "eks:cluster-name": "demo" } });
    await world.invoke(fixture("asgLaunch"));
    expect(outcomeDetails(world.aws, T.lifecycleActionCompleted)).toEqual([
      expect.objectContaining({ transition: "autoscaling:EC2_INSTANCE_LAUNCHING", result: "ABANDON", why: "not Ready after 600 s", instanceId: "i-0598c7d356eba48d7" }),
    ]);
  });
});

describe("a late warning under the delete policy", () => {
  it("publishes Drain Finished for what it deleted, with the deadline missed; nothing for the node's protection, which it never started", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:23:30Z", policy: { spotInterruption: { drainPolicy: { atDeadline: "delete" } } } });
    const result = (await world.invoke(fixture("spotInterruption"))) as DirectResult;
    expect(result.reports[0]?.reason).toMatch(/^received after its deadline: \d+ pods deleted/);
    expect(detailTypes(world)).toEqual([T.drainFinished]);
    const [drain] = outcomeDetails(world.aws, T.drainFinished);
    expect(drain?.["podsDeleted"]).toBeGreaterThan(0);
    expect(drain).toMatchObject({ podsEvicted: 0, deadlineMet: false });
    expect(drain?.["secondsLeft"]).toBeLessThan(0);
    expect(eventsAbout(world.kube, DEMO_INTERRUPTED_NODE).map((e) => e.reason)).not.toContain("SpotInterruption");
  });
});
