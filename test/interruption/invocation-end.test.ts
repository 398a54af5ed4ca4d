/**
 * An invocation's work ends with it. Whatever the handler started for a record (evictions, waits
 * for pods to go, budget backoffs, replacement requests, room checks, heartbeats) is over when it
 * answers, also when a record goes back to the queue: on Lambda, work still pending at the answer
 * is frozen with the container and runs on in its next invocation, on nodes whose events were
 * handed back.
 */
import { RecordLifecycleActionHeartbeatCommand } from "@aws-sdk/client-auto-scaling";
import { DEMO_INTERRUPTED_INSTANCE, DEMO_INTERRUPTED_NODE, findResource, type KubeLocal, type ResourceType } from "@spot-manager/kube-local";
import type { SQSBatchResponse } from "aws-lambda";
import { afterEach, describe, expect, it } from "vitest";
import { fixture } from "../fixtures";
import { createWorld, podsOn, type World } from "./world";

let world: World | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The demo cluster's spot instances, each with a warning of its own. */
const SPOT = [
  { instanceId: DEMO_INTERRUPTED_INSTANCE, node: DEMO_INTERRUPTED_NODE, eventId: "3f4c2e8a-9d1b-4b6e-8f0a-2c7d5e1b9a34" },
  { instanceId: "i-0b2c3d4e5f6a70022", node: "ip-10-0-2-22.us-west-2.compute.internal", eventId: "5d1a7c3e-2b4f-4e6a-9c8d-0f1e2d3c4b01" },
  { instanceId: "i-0c3d4e5f6a7b80023", node: "ip-10-0-3-23.us-west-2.compute.internal", eventId: "6e2b8d4f-3c5a-4f7b-8d9e-1a2b3c4d5e02" },
] as const;

function warningFor(spot: (typeof SPOT)[number]): Record<string, unknown> {
  const event = fixture("spotInterruption");
  event["id"] = spot.eventId;
  (event["detail"] as Record<string, string>)["instance-id"] = spot.instanceId;
  return event;
}

/**
 * Requests the API server answers after `mark()`: sent after it, or open at it (answered more
 * than a moment later; the server tells of an answer a tick after the client has read it).
 */
function answeredAfter(kube: KubeLocal) {
  let mark: number | undefined;
  const late: string[] = [];
  kube.stats.subscribe((r) => {
    if (mark === undefined) return;
    const now = Date.now();
    const sentAt = now - r.ms;
    if (sentAt >= mark) late.push(`sent after the answer: ${r.method} ${r.path} -> ${r.status}`);
    else if (now - mark > 100) late.push(`open at the answer: ${r.method} ${r.path} -> ${r.status}`);
  });
  return {
    late,
    mark: () => {
      mark = Date.now();
    },
  };
}

/** The storefront's budget lets no pod go: its two pods on the interrupted node wait in backoff until the deadline. */
async function storefrontHeld(kube: KubeLocal): Promise<void> {
  kube.registry.patch(findResource("policy", "v1", "poddisruptionbudgets") as ResourceType, "shop", "storefront", "merge", JSON.stringify({ spec: { minAvailable: "100%" } }));
  await kube.idle();
}

describe("nothing an invocation started goes on after its answer", () => {
  it("a token that cannot be had for one eviction mid-drain: the node's other evictions end with the invocation", async () => {
    // Prepare: once a budget has refused an eviction (its pods wait in backoff), the token for one request cannot be signed
    let armed = false;
    let refused = 0;
    world = await createWorld({
      kubeToken: async (admin) => {
        if (armed && refused === 0) {
          refused += 1;
          throw new Error("credentials could not be loaded to sign the token");
        }
        return admin;
      },
    });
    const kube = world.kube;
    await storefrontHeld(kube);
    kube.stats.subscribe((r) => {
      if (r.resource === "pods/eviction" && r.status === 429) armed = true;
    });
    const after = answeredAfter(kube);
    // Act: 25 s left, so the drain's deadline is 5 s away
    const response = (await world.invoke(world.sqs(fixture("spotInterruption")), 25_000)) as SQSBatchResponse;
    after.mark();
    await sleep(3_000);
    // Assess: the request that could not be made was asked again; at the function's time the drain
    // handed what its budget kept to a follow-up, and nothing of it came after the answer
    expect(refused).toBe(1);
    expect(after.late).toEqual([]);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(podsOn(kube, DEMO_INTERRUPTED_NODE).filter((p) => p.startsWith("shop/storefront-"))).toHaveLength(2);
    expect(world.recorder.lines.filter((l) => l.message === "action finished").map((l) => l.extra["outcome"])).toEqual(["continuing"]);
    expect(world.aws.queuedFollowUps()).toHaveLength(1);
  });

  it("a pod list that hangs for one node of a batch: that record goes back, and nothing of any record runs on after the answer", async () => {
    // Prepare: every pod list for the second node hangs far past the function's time
    world = await createWorld();
    const kube = world.kube;
    kube.faults.add({ match: { verb: "list", resource: "pods", path: SPOT[1].node }, effect: { kind: "latency", ms: 30_000 } });
    const after = answeredAfter(kube);
    // Act: 25 s left, so the drains' deadline is 5 s away
    const response = (await world.invoke(world.sqs(...SPOT.map(warningFor)), 25_000)) as SQSBatchResponse;
    after.mark();
    await sleep(2_000);
    // Assess: only the hung node's record goes back, with why, and nothing came after the answer
    expect(response.batchItemFailures).toHaveLength(1);
    const retried = world.recorder.lines.filter((l) => l.message === "action left for retry");
    expect(retried.map((l) => [l.extra["instanceId"], l.extra["errorName"]])).toEqual([[SPOT[1].instanceId, "RetryError"]]);
    expect(String(retried[0]?.extra["error"])).toMatch(new RegExp(`^list pods on ${SPOT[1].node.replace(/\./g, "\\.")}: request timed out after \\d+ ms`));
    expect(after.late).toEqual([]);
  });

  it("Events are written beside the action, not in its way: a slow Event write holds up no eviction, and every Event is stored when the handler answers", async () => {
    // Prepare: every Event write takes 1.5 s
    world = await createWorld();
    const kube = world.kube;
    kube.faults.add({ match: { verb: "create", resource: "events" }, effect: { kind: "latency", ms: 1_500 } });
    const finished: { what: string; at: number }[] = [];
    kube.stats.subscribe((r) => {
      if (r.resource === "events" || r.resource === "pods/eviction") finished.push({ what: r.resource, at: Date.now() });
    });
    const after = answeredAfter(kube);
    // Act
    const response = (await world.invoke(world.sqs(fixture("spotInterruption")))) as SQSBatchResponse;
    after.mark();
    await sleep(500);
    // Assess: the first eviction was answered before any Event was, yet the Events are all there at the answer
    const firstEviction = finished.find((f) => f.what === "pods/eviction")?.at ?? Number.POSITIVE_INFINITY;
    const firstEvent = finished.find((f) => f.what === "events")?.at ?? Number.POSITIVE_INFINITY;
    expect(response).toEqual({ batchItemFailures: [] });
    expect(firstEviction).toBeLessThan(firstEvent);
    const reasons = kube.list("events", "default").filter((e) => (e["involvedObject"] as { name?: string }).name === DEMO_INTERRUPTED_NODE).map((e) => e["reason"]);
    expect(reasons).toEqual(expect.arrayContaining(["SpotInterruption", "DrainStarted", "DrainSucceeded"]));
    expect(after.late).toEqual([]);
  });

  it("a lifecycle heartbeat under way when the drain ends is over before the answer", async () => {
    // Prepare: heartbeats every 10 s; the one the interval sends takes 5 s; the drain runs until the function's time is nearly up
    world = await createWorld({ startAt: "2024-05-14T18:23:12Z", policy: { asgTerminate: { heartbeatIntervalSeconds: 10 } } });
    await storefrontHeld(world.kube);
    const beats: { startedAt: number; endedAt?: number }[] = [];
    world.aws.autoscaling.on(RecordLifecycleActionHeartbeatCommand).callsFake(async () => {
      const beat: { startedAt: number; endedAt?: number } = { startedAt: Date.now() };
      beats.push(beat);
      // the interval's beat (the second) is slow; the first and the one at the hand-over answer at once
      if (beats.length === 2) await sleep(5_000);
      beat.endedAt = Date.now();
      return {};
    });
    // Act: 35 s left, so the drain stops 15 s from now and hands the rest to a follow-up
    await world.invoke(world.sqs(fixture("asgTerminate")), 35_000);
    const answeredAt = Date.now();
    // Assess: the interval's heartbeat was sent during the drain, and had its answer before the function gave its own
    expect(beats.length).toBeGreaterThanOrEqual(3);
    for (const beat of beats) expect(beat.endedAt ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(answeredAt);
  }, 45_000);
});
