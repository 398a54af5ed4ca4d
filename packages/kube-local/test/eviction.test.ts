import type { V1Eviction } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { deploymentFixture, emptySeed, nodeFixture, type WorkloadFixture } from "../src/index";
import { failure, raw, startHarness } from "./harness";

const NODES = ["ip-10-0-8-1.us-west-2.compute.internal", "ip-10-0-8-2.us-west-2.compute.internal"];

async function workload(pdb: WorkloadFixture["pdb"], replicas = 4, extra: Partial<WorkloadFixture> = {}) {
  const h = await startHarness();
  const seed = emptySeed();
  seed.namespaces.push("shop");
  NODES.forEach((name, i) =>
    seed.nodes.push(nodeFixture({ name, instanceId: `i-08000000000000${i}`, zone: "us-west-2a", instanceType: "m6i.large", capacityType: "SPOT", nodegroup: "spot", internalIp: `10.0.8.${i + 1}` })),
  );
  const { deployment, pdb: budget } = deploymentFixture({ namespace: "shop", name: "web", replicas, ...(pdb ? { pdb } : {}), ...extra });
  seed.deployments.push(deployment);
  if (budget) seed.pdbs.push(budget);
  await h.kube.seed(seed);
  const pods = (await h.core.listNamespacedPod({ namespace: "shop" })).items.map((p) => p.metadata!.name!);
  return { ...h, pods };
}

const eviction = (name: string, extra: Partial<V1Eviction> = {}): V1Eviction => ({ apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace: "shop" }, ...extra });

describe("eviction (policy/v1)", () => {
  it("evicts while minAvailable allows, then answers 429 with a DisruptionBudget cause", async () => {
    // Prepare: 4 ready pods, minAvailable 3 allows one disruption
    const { core, policy, pods } = await workload({ minAvailable: 3 });
    // Act
    await core.createNamespacedPodEviction({ name: pods[0]!, namespace: "shop", body: eviction(pods[0]!) });
    const blocked = await failure(core.createNamespacedPodEviction({ name: pods[1]!, namespace: "shop", body: eviction(pods[1]!) }));
    const pdb = await policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "shop" });
    // Assess
    expect((await core.readNamespacedPod({ name: pods[0]!, namespace: "shop" })).metadata?.deletionTimestamp).toBeDefined();
    expect(blocked.code).toBe(429);
    expect(blocked.body).toMatchObject({ reason: "TooManyRequests", message: "Cannot evict pod as it would violate the pod's disruption budget." });
    expect(blocked.body.details?.causes).toEqual([{ reason: "DisruptionBudget", message: "The disruption budget web needs 3 healthy pods and has 3 currently" }]);
    expect(pdb.status).toMatchObject({ currentHealthy: 3, desiredHealthy: 3, disruptionsAllowed: 0, expectedPods: 4 });
  });

  it.each([
    [{ maxUnavailable: 1 }, 1],
    [{ maxUnavailable: "50%" }, 2],
    [{ minAvailable: "50%" }, 2],
    [{ minAvailable: "60%" }, 1],
    [{ minAvailable: 4 }, 0],
  ] as const)("budget %j over 4 replicas allows %i evictions", async (budget, allowed) => {
    const { core, policy, pods } = await workload(budget);
    const pdb = await policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "shop" });
    let evicted = 0;
    for (const name of pods) {
      try {
        await core.createNamespacedPodEviction({ name, namespace: "shop", body: eviction(name) });
        evicted += 1;
      } catch {
        break;
      }
    }
    expect(pdb.status?.disruptionsAllowed).toBe(allowed);
    expect(evicted).toBe(allowed);
  });

  it("answers 500 when a pod is covered by two budgets", async () => {
    const { core, policy, pods } = await workload({ maxUnavailable: 1 });
    await policy.createNamespacedPodDisruptionBudget({ namespace: "shop", body: { metadata: { name: "web-too" }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: "web" } } } } });
    const response = await failure(core.createNamespacedPodEviction({ name: pods[0]!, namespace: "shop", body: eviction(pods[0]!) }));
    expect(response.code).toBe(500);
    expect(response.body.message).toBe("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");
  });

  it("evicts pending, finished and terminating pods whatever the budget says", async () => {
    const { core, pods, kube } = await workload({ minAvailable: 4 });
    for (const [i, phase] of (["Pending", "Succeeded", "Failed"] as const).entries()) {
      const current = await core.readNamespacedPod({ name: pods[i]!, namespace: "shop" });
      await core.replaceNamespacedPodStatus({ name: pods[i]!, namespace: "shop", body: { ...current, status: { ...current.status, phase } } });
    }
    await core.deleteNamespacedPod({ name: pods[3]!, namespace: "shop" });
    for (const name of pods) await core.createNamespacedPodEviction({ name, namespace: "shop", body: eviction(name) });
    expect(kube.list("pods", "shop").filter((p) => !p.metadata.deletionTimestamp)).toHaveLength(0);
  });

  it("evicts an unready pod when the budget is otherwise healthy, and never lets a ready one go below it", async () => {
    const { core, pods } = await workload({ minAvailable: 3 });
    const unready = await core.readNamespacedPod({ name: pods[0]!, namespace: "shop" });
    unready.status!.conditions = unready.status!.conditions!.map((c) => (c.type === "Ready" ? { ...c, status: "False" } : c));
    await core.replaceNamespacedPodStatus({ name: pods[0]!, namespace: "shop", body: unready });
    // 3 healthy of 3 desired: the unready pod may go, a ready one may not
    await core.createNamespacedPodEviction({ name: pods[0]!, namespace: "shop", body: eviction(pods[0]!) });
    const blocked = await failure(core.createNamespacedPodEviction({ name: pods[1]!, namespace: "shop", body: eviction(pods[1]!) }));
    expect(blocked.code).toBe(429);
  });

  it("answers 404 for a missing pod and 400 when the body names another pod", async () => {
    const { core, kube, pods } = await workload(undefined, 1);
    const missing = await failure(core.createNamespacedPodEviction({ name: "ghost", namespace: "shop", body: eviction("ghost") }));
    const mismatch = await raw(kube, "POST", `/api/v1/namespaces/shop/pods/${pods[0]}/eviction`, { contentType: "application/json", body: JSON.stringify(eviction("other")) });
    expect(missing.code).toBe(404);
    expect(missing.body.message).toBe('pods "ghost" not found');
    expect(mismatch.status).toBe(400);
    expect(mismatch.json.message).toBe("name in URL does not match name in Eviction object");
  });

  it("uses the eviction's delete options (grace period) and changes nothing on dry run", async () => {
    const { core, pods, kube } = await workload(undefined, 2);
    const dry = await raw(kube, "POST", `/api/v1/namespaces/shop/pods/${pods[0]}/eviction?dryRun=All`, { contentType: "application/json", body: JSON.stringify(eviction(pods[0]!)) });
    await core.createNamespacedPodEviction({ name: pods[1]!, namespace: "shop", body: eviction(pods[1]!, { deleteOptions: { gracePeriodSeconds: 0 } }) });
    expect(dry.status).toBe(201);
    expect((await core.readNamespacedPod({ name: pods[0]!, namespace: "shop" })).metadata?.deletionTimestamp).toBeUndefined();
    expect((await failure(core.readNamespacedPod({ name: pods[1]!, namespace: "shop" }))).code).toBe(404);
  });

  it("computes PDB status live as pods come and go", async () => {
    const { core, policy, pods } = await workload({ maxUnavailable: 1 });
    const before = await policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "shop" });
    await core.deleteNamespacedPod({ name: pods[0]!, namespace: "shop" });
    const after = await policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "shop" });
    expect(before.status).toMatchObject({ currentHealthy: 4, desiredHealthy: 3, disruptionsAllowed: 1, expectedPods: 4, observedGeneration: 1 });
    expect(after.status).toMatchObject({ currentHealthy: 3, disruptionsAllowed: 0 });
    expect(after.status?.conditions?.[0]).toMatchObject({ type: "DisruptionAllowed", status: "False", reason: "InsufficientPods" });
  });
});
