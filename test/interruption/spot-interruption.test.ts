import { CompleteLifecycleActionCommand } from "@aws-sdk/client-auto-scaling";
import { DescribeInstancesCommand } from "@aws-sdk/client-ec2";
import { PublishCommand } from "@aws-sdk/client-sns";
import { DEMO_INTERRUPTED_NODE } from "@spot-manager/kube-local";
import { afterEach, describe, expect, it } from "vitest";
import { fixture } from "../fixtures";
import { createWorld, eventsAbout, nodeView, podsOn, TOPIC_ARN, type World } from "./world";

let world: World | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

const EVENT_ID = "3f4c2e8a-9d1b-4b6e-8f0a-2c7d5e1b9a34";

describe("spot interruption warning through SQS", () => {
  it("taints, cordons and drains the node before the deadline, and reports", async () => {
    // Prepare
    world = await createWorld();
    const record = fixture<{ Records: { body: string }[] }>("sqsRecord").Records[0]!;
    // Act
    const response = await world.invoke(world.sqs(record.body));
    // Assess: the cluster
    expect(response).toEqual({ batchItemFailures: [] });
    const node = nodeView(world.kube, DEMO_INTERRUPTED_NODE);
    expect(node.unschedulable).toBe(true);
    expect(node.taints).toContainEqual({ key: "spot-manager/spot-itn", value: EVENT_ID, effect: "NoSchedule" });
    expect(podsOn(world.kube, DEMO_INTERRUPTED_NODE)).toEqual([
      expect.stringMatching(/^kube-system\/aws-node-/),
      `kube-system/static-log-agent-${DEMO_INTERRUPTED_NODE}`,
    ]);
    const storefront = world.kube.list("pods", "shop").filter((p) => p.metadata.name?.startsWith("storefront-") && !p.metadata.deletionTimestamp);
    expect(storefront).toHaveLength(6);
    const reasons = eventsAbout(world.kube, DEMO_INTERRUPTED_NODE).map((e) => e.reason);
    expect(reasons).toEqual(["SpotInterruption", "DrainStarted", "DrainSucceeded"]);
    expect(world.kube.list("events", "shop").filter((e) => e["reason"] === "Evicted")).toHaveLength(5);
    // Assess: what AWS was asked
    expect(world.aws.ec2).toReceiveCommandWith(DescribeInstancesCommand, { InstanceIds: ["i-1234567890abcdef0"] });
    expect(world.aws.autoscaling).not.toReceiveCommand(CompleteLifecycleActionCommand);
    expect(world.aws.sns).toReceiveCommandTimes(PublishCommand, 2);
    expect(world.aws.sns).toReceiveCommandWith(PublishCommand, { TopicArn: TOPIC_ARN, MessageAttributes: expect.objectContaining({ phase: { DataType: "String", StringValue: "end" } }) });
    const [start, end] = world.aws.notifications();
    expect(start).toMatchObject({ phase: "start", kind: "spot-interruption", eventId: EVENT_ID, instanceId: "i-1234567890abcdef0", node: DEMO_INTERRUPTED_NODE, deadline: "2024-05-14T18:23:07.000Z" });
    expect(end).toMatchObject({ phase: "end", outcome: "done", deadlineMet: true, drain: { evicted: 5, forceDeleted: 0, remaining: [], complete: true } });
    // Assess: metrics and logs
    expect(world.recorder.total("EventsReceived", { kind: "spot-interruption" })).toBe(1);
    expect(world.recorder.total("NodesCordoned")).toBe(1);
    expect(world.recorder.total("PodsEvicted")).toBe(5);
    expect(world.recorder.total("DeadlineMisses")).toBe(0);
    // counted per capacity group, for the capacity manager's spot health
    expect(world.recorder.total("SpotInterruptions", { group: "spot-general" })).toBe(1);
    expect(world.recorder.points.find((p) => p.name === "SecondsLeftAtFinish")?.value).toBeGreaterThan(100);
    const actionLines = world.recorder.lines.filter((l) => l.extra["eventId"] === EVENT_ID);
    expect(actionLines.length).toBeGreaterThan(2);
    expect(actionLines.filter((l) => l.message !== "event received").every((l) => l.extra["instanceId"] === "i-1234567890abcdef0" && l.extra["node"] === DEMO_INTERRUPTED_NODE)).toBe(true);
  });

  it("cordons within 3 Kubernetes API requests after resolution", async () => {
    world = await createWorld({ policy: { spotInterruption: { drain: false } } });
    const response = (await world.invoke(fixture("spotInterruption"))) as { reports: { requestsToCordon?: number; steps: string[] }[] };
    expect(response.reports[0]?.requestsToCordon).toBeLessThanOrEqual(3);
    expect(response.reports[0]?.steps).toEqual([`taint spot-manager/spot-itn=${EVENT_ID}:NoSchedule`, "cordon"]);
  });

  it("a redelivered warning finishes the job without repeating anything", async () => {
    world = await createWorld();
    const body = JSON.stringify(fixture("spotInterruption"));
    await world.invoke(world.sqs(body));
    const versionAfterFirst = world.kube.get("nodes", undefined, DEMO_INTERRUPTED_NODE)?.metadata.resourceVersion;
    const evictionsAfterFirst = world.kube.stats.count("create", "pods/eviction");
    const response = await world.invoke(world.sqs(body));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(world.kube.get("nodes", undefined, DEMO_INTERRUPTED_NODE)?.metadata.resourceVersion).toBe(versionAfterFirst);
    expect(world.kube.stats.count("create", "pods/eviction")).toBe(evictionsAfterFirst);
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).taints.filter((t) => t.key === "spot-manager/spot-itn")).toHaveLength(1);
  });

  it("uses aws-node-termination-handler's taint keys when the stage asks for them", async () => {
    world = await createWorld({ policy: { taintStyle: "nth", spotInterruption: { drain: false } } });
    await world.invoke(fixture("spotInterruption"));
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).taints).toContainEqual({ key: "aws-node-termination-handler/spot-itn", value: EVENT_ID, effect: "NoSchedule" });
  });

  it("in a dry run changes nothing anywhere and reports what it would do", async () => {
    world = await createWorld({ policy: { dryRun: true } });
    const before = JSON.stringify(world.kube.list("nodes")) + JSON.stringify(world.kube.list("pods"));
    const result = (await world.invoke(fixture("spotInterruption"))) as { reports: { outcome: string; steps: string[] }[] };
    expect(JSON.stringify(world.kube.list("nodes")) + JSON.stringify(world.kube.list("pods"))).toBe(before);
    expect(world.kube.stats.log.filter((r) => r.verb !== "get" && r.verb !== "list")).toEqual([]);
    expect(world.aws.sns).not.toReceiveCommand(PublishCommand);
    // a drill must never look like an interruption to the capacity manager
    expect(world.recorder.total("SpotInterruptions")).toBe(0);
    expect(result.reports[0]?.outcome).toBe("dry-run");
    expect(result.reports[0]?.steps).toEqual([
      `would taint spot-manager/spot-itn=${EVENT_ID}:NoSchedule`,
      "would cordon",
      expect.stringMatching(/^would drain before 2024-05-14T18:22:57/),
      expect.stringMatching(/^would evict 5 pods: .*shop\/debug-shell/),
    ]);
  });
});
