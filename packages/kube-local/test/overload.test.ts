/**
 * A control plane under load: the in-flight limit answers 429 with Retry-After as kube-apiserver's
 * priority and fairness filter does, and request and object sizes are bounded as upstream bounds them.
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { emptySeed, nodeFixture } from "../src/index";
import { configFor, failure, raw, startHarness } from "./harness";

const NODE = "ip-10-0-9-1.us-west-2.compute.internal";
const WORKER_TOKEN = "worker-token";

async function limited(flowControl: { readOnly: number; mutating: number; queueWaitMs?: number }) {
  const h = await startHarness({ latencyMs: 150, flowControl, identities: { [WORKER_TOKEN]: { user: "system:serviceaccount:kube-system:worker", groups: ["system:serviceaccounts"] } } });
  const seed = emptySeed();
  seed.nodes.push(nodeFixture({ name: NODE, instanceId: "i-0900000000000001", zone: "us-west-2a", instanceType: "m6i.large", capacityType: "SPOT", nodegroup: "spot", internalIp: "10.0.9.1" }));
  await h.kube.seed(seed);
  const worker = configFor(h.kube, WORKER_TOKEN).makeApiClient(CoreV1Api);
  return { ...h, worker };
}

const settle = <T>(calls: Promise<T>[]) => Promise.allSettled(calls);
const codes = (results: PromiseSettledResult<unknown>[]) => results.map((r) => (r.status === "fulfilled" ? 200 : (r.reason as { code?: number }).code)).sort();

describe("in-flight limit", () => {
  it("answers 429 with Retry-After: 1 and kube-apiserver's plain-text body once the seats are taken", async () => {
    // Prepare: two read-only seats, each request held 150 ms
    const { kube } = await limited({ readOnly: 2, mutating: 2 });
    // Act: five reads at once
    const answers = await Promise.all(Array.from({ length: 5 }, () => raw(kube, "GET", `/api/v1/nodes/${NODE}`, { token: WORKER_TOKEN })));
    // Assess
    const refused = answers.filter((a) => a.status === 429);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(2);
    expect(refused).toHaveLength(3);
    expect(refused[0]?.headers["retry-after"]).toBe("1");
    expect(refused[0]?.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(refused[0]?.text).toBe("Too many requests, please try again later.\n");
    expect(refused[0]?.headers["x-kubernetes-pf-prioritylevel-uid"]).toBeDefined();
    expect(kube.flowControl?.rejected.readOnly).toBe(3);
  });

  it("counts read-only and mutating requests apart", async () => {
    const { worker } = await limited({ readOnly: 1, mutating: 1 });
    const results = await settle([
      worker.readNode({ name: NODE }),
      worker.patchNode({ name: NODE, body: { metadata: { labels: { a: "1" } } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch)),
    ]);
    expect(codes(results)).toEqual([200, 200]);
    const crowded = await settle([worker.readNode({ name: NODE }), worker.readNode({ name: NODE })]);
    expect(codes(crowded)).toEqual([200, 429]);
  });

  it("lets a request wait in line for a seat when queueing is configured", async () => {
    const { worker, kube } = await limited({ readOnly: 1, mutating: 1, queueWaitMs: 1_000 });
    const results = await settle([worker.readNode({ name: NODE }), worker.readNode({ name: NODE }), worker.readNode({ name: NODE })]);
    expect(codes(results)).toEqual([200, 200, 200]);
    expect(kube.flowControl?.rejected.readOnly).toBe(0);
  });

  it("never limits system:masters or watches, as the exempt priority level does not", async () => {
    const { core, kube } = await limited({ readOnly: 1, mutating: 1 });
    const results = await settle(Array.from({ length: 4 }, () => core.readNode({ name: NODE })));
    const watch = await raw(kube, "GET", `/api/v1/nodes?watch=true&timeoutSeconds=1`, { token: WORKER_TOKEN });
    expect(codes(results)).toEqual([200, 200, 200, 200]);
    expect(watch.status).toBe(200);
  });

  it("is off unless asked for, and can be put in force and lifted at run time", async () => {
    const h = await startHarness({ latencyMs: 100, identities: { [WORKER_TOKEN]: { user: "worker", groups: [] } } });
    await h.kube.seed(emptySeed());
    const free = await Promise.all(Array.from({ length: 4 }, () => raw(h.kube, "GET", "/api/v1/namespaces", { token: WORKER_TOKEN })));
    h.kube.limitRequests({ readOnly: 1, mutating: 1 });
    const limitedAnswers = await Promise.all(Array.from({ length: 4 }, () => raw(h.kube, "GET", "/api/v1/namespaces", { token: WORKER_TOKEN })));
    expect(free.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(limitedAnswers.map((a) => a.status).sort()).toEqual([200, 429, 429, 429]);
  });
});

describe("size limits", () => {
  it("refuses a request body over 3 MiB with 413 RequestEntityTooLarge", async () => {
    const { kube } = await startHarness();
    const body = JSON.stringify({ metadata: { name: "big" }, data: { blob: "x".repeat(3 * 1024 * 1024) } });
    const answer = await raw(kube, "POST", "/api/v1/namespaces", { contentType: "application/json", body });
    expect(answer.status).toBe(413);
    expect(answer.json).toMatchObject({ reason: "RequestEntityTooLarge", message: "Request entity too large: limit is 3145728", code: 413 });
  });

  it("refuses annotations over 256 KiB in all (422) and an object etcd would refuse (500)", async () => {
    const h = await startHarness();
    await h.kube.seed(emptySeed());
    const annotated = await failure(h.core.createNamespace({ body: { metadata: { name: "annotated", annotations: { note: "x".repeat(256 * 1024) } } } }));
    const huge = await failure(
      h.core.createNamespace({
        body: { metadata: { name: "huge", annotations: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`note-${i}`, "x".repeat(200 * 1024)])) } },
      }),
    );
    expect(annotated.code).toBe(422);
    expect(annotated.body.message).toBe('Namespace "annotated" is invalid: metadata.annotations: Too long: may not be more than 262144 bytes');
    expect(annotated.body.details?.causes).toEqual([{ reason: "FieldValueTooLong", message: "Too long: may not be more than 262144 bytes", field: "metadata.annotations" }]);
    expect(huge.code).toBe(422);
    const podSpec = { containers: [{ name: "c", image: "busybox:1.36", args: Array.from({ length: 8 }, () => "y".repeat(200 * 1024)) }] };
    await h.core.createNamespace({ body: { metadata: { name: "work" } } });
    const tooLarge = await failure(h.core.createNamespacedPod({ namespace: "work", body: { metadata: { name: "fat" }, spec: podSpec } }));
    expect(tooLarge.code).toBe(500);
    expect(tooLarge.body).toMatchObject({ status: "Failure", message: "etcdserver: request is too large", code: 500 });
    expect(h.kube.get("pods", "work", "fat")).toBeUndefined();
  });
});
