/**
 * The bad days, driven through the real handler against kube-local: pods no eviction can move,
 * stale and duplicate events, two invocations racing on one node, a slow API, a cold start that
 * fails, a dependency that refuses for good. Each case was a defect before; each report here says
 * no more than happened.
 */
import { CompleteLifecycleActionCommand, RecordLifecycleActionHeartbeatCommand } from "@aws-sdk/client-auto-scaling";
import { DescribeClusterCommand } from "@aws-sdk/client-eks";
import { ChangeMessageVisibilityCommand } from "@aws-sdk/client-sqs";
import { CoreV1Api, KubeConfig, PolicyV1Api } from "@kubernetes/client-node";
import { syntheticEvent } from "@spot-manager/core";
import { DEMO_INTERRUPTED_INSTANCE, DEMO_INTERRUPTED_NODE, type KubeLocal } from "@spot-manager/kube-local";
import type { SQSBatchResponse } from "aws-lambda";
import { afterEach, describe, expect, it } from "vitest";
import type { DirectResult } from "../../functions/interruption";
import { fixture } from "../fixtures";
import { createWorld, DLQ_URL, eventsAbout, nodeView, podsOn, QUEUE_ARN, QUEUE_URL, type World } from "./world";

let world: World | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

const SPOT_EVENT = "3f4c2e8a-9d1b-4b6e-8f0a-2c7d5e1b9a34";

function clients(kube: KubeLocal) {
  const kc = new KubeConfig();
  kc.loadFromString(JSON.stringify(kube.kubeconfig()));
  return { core: kc.makeApiClient(CoreV1Api), policy: kc.makeApiClient(PolicyV1Api) };
}

const ended = (w: World) => w.aws.notifications().filter((n) => n["phase"] === "end");
const reasonsOn = (w: World) => eventsAbout(w.kube, DEMO_INTERRUPTED_NODE).map((e) => e.reason);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("pods no eviction can move", () => {
  it("an ASG scale-in where a pod matches two budgets ends in one invocation: the pod is left with the API's reason, no follow-up loop", async () => {
    // Prepare: a second budget over checkout makes every checkout eviction a 500
    world = await createWorld({ startAt: "2024-05-14T18:23:12Z" });
    await clients(world.kube).policy.createNamespacedPodDisruptionBudget({
      namespace: "shop",
      body: { metadata: { name: "checkout-too" }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: "checkout" } } } },
    });
    await world.kube.idle();
    // Act: the function has 60 s, the hook allows 15 minutes
    const response = await world.invoke(world.sqs(fixture("asgTerminate")), 60_000);
    // Assess: acknowledged, completed, and no continuation chain
    expect(response).toEqual({ batchItemFailures: [] });
    expect(world.aws.queuedFollowUps()).toEqual([]);
    expect(world.aws.autoscaling).toReceiveCommandTimes(CompleteLifecycleActionCommand, 1);
    expect(world.aws.autoscaling).toReceiveCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
    const [end] = ended(world);
    const left = (end?.["drain"] as { complete: boolean; left: { pod: string; reason: string; why: string }[] } | undefined)!;
    expect(left.complete).toBe(false);
    expect(left.left.length).toBeGreaterThan(0);
    for (const pod of left.left) {
      expect(pod.pod).toMatch(/^shop\/checkout-/);
      expect(pod).toMatchObject({ reason: "eviction-refused", why: "eviction refused: This pod has more than one PodDisruptionBudget, which the eviction subresource does not support." });
    }
    expect(end?.["invocations"]).toBe(1);
    expect(world.recorder.total("InvocationsPerEvent")).toBe(1);
    expect(reasonsOn(world)).not.toContain("DrainSucceeded");
    expect(reasonsOn(world).filter((r) => r === "DrainIncomplete")).toHaveLength(1);
    // each checkout pod was asked once: a permanent refusal is not retried
    const checkoutEvictions = world.kube.stats.log.filter((r) => r.resource === "pods/eviction" && r.path.includes("/checkout-"));
    expect(checkoutEvictions.map((r) => r.status)).toEqual(left.left.map(() => 500));
  });

  it("an admission webhook's denial is recorded against its pod; the others move and the drain ends", async () => {
    world = await createWorld();
    world.kube.faults.add({
      match: { resource: "pods/eviction", path: "/pods/debug-shell/" },
      effect: { kind: "status", code: 400, message: 'admission webhook "no-evict.example.com" denied the request: debug shells stay' },
    });
    const response = await world.invoke(world.sqs(fixture("spotInterruption")), 60_000);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(world.aws.queuedFollowUps()).toEqual([]);
    expect(podsOn(world.kube, DEMO_INTERRUPTED_NODE)).toEqual(expect.arrayContaining(["shop/debug-shell"]));
    expect(podsOn(world.kube, DEMO_INTERRUPTED_NODE)).toHaveLength(3);
    const drain = ended(world)[0]?.["drain"] as { complete: boolean; left: unknown[] };
    expect(drain.complete).toBe(false);
    expect(drain.left).toEqual([
      { pod: "shop/debug-shell", reason: "eviction-refused", why: 'eviction refused: HTTP 400: admission webhook "no-evict.example.com" denied the request: debug shells stay' },
    ]);
    expect(world.recorder.total("PodsLeft")).toBe(1);
  });
});

describe("events that no longer apply touch nothing", () => {
  it("a stopping event eleven minutes old, for an instance EC2 runs again, neither cordons nor deletes", async () => {
    // Prepare: the stop happened at 18:23:09; EC2 reports the instance running
    world = await createWorld({ startAt: "2024-05-14T18:34:09Z" });
    const before = podsOn(world.kube, DEMO_INTERRUPTED_NODE);
    // Act
    const result = (await world.invoke(fixture("stateStopping"))) as DirectResult;
    // Assess
    expect(result.reports[0]).toMatchObject({ outcome: "skipped" });
    expect(result.reports[0]?.reason).toMatch(/^stale-event: EC2 reports i-1234567890abcdef0 running now: the stopping event of 2024-05-14T18:23:09.000Z no longer applies$/);
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE)).toMatchObject({ unschedulable: false });
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).taints.map((t) => t.key)).toEqual(["spot-manager/lifecycle"]);
    expect(podsOn(world.kube, DEMO_INTERRUPTED_NODE)).toEqual(before);
    expect(world.kube.stats.count("delete", "pods") + world.kube.stats.count("create", "pods/eviction")).toBe(0);
    expect(reasonsOn(world)).toEqual([]);
    expect(world.recorder.total("EventsIgnored", { reason: "stale-event" })).toBe(1);
  });

  it("a warning delivered after its deadline starts nothing; with the leave policy nothing happens at all", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:23:30Z" });
    const result = (await world.invoke(fixture("spotInterruption"))) as DirectResult;
    expect(result.reports[0]?.outcome).toBe("skipped");
    expect(result.reports[0]?.reason).toMatch(/^stale-event: received after its deadline/);
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).unschedulable).toBe(false);
    expect(world.kube.stats.count("create", "pods/eviction")).toBe(0);
    expect(world.aws.notifications()).toEqual([]);
  });

  it("with taintStyle nth a stop is cordoned and drained without NTH's spot-itn taint, as NTH does", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:23:10Z", policy: { taintStyle: "nth", stateChange: { drain: false } } });
    world.aws.setState(DEMO_INTERRUPTED_INSTANCE, "stopping");
    await world.invoke(fixture("stateStopping"));
    const node = nodeView(world.kube, DEMO_INTERRUPTED_NODE);
    expect(node.unschedulable).toBe(true);
    expect(node.taints.map((t) => t.key).filter((k) => k.startsWith("aws-node-termination-handler/"))).toEqual([]);
  });
});

describe("a stop or hibernate interruption is undone when the instance runs again", () => {
  it("removes the interruption's taint and uncordons once EC2 runs the instance after its stop", async () => {
    // Prepare
    world = await createWorld({ policy: { spotInterruption: { drain: false } } });
    const warning = fixture("spotInterruption");
    (warning["detail"] as Record<string, string>)["instance-action"] = "stop";
    await world.invoke(warning);
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).unschedulable).toBe(true);
    // Act: the first check finds the instance stopped; the next, running again
    const [check] = world.aws.queuedFollowUps();
    expect(check?.body).toMatchObject({ detail: { action: "check-restarted" } });
    world.aws.setState(DEMO_INTERRUPTED_INSTANCE, "stopped");
    world.advance(7 * 60_000);
    const stillStopped = (await world.invoke(check!.body)) as DirectResult;
    const next = world.aws.queuedFollowUps()[1];
    world.aws.setState(DEMO_INTERRUPTED_INSTANCE, "running", new Date(world.now()));
    world.advance(5 * 60_000);
    const running = (await world.invoke(next!.body)) as DirectResult;
    // Assess
    expect(stillStopped.reports[0]).toMatchObject({ outcome: "scheduled", reason: "instance is stopped" });
    expect(running.reports[0]).toMatchObject({ outcome: "done", reason: "instance runs again" });
    const node = nodeView(world.kube, DEMO_INTERRUPTED_NODE);
    expect(node.unschedulable).toBe(false);
    expect(node.taints.map((t) => t.key)).not.toContain("spot-manager/spot-itn");
    expect(reasonsOn(world)).toContain("InstanceRestarted");
  });

  it("leaves the node cordoned when another signal holds it", async () => {
    world = await createWorld({ startAt: "2024-05-14T06:27:58Z", policy: { spotInterruption: { drain: false }, scheduledChange: { drain: false } } });
    await world.invoke(fixture("healthScheduledChange"));
    const warning = fixture("spotInterruption");
    warning["time"] = "2024-05-14T06:27:59Z";
    (warning["detail"] as Record<string, string>)["instance-action"] = "hibernate";
    world.advance(2_000);
    await world.invoke(warning);
    const check = world.aws.queuedFollowUps().find((f) => (f.body["detail"] as { action?: string }).action === "check-restarted");
    world.aws.setState(DEMO_INTERRUPTED_INSTANCE, "running", new Date(world.now() + 60_000));
    world.advance(10 * 60_000);
    const result = (await world.invoke(check!.body)) as DirectResult;
    expect(result.reports[0]?.outcome).toBe("skipped");
    expect(result.reports[0]?.reason).toMatch(/node left as it is: the node carries spot-manager\/scheduled-maintenance=/);
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).unschedulable).toBe(true);
  });
});

describe("races across invocations", () => {
  it("the rebalance-taint removal in one container never uncordons a node a spot interruption in another just tainted", async () => {
    // Prepare: the recommendation cordoned the node; its removal is due just before the warning arrives
    world = await createWorld({ startAt: "2024-05-14T18:09:43Z", policy: { rebalanceRecommendation: { cordon: true, removeTaintAfterSeconds: 690 }, spotInterruption: { drain: false } } });
    await world.invoke(fixture("rebalance"));
    const removal = world.aws.queuedFollowUps()[0]!.body;
    world.advance(690_000);
    await world.kube.idle();
    // the removal's patch is held up for a moment, so the interruption's lands between its read and its write
    world.kube.faults.add({ match: { method: "PATCH", resource: "nodes" }, effect: { kind: "latency", ms: 700 }, times: 1 });
    const other = world.container();
    // Act
    const removing = world.invoke(removal);
    await sleep(200);
    const interrupting = other(world.sqs(fixture("spotInterruption")));
    const [removed] = (await Promise.all([removing, interrupting])) as [DirectResult, SQSBatchResponse];
    // Assess: the removal saw the interruption after its 409 and left the node as it was
    const node = nodeView(world.kube, DEMO_INTERRUPTED_NODE);
    expect(node.unschedulable).toBe(true);
    expect(node.taints.map((t) => t.key)).toEqual(expect.arrayContaining(["spot-manager/spot-itn", "spot-manager/rebalance"]));
    expect(removed.reports[0]).toMatchObject({ outcome: "skipped", reason: "an interruption followed the recommendation" });
    expect(world.kube.stats.log.some((r) => r.method === "PATCH" && r.status === 409)).toBe(true);
  });

  it("copies of one event, in one batch and in a parallel container, count once in metrics, notifications, Events and evictions", async () => {
    // Prepare
    world = await createWorld();
    const warning = fixture("spotInterruption");
    const other = world.container();
    const toMove = podsOn(world.kube, DEMO_INTERRUPTED_NODE).filter((p) => !p.startsWith("kube-system/aws-node-") && !p.startsWith("kube-system/static-log-agent"));
    // Act
    const [batch, single] = (await Promise.all([world.invoke(world.sqs(warning, warning)), other(world.sqs(warning))])) as SQSBatchResponse[];
    // Assess
    expect(batch).toEqual({ batchItemFailures: [] });
    expect(single).toEqual({ batchItemFailures: [] });
    expect(world.recorder.total("SpotInterruptions")).toBe(1);
    expect(world.recorder.total("NodesCordoned")).toBe(1);
    expect(world.recorder.total("PodsEvicted")).toBe(toMove.length);
    expect(world.recorder.total("EventsIgnored", { reason: "duplicate" })).toBe(2);
    expect(world.aws.notifications().map((n) => n["phase"])).toEqual(["start", "end"]);
    const reasons = reasonsOn(world);
    expect(reasons.filter((r) => r === "SpotInterruption")).toHaveLength(1);
    expect(reasons.filter((r) => r === "DrainStarted")).toHaveLength(1);
    expect(reasons.filter((r) => r === "DrainSucceeded")).toHaveLength(1);
    const evictedEvents = world.kube.list("events").filter((e) => e["reason"] === "Evicted");
    expect(evictedEvents).toHaveLength(toMove.length);
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).annotations["spot-manager/events"]).toBe(`spot-interruption/${SPOT_EVENT}#0`);
  });

  it("a redelivered message (its earlier receive did not finish) resumes the work instead of taking itself for a duplicate", async () => {
    world = await createWorld({ policy: { spotInterruption: { drain: false } } });
    const warning = fixture("spotInterruption");
    await world.invoke(world.sqs(warning));
    const again = (await world.invoke(world.redelivered(2, warning))) as SQSBatchResponse;
    expect(again).toEqual({ batchItemFailures: [] });
    expect(world.recorder.total("EventsIgnored", { reason: "duplicate" })).toBe(0);
    expect(world.recorder.total("SpotInterruptions")).toBe(1);
    expect(world.aws.notifications().map((n) => n["phase"])).toEqual(["start", "end", "end"]);
  });
});

describe("a slow or failing control plane and AWS", () => {
  it("with a Kubernetes API that answers a GET node in 16 s, the cordon is still made well inside the warning's two minutes", { timeout: 60_000 }, async () => {
    world = await createWorld({ policy: { spotInterruption: { drain: false } } });
    world.kube.faults.add({ match: { verb: "get", resource: "nodes" }, effect: { kind: "latency", ms: 16_000 } });
    const started = Date.now();
    const response = await world.invoke(world.sqs(fixture("spotInterruption")));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).unschedulable).toBe(true);
    expect(Date.now() - started).toBeLessThan(35_000);
    // one slow read, not a timeout and five retries
    expect(world.kube.stats.count("get", "nodes")).toBe(1);
  });

  it("a cold start whose DescribeCluster is throttled hands the whole batch back within seconds, and the next invocation works", async () => {
    const throttled = Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException", $fault: "client", $metadata: { httpStatusCode: 429 } });
    world = await createWorld({
      viaEks: true,
      clusterFailures: [throttled],
      kube: {
        seed: "demo",
        simulation: { timeScale: 0.01, podStartupSeconds: 0.5 },
        tokenReviewer: (token) => (token.startsWith("k8s-aws-v1.") ? { user: "spot-manager", groups: ["system:masters"] } : undefined),
      },
    });
    const batch = world.sqs(fixture("spotInterruption"), fixture("rebalance"));
    const first = (await world.invoke(batch)) as SQSBatchResponse;
    expect(first.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(batch.Records.map((r) => r.messageId));
    for (const record of batch.Records) {
      expect(world.aws.sqs).toReceiveCommandWith(ChangeMessageVisibilityCommand, { QueueUrl: QUEUE_URL, ReceiptHandle: record.receiptHandle, VisibilityTimeout: 5 });
    }
    expect(world.recorder.lines.some((l) => l.level === "ERROR" && l.message.startsWith("the function could not start"))).toBe(true);
    const second = await world.invoke(world.redelivered(2, fixture("spotInterruption")));
    expect(second).toEqual({ batchItemFailures: [] });
    expect(world.aws.eks).toReceiveCommandTimes(DescribeClusterCommand, 2);
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).unschedulable).toBe(true);
  });

  it("a permanent AWS error (access denied) sends the record straight to the dead-letter queue with the reason", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:23:12Z" });
    const denied = Object.assign(new Error("User: arn:aws:sts::123456789012:assumed-role/spot-manager/fn is not authorized to perform: autoscaling:CompleteLifecycleAction"), {
      name: "AccessDenied",
      $fault: "client",
      $metadata: { httpStatusCode: 403 },
    });
    world.aws.autoscaling.on(CompleteLifecycleActionCommand).rejects(denied);
    const batch = world.sqs(fixture("asgTerminate"));
    const response = await world.invoke(batch);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(world.aws.deadLettered()).toEqual([
      { queueUrl: DLQ_URL, body: batch.Records[0]!.body, errorCode: "AccessDenied", error: expect.stringContaining("not authorized to perform: autoscaling:CompleteLifecycleAction"), sourceMessageId: batch.Records[0]!.messageId },
    ]);
    expect(world.aws.autoscaling).toReceiveCommandTimes(CompleteLifecycleActionCommand, 1);
    expect(world.recorder.total("RecordsDeadLettered")).toBe(1);
    expect(world.recorder.total("RecordsRetried")).toBe(0);
    expect(world.aws.sqs).not.toReceiveCommand(ChangeMessageVisibilityCommand);
  });

  it("without a dead-letter queue URL the permanent failure comes back at once, so the receive count takes it there", async () => {
    world = await createWorld({ startAt: "2024-05-14T18:23:12Z", deadLetterQueueUrl: null });
    world.aws.autoscaling.on(CompleteLifecycleActionCommand).rejects(Object.assign(new Error("denied"), { name: "AccessDenied", $fault: "client", $metadata: { httpStatusCode: 403 } }));
    const batch = world.sqs(fixture("asgTerminate"));
    const response = await world.invoke(batch);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: batch.Records[0]!.messageId }] });
    expect(world.aws.sqs).toReceiveCommandWith(ChangeMessageVisibilityCommand, { VisibilityTimeout: 0 });
  });
});

describe("a drain that outlives the function", () => {
  it("continues a few seconds later, later each time, heartbeats and Events once per continuation, and stops at the cap", async () => {
    // Prepare: evictions are refused for as long as it lasts; the function has ~2 s per invocation
    world = await createWorld({ startAt: "2024-05-14T18:23:12Z", policy: { continuation: { maxInvocations: 3 } } });
    world.kube.faults.add({ match: { resource: "pods/eviction" }, effect: { kind: "status", code: 429, retryAfterSeconds: 1 } });
    // Act
    await world.invoke(world.sqs(fixture("asgTerminate")), 22_000);
    const [first] = world.aws.queuedFollowUps();
    world.advance(5_000);
    await world.invoke(world.sqs(first!.body), 22_000);
    const [, second] = world.aws.queuedFollowUps();
    world.advance(10_000);
    const last = (await world.invoke(second!.body, 22_000)) as DirectResult;
    // Assess
    expect(world.aws.queuedFollowUps().map((f) => f.delaySeconds)).toEqual([5, 10]);
    expect(world.aws.queuedFollowUps().map((f) => (f.body["detail"] as { attempt: number }).attempt)).toEqual([1, 2]);
    expect(last.reports[0]).toMatchObject({ outcome: "done", invocations: 3 });
    expect(world.recorder.total("InvocationsPerEvent")).toBe(3);
    expect(reasonsOn(world).filter((r) => r === "DrainIncomplete")).toHaveLength(3);
    expect(reasonsOn(world).filter((r) => r === "DrainStarted")).toHaveLength(1);
    // one at the start, one at each hand-over
    expect(world.aws.autoscaling).toReceiveCommandTimes(RecordLifecycleActionHeartbeatCommand, 3);
    expect(world.aws.autoscaling).toReceiveCommandTimes(CompleteLifecycleActionCommand, 1);
    expect(ended(world)).toHaveLength(1);
    expect(ended(world)[0]).toMatchObject({ invocations: 3, drain: { complete: false } });
  });
});

describe("malformed records", () => {
  it("a record without a body is acknowledged as malformed, and a null body says null", async () => {
    world = await createWorld();
    const record = (body: string | undefined, id: string) => ({
      messageId: id,
      receiptHandle: `h-${id}`,
      ...(body === undefined ? {} : { body }),
      attributes: { ApproximateReceiveCount: "1" },
      messageAttributes: {},
      eventSource: "aws:sqs",
      eventSourceARN: QUEUE_ARN,
      awsRegion: "us-west-2",
    });
    const response = await world.invoke({ Records: [record(undefined, "no-body"), record("null", "null-body")] });
    expect(response).toEqual({ batchItemFailures: [] });
    const skipped = world.recorder.lines.filter((l) => l.message === "event acknowledged without action").map((l) => String(l.extra["detail"]));
    expect(skipped).toEqual(expect.arrayContaining(["record has no body", "message must be a JSON object, got null"]));
  });
});

describe("a mass reclaim", () => {
  it("cordons every node of a batch before the first eviction of any of them", async () => {
    // Prepare: warnings for every spot node of the cluster, in one batch
    world = await createWorld();
    const spot = world.kube.list("nodes").filter((n) => n.metadata.labels?.["eks.amazonaws.com/capacityType"] === "SPOT");
    const warnings = spot.map((n) => {
      const instanceId = /\/(i-[0-9a-f]+)$/.exec(String((n["spec"] as { providerID?: string }).providerID))![1]!;
      return syntheticEvent("spot-itn", { instanceId, now: new Date(world!.now()), region: "us-west-2", account: "123456789012" });
    });
    // Act
    const response = await world.invoke(world.sqs(...warnings), 26_000);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(spot.length).toBeGreaterThan(1);
    const log = world.kube.stats.log;
    const cordons = log.map((r, i) => ({ r, i })).filter(({ r }) => r.method === "PATCH" && r.resource === "nodes" && r.status === 200 && spot.some((n) => r.path.includes(n.metadata.name ?? "")));
    const firstEviction = log.findIndex((r) => r.resource === "pods/eviction");
    expect(new Set(cordons.map(({ r }) => r.path.split("?")[0])).size).toBe(spot.length);
    expect(firstEviction).toBeGreaterThan(-1);
    expect(Math.max(...cordons.map(({ i }) => i))).toBeLessThan(firstEviction);
  });
});
