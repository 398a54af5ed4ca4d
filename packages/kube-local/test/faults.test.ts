import { describe, expect, it } from "vitest";
import { failure, raw, startHarness } from "./harness";

describe("fault injection", () => {
  it("answers 429 with Retry-After the given number of times, then serves normally", async () => {
    const { kube, core } = await startHarness({ seed: "demo" });
    kube.faults.add({ match: { verb: "get", resource: "nodes" }, effect: { kind: "status", code: 429, retryAfterSeconds: 2 }, times: 2 });
    const first = await failure(core.readNode({ name: "ip-10-0-1-11.us-west-2.compute.internal" }));
    await failure(core.readNode({ name: "ip-10-0-1-11.us-west-2.compute.internal" }));
    const third = await core.readNode({ name: "ip-10-0-1-11.us-west-2.compute.internal" });
    expect(first.code).toBe(429);
    expect(first.headers["retry-after"]).toBe("2");
    expect(first.body).toMatchObject({ reason: "TooManyRequests", details: { retryAfterSeconds: 2 } });
    expect(third.metadata?.name).toBe("ip-10-0-1-11.us-west-2.compute.internal");
  });

  it("injects 500 and 503 on a subresource route only", async () => {
    const { kube, core } = await startHarness({ seed: "demo" });
    kube.faults.add({ match: { resource: "pods/eviction" }, effect: { kind: "status", code: 503 } });
    kube.faults.add({ match: { method: "DELETE", path: /\/pods\// }, effect: { kind: "status", code: 500 } });
    const pod = (await core.listNamespacedPod({ namespace: "shop" })).items[0]!.metadata!.name!;
    const evict = await failure(core.createNamespacedPodEviction({ name: pod, namespace: "shop", body: { metadata: { name: pod } } }));
    const del = await failure(core.deleteNamespacedPod({ name: pod, namespace: "shop" }));
    expect(evict.code).toBe(503);
    expect(evict.body.reason).toBe("ServiceUnavailable");
    expect(del.code).toBe(500);
    expect((await core.readNamespacedPod({ name: pod, namespace: "shop" })).metadata?.deletionTimestamp).toBeUndefined();
  });

  it("tells subscribers each answered request, with the pod it named and the Status reasons a client tells apart by", async () => {
    // Prepare: a throttled eviction, then a budget that holds (checkout: maxUnavailable 1 over 3 pods)
    const { kube, core } = await startHarness({ seed: "demo" });
    const seen: { resource?: string | undefined; name?: string | undefined; status: number; reason?: string | undefined; causes?: string[] | undefined }[] = [];
    const stop = kube.stats.subscribe((r) => seen.push({ resource: r.resource, name: r.name, status: r.status, reason: r.reason, causes: r.causes }));
    kube.faults.add({ match: { resource: "pods/eviction" }, effect: { kind: "status", code: 429, retryAfterSeconds: 1 }, times: 1 });
    const checkout = (await core.listNamespacedPod({ namespace: "shop", labelSelector: "app=checkout" })).items.map((p) => p.metadata!.name!);
    const evict = (name: string) => failure(core.createNamespacedPodEviction({ name, namespace: "shop", body: { metadata: { name } } }));
    // Act
    await evict(checkout[0]!);
    await core.createNamespacedPodEviction({ name: checkout[0]!, namespace: "shop", body: { metadata: { name: checkout[0]! } } });
    await evict(checkout[1]!);
    stop();
    await core.readNamespacedPod({ name: checkout[2]!, namespace: "shop" });
    // Assess: the throttled answer has no DisruptionBudget cause, the budget's has; nothing after stop()
    expect(seen.filter((r) => r.resource === "pods/eviction")).toEqual([
      { resource: "pods/eviction", name: checkout[0], status: 429, reason: "TooManyRequests", causes: [] },
      { resource: "pods/eviction", name: checkout[0], status: 201, reason: undefined, causes: [] },
      { resource: "pods/eviction", name: checkout[1], status: 429, reason: "TooManyRequests", causes: ["DisruptionBudget"] },
    ]);
    expect(seen.at(-1)?.resource).toBe("pods/eviction");
  });

  it("drops the connection without an answer", async () => {
    const { kube } = await startHarness({ seed: "demo" });
    kube.faults.add({ match: { verb: "list", resource: "nodes" }, effect: { kind: "drop" }, times: 1 });
    await expect(raw(kube, "GET", "/api/v1/nodes")).rejects.toThrow();
    expect((await raw(kube, "GET", "/api/v1/nodes")).status).toBe(200);
  });

  it("adds latency to matching requests and globally", async () => {
    const { kube } = await startHarness({ seed: "demo", latencyMs: 30 });
    kube.faults.add({ match: { resource: "nodes" }, effect: { kind: "latency", ms: 60 } });
    const started = performance.now();
    await raw(kube, "GET", "/api/v1/nodes");
    const nodesMs = performance.now() - started;
    const again = performance.now();
    await raw(kube, "GET", "/api/v1/namespaces");
    const namespacesMs = performance.now() - again;
    expect(nodesMs).toBeGreaterThanOrEqual(85);
    expect(namespacesMs).toBeGreaterThanOrEqual(28);
    expect(namespacesMs).toBeLessThan(nodesMs);
  });

  it("fires with a probability", async () => {
    const { kube } = await startHarness({ seed: "demo" });
    kube.faults.add({ match: { resource: "namespaces" }, effect: { kind: "status", code: 500 }, probability: 0 });
    expect((await raw(kube, "GET", "/api/v1/namespaces")).status).toBe(200);
  });
});
