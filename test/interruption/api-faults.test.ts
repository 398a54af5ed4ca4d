import { CLUSTER_ROLE_RULES, KUBERNETES_GROUP } from "@spot-manager/core";
import { DEMO_INTERRUPTED_NODE } from "@spot-manager/kube-local";
import { afterEach, describe, expect, it } from "vitest";
import { fixture } from "../fixtures";
import { createWorld, nodeView, podsOn, type World } from "./world";

let world: World | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

describe("Kubernetes API faults during a drain", () => {
  it("rides out throttling, 5xx and dropped connections and still drains in time", async () => {
    // Prepare
    world = await createWorld();
    const { faults } = world.kube;
    faults.add({ match: { verb: "patch", resource: "nodes" }, effect: { kind: "status", code: 503 }, times: 2 });
    faults.add({ match: { resource: "pods/eviction" }, effect: { kind: "status", code: 429, retryAfterSeconds: 1 }, times: 3 });
    faults.add({ match: { resource: "pods/eviction" }, effect: { kind: "drop" }, times: 2 });
    faults.add({ match: { verb: "list", resource: "pods" }, effect: { kind: "status", code: 500 }, times: 1 });
    faults.add({ match: { resource: "pods" }, effect: { kind: "latency", ms: 20 } });
    // Act
    const response = await world.invoke(world.sqs(fixture("spotInterruption")));
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).unschedulable).toBe(true);
    expect(podsOn(world.kube, DEMO_INTERRUPTED_NODE)).toHaveLength(2);
    const statuses = world.kube.stats.log.map((r) => r.status);
    expect(statuses).toEqual(expect.arrayContaining([503, 429, 500]));
    const [, end] = world.aws.notifications();
    expect(end).toMatchObject({ deadlineMet: true, drain: { complete: true, remaining: [] } });
  });

  it("backs off when the control plane's in-flight limit answers 429 with Retry-After, and still drains inside the deadline", async () => {
    // Prepare: the function's own identity (not system:masters, which the limit exempts), two mutating and
    // two read-only seats, each request held 100 ms
    const token = "spot-manager-function";
    world = await createWorld({
      kubeToken: token,
      kube: {
        seed: "demo",
        simulation: { timeScale: 0.01, podStartupSeconds: 0.5 },
        latencyMs: 100,
        flowControl: { readOnly: 2, mutating: 2 },
        identities: { [token]: { user: "spot-manager", groups: [KUBERNETES_GROUP], rules: CLUSTER_ROLE_RULES } },
      },
    });
    // Act
    const response = await world.invoke(world.sqs(fixture("spotInterruption")));
    // Assess: the limit refused requests, the gateway waited Retry-After and tried again, the drain met its deadline
    expect(response).toEqual({ batchItemFailures: [] });
    expect(world.kube.flowControl?.rejected.mutating).toBeGreaterThan(0);
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).unschedulable).toBe(true);
    expect(podsOn(world.kube, DEMO_INTERRUPTED_NODE)).toHaveLength(2);
    const [, end] = world.aws.notifications();
    expect(end).toMatchObject({ deadlineMet: true, drain: { complete: true, remaining: [] } });
  });
});
