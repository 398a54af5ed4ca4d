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
