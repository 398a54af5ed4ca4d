/**
 * Drills through the real path: a synthetic signal from the drill source, as EventBridge delivers
 * it to the queue, is handled like AWS's own — and every report about it says it was a drill.
 */
import { PublishCommand } from "@aws-sdk/client-sns";
import { DRILL_SOURCE, OUTCOME_DETAIL_TYPES as T, parseMessage, syntheticEvent, type InterruptionEvent } from "@spot-manager/core";
import { DEMO_INTERRUPTED_INSTANCE, DEMO_INTERRUPTED_NODE } from "@spot-manager/kube-local";
import { afterEach, describe, expect, it } from "vitest";
import type { DirectResult } from "../../functions/interruption";
import { fixture } from "../fixtures";
import { outcomeDetails } from "../outcomes/schemas";
import { createWorld, eventsAbout, nodeView, podsOn, type World } from "./world";

let world: World | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

/** What EventBridge delivers for a drill put on the bus at `at`: AWS's detail-type and detail, the drill source. */
function drillFromBus(kind: Parameters<typeof syntheticEvent>[0], at: string, id = "8c1d6f0e-2b7a-4c59-9e3d-1f0a2b3c4d5e") {
  return syntheticEvent(kind, { instanceId: DEMO_INTERRUPTED_INSTANCE, now: new Date(at), region: "us-west-2", account: "123456789012", id, drill: true });
}

describe("a drill's spot interruption warning, from the bus through the queue", () => {
  it("protects and drains the node as a real warning would, and marks every report as a drill", async () => {
    // Prepare
    world = await createWorld();
    const drill = drillFromBus("spot-itn", "2024-05-14T18:21:07Z");
    // Act
    const response = await world.invoke(world.sqs(drill));
    // Assess: the cluster, as for AWS's warning
    expect(response).toEqual({ batchItemFailures: [] });
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE)).toMatchObject({ unschedulable: true });
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).taints).toContainEqual({ key: "spot-manager/spot-itn", value: drill["id"], effect: "NoSchedule" });
    expect(podsOn(world.kube, DEMO_INTERRUPTED_NODE)).toHaveLength(2);
    // Assess: outcome events
    const [protectedNode] = outcomeDetails(world.aws, T.nodeProtected);
    expect(protectedNode).toMatchObject({ drill: true, signal: { source: DRILL_SOURCE, detailType: "EC2 Spot Instance Interruption Warning", eventId: drill["id"] } });
    expect(outcomeDetails(world.aws, T.drainFinished)).toEqual([expect.objectContaining({ drill: true, complete: true })]);
    // Assess: notifications, with an attribute subscription filters can use
    expect(world.aws.notifications().map((n) => [n["phase"], n["drill"]])).toEqual([
      ["start", true],
      ["end", true],
    ]);
    expect(world.aws.sns).toReceiveCommandWith(PublishCommand, { MessageAttributes: expect.objectContaining({ drill: { DataType: "String", StringValue: "true" } }) });
    // Assess: every metric point carries the drill dimension, so the capacity manager's count and the alarms leave it out
    const points = world.recorder.points.filter((p) => !p.name.startsWith("OutcomeEvents"));
    expect(points.length).toBeGreaterThan(5);
    expect(points.filter((p) => p.dimensions["drill"] !== "true")).toEqual([]);
    expect(world.recorder.total("SpotInterruptions", { group: "spot-general", drill: "true" })).toBe(1);
    // Assess: the node's Events say so
    expect(eventsAbout(world.kube, DEMO_INTERRUPTED_NODE).map((e) => e.message.slice(0, 7))).toEqual(["Drill: ", "Drill: ", "Drill: "]);
  });

  it("a real warning's reports carry no drill mark", async () => {
    world = await createWorld();
    await world.invoke(world.sqs(fixture("spotInterruption")));
    expect(world.aws.notifications().every((n) => n["drill"] === false)).toBe(true);
    expect(world.recorder.points.filter((p) => "drill" in p.dimensions)).toEqual([]);
    expect(eventsAbout(world.kube, DEMO_INTERRUPTED_NODE).some((e) => e.message.startsWith("Drill"))).toBe(false);
  });

  it("a drill's drain continued in a follow-up stays a drill", async () => {
    world = await createWorld();
    world.kube.faults.add({ match: { resource: "pods/eviction" }, effect: { kind: "status", code: 429, retryAfterSeconds: 1 }, times: 20 });
    await world.invoke(world.sqs(drillFromBus("spot-itn", "2024-05-14T18:21:07Z")), 22_000);
    const [followUp] = world.aws.queuedFollowUps();
    expect(followUp?.body).toMatchObject({ detail: { action: "continue-drain", event: { drill: true, source: DRILL_SOURCE } } });
    world.kube.faults.clear();
    world.advance(5_000);
    await world.invoke(world.sqs(followUp!.body));
    expect(outcomeDetails(world.aws, T.drainFinished)).toEqual([expect.objectContaining({ drill: true, invocations: 2, complete: true })]);
  });

  it("a drill of an Auto Scaling terminate hook completes the action and says so", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:23:12Z" });
    const drill = syntheticEvent("asg-terminate", {
      instanceId: DEMO_INTERRUPTED_INSTANCE,
      now: new Date("2024-05-14T18:23:11Z"),
      region: "us-west-2",
      account: "123456789012",
      lifecycle: { asgName: "my-asg", hookName: "spot-manager-drain", token: "87654321-4321-4321-4321-210987654321" },
      drill: true,
    });
    await world.invoke(world.sqs(drill));
    expect(outcomeDetails(world.aws, T.lifecycleActionCompleted)).toEqual([expect.objectContaining({ drill: true, result: "CONTINUE", why: "drained" })]);
    expect(world.recorder.total("LifecycleActionsCompleted", { drill: "true" })).toBe(1);
  });

  it("a direct invoke marked as a drill is a drill too, and its dry run changes nothing", async () => {
    world = await createWorld();
    const result = (await world.invoke({ ...fixture<Record<string, unknown>>("spotInterruption"), drill: { dryRun: true } })) as DirectResult;
    expect(result.reports[0]?.outcome).toBe("dry-run");
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).unschedulable).toBe(false);
    expect(world.aws.eventsOnBus()).toEqual([]);
    expect(world.recorder.total("EventsReceived", { kind: "spot-interruption", drill: "true" })).toBe(1);
  });
});

describe("the drill source", () => {
  it("is parsed with the detail-types AWS uses, into the same normalized events, marked", () => {
    for (const kind of ["spot-itn", "rebalance", "stopping", "shutting-down", "terminated", "scheduled-change"] as const) {
      const aws = parseMessage(syntheticEvent(kind, { instanceId: DEMO_INTERRUPTED_INSTANCE, id: "e-1", now: new Date("2024-05-14T18:21:07Z") }));
      const drill = parseMessage(syntheticEvent(kind, { instanceId: DEMO_INTERRUPTED_INSTANCE, id: "e-1", now: new Date("2024-05-14T18:21:07Z"), drill: true }));
      const [real] = (aws as { events: InterruptionEvent[] }).events;
      expect(drill).toEqual({ type: "signal", events: [{ ...real, source: DRILL_SOURCE, drill: true }] });
    }
  });

  it("carries nothing else: another detail-type from it is refused as unsupported, and so is another source", () => {
    const drill = drillFromBus("spot-itn", "2024-05-14T18:21:07Z");
    expect(() => parseMessage({ ...drill, "detail-type": "EC2 Instance Launch Successful" })).toThrowError(/no handler for source "spot-manager.drill" detail-type "EC2 Instance Launch Successful"/);
    expect(() => parseMessage({ ...drill, "detail-type": "Drain Finished" })).toThrowError(/no handler for source "spot-manager.drill"/);
    expect(() => parseMessage({ ...drill, source: "spot-manager.drills" })).toThrowError(/no handler for source "spot-manager.drills"/);
    // the details are AWS's, held to the same rules
    expect(() => parseMessage({ ...drill, detail: { "instance-id": "web-1", "instance-action": "terminate" } })).toThrowError(/instance-id/);
  });
});
