import { CompleteLifecycleActionCommand, RecordLifecycleActionHeartbeatCommand } from "@aws-sdk/client-auto-scaling";
import { CreateScheduleCommand } from "@aws-sdk/client-scheduler";
import { PublishCommand } from "@aws-sdk/client-sns";
import { ChangeMessageVisibilityCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { DEMO_INTERRUPTED_INSTANCE, DEMO_INTERRUPTED_NODE, nodeFixture } from "@spot-manager/kube-local";
import { afterEach, describe, expect, it } from "vitest";
import { fixture } from "../fixtures";
import { CLUSTER, createWorld, eventsAbout, nodeView, podsOn, QUEUE_ARN, QUEUE_URL, type World } from "./world";

let world: World | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

type Direct = { reports: { outcome: string; steps: string[]; reason?: string; node?: string }[] };

describe("rebalance recommendation", () => {
  it("taints PreferNoSchedule without cordon or drain, and schedules the taint's removal", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:09:43Z" });
    const podsBefore = podsOn(world.kube, DEMO_INTERRUPTED_NODE);
    await world.invoke(world.sqs(fixture("rebalance")));
    const node = nodeView(world.kube, DEMO_INTERRUPTED_NODE);
    expect(node.taints).toContainEqual({ key: "spot-manager/rebalance", value: "8c1e6a0f-52b7-4d3a-a9e4-6b0f3d2c7e15", effect: "PreferNoSchedule" });
    expect(node.unschedulable).toBe(false);
    expect(podsOn(world.kube, DEMO_INTERRUPTED_NODE)).toEqual(podsBefore);
    expect(world.aws.sqs).toReceiveCommandWith(SendMessageCommand, { QueueUrl: QUEUE_URL, DelaySeconds: 899 });
    const [followUp] = world.aws.queuedFollowUps();
    expect(followUp?.body).toMatchObject({ source: "spot-manager", "detail-type": "Spot Manager Follow-up", detail: { action: "remove-rebalance-taint", due: "2024-05-14T18:24:42.000Z" } });
  });

  it("removes the taint when no interruption followed", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:09:43Z" });
    await world.invoke(world.sqs(fixture("rebalance")));
    const followUp = world.aws.queuedFollowUps()[0]!.body;
    world.advance(900_000);
    await world.invoke(world.sqs(followUp));
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).taints.map((t) => t.key)).toEqual(["spot-manager/lifecycle"]);
    expect(eventsAbout(world.kube, DEMO_INTERRUPTED_NODE).map((e) => e.reason)).toEqual(["RebalanceRecommendation", "TaintRemoved"]);
  });

  it("keeps the taint when the interruption came, and puts back a follow-up that arrives early", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:09:43Z", policy: { spotInterruption: { drain: false } } });
    await world.invoke(world.sqs(fixture("rebalance")));
    const followUp = world.aws.queuedFollowUps()[0]!.body;
    const early = (await world.invoke(followUp)) as Direct;
    expect(early.reports[0]?.outcome).toBe("scheduled");
    expect(world.aws.sqs).toReceiveCommandTimes(SendMessageCommand, 2);
    world.advance(11 * 60_000 + 24_000);
    await world.invoke(world.sqs(fixture("spotInterruption")));
    world.advance(4 * 60_000);
    const late = (await world.invoke(followUp)) as Direct;
    expect(late.reports[0]).toMatchObject({ outcome: "skipped", reason: "an interruption followed the recommendation" });
    // the node lifecycle controller adds its unschedulable taint to the cordoned node, as on a cluster
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).taints.map((t) => t.key).sort()).toEqual([
      "node.kubernetes.io/unschedulable",
      "spot-manager/lifecycle",
      "spot-manager/rebalance",
      "spot-manager/spot-itn",
    ]);
  });
});

describe("rebalance recommendation with cordon", () => {
  it("does not uncordon a node another signal still needs cordoned", async () => {
    world = await createWorld({ startAt: "2024-05-14T06:27:58Z", policy: { rebalanceRecommendation: { cordon: true }, scheduledChange: { drain: false } } });
    const rebalance = fixture("rebalance");
    rebalance["time"] = "2024-05-14T06:27:50Z";
    await world.invoke(rebalance);
    await world.invoke(fixture("healthScheduledChange"));
    const followUp = world.aws.queuedFollowUps()[0]!.body;
    world.advance(16 * 60_000);
    const result = (await world.invoke(followUp)) as Direct;
    const node = nodeView(world.kube, DEMO_INTERRUPTED_NODE);
    // a maintenance taint holds the node: neither the rebalance taint nor the cordon comes off
    expect(result.reports[0]).toMatchObject({ outcome: "skipped", reason: "the node carries spot-manager/scheduled-maintenance=7fb65329-1628-4cf3-a740-95f4b57d1402" });
    expect(node.unschedulable).toBe(true);
    expect(node.taints.map((t) => t.key).sort()).toEqual(["node.kubernetes.io/unschedulable", "spot-manager/lifecycle", "spot-manager/rebalance", "spot-manager/scheduled-maintenance"]);
  });

  it("uncordons what it cordoned when nothing else holds the node", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:09:43Z", policy: { rebalanceRecommendation: { cordon: true } } });
    await world.invoke(fixture("rebalance"));
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).unschedulable).toBe(true);
    const followUp = world.aws.queuedFollowUps()[0]!.body;
    world.advance(900_000);
    await world.invoke(followUp);
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).unschedulable).toBe(false);
  });
});

describe("ASG lifecycle actions", () => {
  it("terminate: taints, cordons, drains with heartbeats, then completes with CONTINUE", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:23:12Z" });
    const response = await world.invoke(world.sqs(fixture("asgTerminate")));
    expect(response).toEqual({ batchItemFailures: [] });
    const node = nodeView(world.kube, DEMO_INTERRUPTED_NODE);
    expect(node.unschedulable).toBe(true);
    expect(node.taints).toContainEqual({ key: "spot-manager/asg-termination", value: "d6a1b3c9-4e2f-4a7b-b8c0-5f9e1d2a3b47", effect: "NoSchedule" });
    expect(podsOn(world.kube, DEMO_INTERRUPTED_NODE)).toHaveLength(2);
    expect(world.aws.autoscaling).toReceiveCommandWith(RecordLifecycleActionHeartbeatCommand, { AutoScalingGroupName: "my-asg", LifecycleHookName: "my-termination-lifecycle-hook", InstanceId: "i-1234567890abcdef0" });
    expect(world.aws.autoscaling).toReceiveCommandWith(CompleteLifecycleActionCommand, {
      AutoScalingGroupName: "my-asg",
      LifecycleHookName: "my-termination-lifecycle-hook",
      LifecycleActionToken: "87654321-4321-4321-4321-210987654321",
      InstanceId: "i-1234567890abcdef0",
      LifecycleActionResult: "CONTINUE",
    });
    // the completion comes after the drain: every eviction was already answered
    expect(world.recorder.total("LifecycleActionsCompleted", { result: "CONTINUE" })).toBe(1);
  });

  it("terminate: ABANDON only where configured; a redelivery after completion is fine", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:23:12Z", policy: { asgTerminate: { result: "ABANDON", drain: false } } });
    const body = fixture("asgTerminate");
    await world.invoke(world.sqs(body));
    const again = await world.invoke(world.sqs(body));
    expect(again).toEqual({ batchItemFailures: [] });
    expect(world.aws.autoscaling).toReceiveCommandWith(CompleteLifecycleActionCommand, { LifecycleActionResult: "ABANDON" });
  });

  it("terminate without a node still completes the lifecycle action", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:23:12Z" });
    world.aws.addInstance({ instanceId: "i-0ddddddddddddddd1", privateDnsName: "ip-10-0-9-9.us-west-2.compute.internal", availabilityZone: "us-west-2a", instanceType: "m6i.large", lifecycle: "on-demand", tags: { "eks:cluster-name": CLUSTER } });
    const event = fixture("asgTerminate");
    (event["detail"] as Record<string, string>)["EC2InstanceId"] = "i-0ddddddddddddddd1";
    const result = (await world.invoke(event)) as Direct;
    expect(result.reports[0]?.steps).toEqual(["nothing to drain (no node)", "complete lifecycle action CONTINUE"]);
    expect(world.aws.autoscaling).toReceiveCommandWith(CompleteLifecycleActionCommand, { InstanceId: "i-0ddddddddddddddd1" });
  });

  it("launch: waits for the node to be Ready, then completes with CONTINUE", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:25:44Z" });
    world.aws.addInstance({ instanceId: "i-0598c7d356eba48d7", privateDnsName: "ip-10-0-2-31.us-west-2.compute.internal", availabilityZone: "us-west-2b", instanceType: "m5.xlarge", lifecycle: "spot", tags: { "eks:cluster-name": CLUSTER } });
    const first = (await world.invoke(fixture("asgLaunch"))) as Direct;
    expect(first.reports[0]).toMatchObject({ outcome: "scheduled", reason: "node not registered yet" });
    expect(world.aws.autoscaling).not.toReceiveCommand(CompleteLifecycleActionCommand);
    const followUp = world.aws.queuedFollowUps()[0];
    expect(followUp?.delaySeconds).toBe(15);
    // the node joins the cluster
    await world.kube.seed({ namespaces: [], nodes: [nodeFixture({ name: "ip-10-0-2-31.us-west-2.compute.internal", instanceId: "i-0598c7d356eba48d7", zone: "us-west-2b", instanceType: "m5.xlarge", capacityType: "SPOT", nodegroup: "spot-general", internalIp: "10.0.2.31" })], pdbs: [], deployments: [], daemonSets: [], pods: [], mirrorPods: [] });
    world.advance(15_000);
    const second = (await world.invoke(followUp!.body)) as Direct;
    expect(second.reports[0]?.steps).toEqual(["complete lifecycle action CONTINUE (node Ready)"]);
    expect(world.aws.autoscaling).toReceiveCommandWith(CompleteLifecycleActionCommand, { LifecycleHookName: "my-launch-lifecycle-hook", LifecycleActionToken: "c2b4f5a8-1d3e-4f6a-9b7c-0e1d2f3a4b5c", LifecycleActionResult: "CONTINUE" });
  });

  it("launch: an instance EC2 does not describe yet is waited for, not dropped", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:25:44Z" });
    const result = (await world.invoke(fixture("asgLaunch"))) as Direct;
    expect(result.reports[0]).toMatchObject({ outcome: "scheduled", reason: "node not registered yet" });
    expect(world.aws.queuedFollowUps()[0]?.body).toMatchObject({ detail: { action: "check-launch-ready" } });
  });

  it("launch: abandons an instance whose node never became Ready", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:35:44Z" });
    world.aws.addInstance({ instanceId: "i-0598c7d356eba48d7", privateDnsName: "ip-10-0-2-31.us-west-2.compute.internal", availabilityZone: "us-west-2b", instanceType: "m5.xlarge", lifecycle: "spot", tags: { "eks:cluster-name": CLUSTER } });
    const result = (await world.invoke(fixture("asgLaunch"))) as Direct;
    expect(result.reports[0]?.steps).toEqual(["complete lifecycle action ABANDON (not Ready after 600 s)"]);
    expect(world.aws.autoscaling).toReceiveCommandWith(CompleteLifecycleActionCommand, { LifecycleActionResult: "ABANDON" });
  });

  it("launch: an instance EC2 still does not describe when the wait is over is left to the hook's own timeout", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:35:44Z" });
    const result = (await world.invoke(world.sqs(fixture("asgLaunch")))) as unknown;
    expect(result).toEqual({ batchItemFailures: [] });
    expect(world.aws.autoscaling).not.toReceiveCommand(CompleteLifecycleActionCommand);
    expect(world.recorder.total("EventsIgnored", { reason: "unknown-instance" })).toBe(1);
  });

  it("an action older than Auto Scaling's 48-hour limit is acknowledged as stale: nothing is drained or completed", async () => {
    world = await createWorld({ startAt: "2024-05-17T18:23:12Z" });
    world.aws.addInstance({ instanceId: "i-0598c7d356eba48d7", privateDnsName: "ip-10-0-2-31.us-west-2.compute.internal", availabilityZone: "us-west-2b", instanceType: "m5.xlarge", lifecycle: "spot", tags: { "eks:cluster-name": CLUSTER } });
    const before = nodeView(world.kube, DEMO_INTERRUPTED_NODE);
    const response = await world.invoke(world.sqs(fixture("asgTerminate"), fixture("asgLaunch")));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(world.aws.autoscaling).not.toReceiveCommand(CompleteLifecycleActionCommand);
    expect(world.aws.autoscaling).not.toReceiveCommand(RecordLifecycleActionHeartbeatCommand);
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE)).toEqual(before);
    expect(podsOn(world.kube, DEMO_INTERRUPTED_NODE)).not.toEqual([]);
    expect(world.recorder.total("EventsIgnored", { reason: "stale-event" })).toBe(2);
    expect(JSON.stringify(world.recorder.lines)).toMatch(/the lifecycle action of 2024-05-14T18:2\d:\d\d\.000Z is 7\d h old, past Auto Scaling's 48-hour limit/);
  });
});

describe("instance state changes", () => {
  it("shutting-down: cordons and drains what is left, deleting leftovers at its deadline", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:23:10Z" });
    world.aws.setState(DEMO_INTERRUPTED_INSTANCE, "shutting-down");
    await world.invoke(world.sqs(fixture("stateShuttingDown")));
    const node = nodeView(world.kube, DEMO_INTERRUPTED_NODE);
    expect(node.unschedulable).toBe(true);
    expect(node.taints).toContainEqual({ key: "spot-manager/instance-stopping", value: "a7e3c1d0-6b2f-4c8e-9a1d-3f5b7c9e0d26", effect: "NoSchedule" });
    expect(podsOn(world.kube, DEMO_INTERRUPTED_NODE)).toHaveLength(2);
  });

  it("terminated: records only by default, and adds the out-of-service taint when configured", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:24:03Z" });
    const plain = (await world.invoke(fixture("stateTerminated"))) as Direct;
    expect(plain.reports[0]?.steps).toEqual(["record"]);
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).taints.map((t) => t.key)).toEqual(["spot-manager/lifecycle"]);
    expect(eventsAbout(world.kube, DEMO_INTERRUPTED_NODE).map((e) => e.reason)).toEqual(["InstanceTerminated"]);
    await world.stop();
    world = await createWorld({ startAt: "2024-05-14T18:24:03Z", policy: { stateChange: { outOfServiceTaint: true } } });
    await world.invoke(fixture("stateTerminated"));
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).taints).toContainEqual(expect.objectContaining({ key: "node.kubernetes.io/out-of-service", value: "nodeshutdown", effect: "NoExecute" }));
  });

  it("stopping is handled like shutting-down; running needs nothing", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:23:10Z", policy: { stateChange: { drain: false } } });
    world.aws.setState(DEMO_INTERRUPTED_INSTANCE, "stopping");
    await world.invoke(fixture("stateStopping"));
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).unschedulable).toBe(true);
    const running = fixture("stateStopping");
    (running["detail"] as Record<string, string>)["state"] = "running";
    const result = (await world.invoke(running)) as Direct;
    expect(result.reports[0]).toMatchObject({ outcome: "skipped", reason: "not-applicable: instance state running needs no action" });
  });
});

describe("AWS Health scheduled maintenance", () => {
  it("cordons now and schedules the drain for the start time minus the lead time", async () => {
    world = await createWorld({ startAt: "2024-05-14T06:27:58Z" });
    const result = (await world.invoke(world.sqs(fixture("healthScheduledChange")))) as unknown;
    expect(result).toEqual({ batchItemFailures: [] });
    const node = nodeView(world.kube, DEMO_INTERRUPTED_NODE);
    expect(node.unschedulable).toBe(true);
    expect(node.taints).toContainEqual({ key: "spot-manager/scheduled-maintenance", value: "7fb65329-1628-4cf3-a740-95f4b57d1402", effect: "NoSchedule" });
    expect(podsOn(world.kube, DEMO_INTERRUPTED_NODE).length).toBeGreaterThan(2);
    expect(world.aws.scheduler).toReceiveCommandWith(CreateScheduleCommand, {
      ScheduleExpression: "at(2024-05-28T08:00:00)",
      ScheduleExpressionTimezone: "UTC",
      ActionAfterCompletion: "DELETE",
      Target: expect.objectContaining({ Arn: QUEUE_ARN }),
    });
  });

  it("drains when the scheduled follow-up arrives", async () => {
    world = await createWorld({ startAt: "2024-05-14T06:27:58Z" });
    await world.invoke(fixture("healthScheduledChange"));
    const input = world.aws.scheduler.commandCalls(CreateScheduleCommand)[0]!.args[0].input.Target!.Input!;
    world.advance(Date.parse("2024-05-28T08:00:01Z") - world.now());
    await world.invoke(world.sqs(input));
    expect(podsOn(world.kube, DEMO_INTERRUPTED_NODE)).toHaveLength(2);
    expect(eventsAbout(world.kube, DEMO_INTERRUPTED_NODE).map((e) => e.reason)).toEqual(["ScheduledMaintenance", "DrainStarted", "DrainSucceeded"]);
  });
});

describe("what is acknowledged, what is retried", () => {
  it("acknowledges foreign, unknown and malformed records with a logged reason and a metric", async () => {
    world = await createWorld();
    world.aws.addInstance({ instanceId: "i-0eeeeeeeeeeeeeee1", privateDnsName: "ip-10-9-9-9.us-west-2.compute.internal", availabilityZone: "us-west-2a", instanceType: "m6i.large", lifecycle: "spot", tags: { "eks:cluster-name": "another-cluster" } });
    const foreign = fixture("spotInterruption");
    (foreign["detail"] as Record<string, string>)["instance-id"] = "i-0eeeeeeeeeeeeeee1";
    const unknown = fixture("spotInterruption");
    (unknown["detail"] as Record<string, string>)["instance-id"] = "i-0000000000000dead";
    const response = await world.invoke(world.sqs(foreign, unknown, "{not json", fixture("codebuildStateChange")));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(world.recorder.total("EventsIgnored", { reason: "foreign-instance" })).toBe(1);
    expect(world.recorder.total("EventsIgnored", { reason: "unknown-instance" })).toBe(1);
    expect(world.recorder.total("EventsIgnored", { reason: "malformed-event" })).toBe(1);
    expect(world.recorder.total("EventsIgnored", { reason: "unsupported-event" })).toBe(1);
    expect(world.recorder.lines.filter((l) => l.message === "event acknowledged without action")).toHaveLength(4);
    expect(world.kube.stats.log.filter((r) => r.verb !== "get" && r.verb !== "list")).toEqual([]);
    expect(world.aws.sns).not.toReceiveCommand(PublishCommand);
  });

  it("returns only the failing record to the queue when the API keeps failing for it", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:09:43Z" });
    world.kube.faults.add({ match: { method: "PATCH", path: "ip-10-0-2-22" }, effect: { kind: "status", code: 503 } });
    const broken = fixture("rebalance");
    (broken["detail"] as Record<string, string>)["instance-id"] = "i-0b2c3d4e5f6a70022";
    broken["id"] = "0000-broken";
    const batch = world.sqs(fixture("rebalance"), broken);
    const response = await world.invoke(batch);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: batch.Records[1]!.messageId }] });
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).taints.map((t) => t.key)).toContain("spot-manager/rebalance");
    expect(world.recorder.total("RecordsRetried")).toBe(1);
    // it comes back after a short backoff, not after the queue's 30-minute visibility timeout
    expect(world.aws.sqs).toReceiveCommandWith(ChangeMessageVisibilityCommand, { QueueUrl: QUEUE_URL, ReceiptHandle: batch.Records[1]!.receiptHandle, VisibilityTimeout: 5 });
  });

  it("a drain that outlives the function continues in a fresh follow-up message, and finishes there", async () => {
    // Prepare: the first invocation has about 2 s to drain, and the API refuses evictions meanwhile
    world = await createWorld();
    world.kube.faults.add({ match: { resource: "pods/eviction" }, effect: { kind: "status", code: 429, retryAfterSeconds: 1 }, times: 20 });
    const batch = world.sqs(fixture("spotInterruption"));
    // Act
    const first = await world.invoke(batch, 22_000);
    // Assess: acknowledged (no receive used up), the rest handed to a follow-up a few seconds later (never at once)
    expect(first).toEqual({ batchItemFailures: [] });
    expect(eventsAbout(world.kube, DEMO_INTERRUPTED_NODE).map((e) => e.reason)).toContain("DrainIncomplete");
    const [followUp] = world.aws.queuedFollowUps();
    expect(followUp).toMatchObject({ delaySeconds: 5, body: { detail: { action: "continue-drain", attempt: 1, event: { eventId: "3f4c2e8a-9d1b-4b6e-8f0a-2c7d5e1b9a34" } } } });
    // Act: the follow-up arrives when due; the faults are used up
    world.kube.faults.clear();
    world.advance(5_000);
    const second = await world.invoke(world.sqs(followUp!.body));
    // Assess: the same drain finishes; nothing is started twice
    expect(second).toEqual({ batchItemFailures: [] });
    expect(podsOn(world.kube, DEMO_INTERRUPTED_NODE)).toHaveLength(2);
    expect(world.aws.notifications().map((n) => n["phase"])).toEqual(["start", "end"]);
    expect(world.recorder.total("SpotInterruptions")).toBe(1);
  });
});
