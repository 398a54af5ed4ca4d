import type { V1Eviction, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { barePodFixture, deploymentFixture, emptySeed, nodeFixture, type KubeLocalOptions, type WorkloadFixture } from "../src/index";
import { failure, raw, startHarness } from "./harness";

const NODES = ["ip-10-0-8-1.us-west-2.compute.internal", "ip-10-0-8-2.us-west-2.compute.internal"];

async function workload(pdb: WorkloadFixture["pdb"], replicas = 4, extra: Partial<WorkloadFixture> = {}, options: KubeLocalOptions = {}) {
  const h = await startHarness(options);
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
const evictRaw = (kube: Awaited<ReturnType<typeof workload>>["kube"], name: string, query = "", body: object = eviction(name)) =>
  raw(kube, "POST", `/api/v1/namespaces/shop/pods/${name}/eviction${query}`, { contentType: "application/json", body: JSON.stringify(body) });

describe("eviction (policy/v1)", () => {
  it("evicts while the budget's last written status allows, recording the disruption, then answers 429 with a DisruptionBudget cause", async () => {
    // Prepare: 4 ready pods, minAvailable 3 allows one disruption; the controller syncs half a second after a change
    const { core, policy, pods, kube } = await workload({ minAvailable: 3 }, 4, {}, { controllers: { disruption: { syncDelayMs: 500 } } });
    // Act: the second eviction comes before the disruption controller has synced
    await core.createNamespacedPodEviction({ name: pods[0]!, namespace: "shop", body: eviction(pods[0]!) });
    const recorded = await policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "shop" });
    const blocked = await failure(core.createNamespacedPodEviction({ name: pods[1]!, namespace: "shop", body: eviction(pods[1]!) }));
    await kube.idle();
    const synced = await policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "shop" });
    const blockedAfterSync = await failure(core.createNamespacedPodEviction({ name: pods[1]!, namespace: "shop", body: eviction(pods[1]!) }));
    // Assess: the eviction decremented the budget and named the pod in disruptedPods, as EvictionREST does
    expect((await core.readNamespacedPod({ name: pods[0]!, namespace: "shop" })).metadata?.deletionTimestamp).toBeDefined();
    expect(recorded.status).toMatchObject({ disruptionsAllowed: 0, currentHealthy: 4, desiredHealthy: 3 });
    expect(Object.keys(recorded.status?.disruptedPods ?? {})).toEqual([pods[0]]);
    expect(blocked.code).toBe(429);
    expect(blocked.headers["retry-after"]).toBeUndefined();
    expect(blocked.body).toMatchObject({ reason: "TooManyRequests", message: "Cannot evict pod as it would violate the pod's disruption budget." });
    expect(blocked.body.details?.causes).toEqual([{ reason: "DisruptionBudget", message: "The disruption budget web needs 3 healthy pods and has 4 currently" }]);
    // after the sync the terminating pod is out of the healthy count and out of disruptedPods
    expect(synced.status).toMatchObject({ currentHealthy: 3, desiredHealthy: 3, disruptionsAllowed: 0, expectedPods: 4, observedGeneration: 1 });
    expect(synced.status?.disruptedPods).toBeUndefined();
    expect(blockedAfterSync.body.details?.causes?.[0]?.message).toBe("The disruption budget web needs 3 healthy pods and has 3 currently");
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
    const { core, pods, kube } = await workload({ minAvailable: 3 });
    const unready = await core.readNamespacedPod({ name: pods[0]!, namespace: "shop" });
    unready.status!.conditions = unready.status!.conditions!.map((c) => (c.type === "Ready" ? { ...c, status: "False" } : c));
    await core.replaceNamespacedPodStatus({ name: pods[0]!, namespace: "shop", body: unready });
    await kube.idle();
    // 3 healthy of 3 desired: the unready pod may go, a ready one may not
    await core.createNamespacedPodEviction({ name: pods[0]!, namespace: "shop", body: eviction(pods[0]!) });
    const blocked = await failure(core.createNamespacedPodEviction({ name: pods[1]!, namespace: "shop", body: eviction(pods[1]!) }));
    expect(blocked.code).toBe(429);
  });

  it("evicts unready pods under unhealthyPodEvictionPolicy AlwaysAllow even when the budget is not met", async () => {
    const { core, policy, pods, kube } = await workload({ minAvailable: 4 });
    const budget = await policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "shop" });
    await policy.replaceNamespacedPodDisruptionBudget({ name: "web", namespace: "shop", body: { ...budget, spec: { ...budget.spec, unhealthyPodEvictionPolicy: "AlwaysAllow" } } });
    for (const name of pods.slice(0, 2)) {
      const pod = await core.readNamespacedPod({ name, namespace: "shop" });
      pod.status!.conditions = pod.status!.conditions!.map((c) => (c.type === "Ready" ? { ...c, status: "False" } : c));
      await core.replaceNamespacedPodStatus({ name, namespace: "shop", body: pod });
    }
    await kube.idle();
    await core.createNamespacedPodEviction({ name: pods[0]!, namespace: "shop", body: eviction(pods[0]!) });
    const ready = await failure(core.createNamespacedPodEviction({ name: pods[2]!, namespace: "shop", body: eviction(pods[2]!) }));
    expect((await core.readNamespacedPod({ name: pods[0]!, namespace: "shop" })).metadata?.deletionTimestamp).toBeDefined();
    expect(ready.code).toBe(429);
  });

  it("answers 404 for a missing pod and 400 when the body names another pod", async () => {
    const { core, kube, pods } = await workload(undefined, 1);
    const missing = await failure(core.createNamespacedPodEviction({ name: "ghost", namespace: "shop", body: eviction("ghost") }));
    const mismatch = await evictRaw(kube, pods[0]!, "", eviction("other"));
    expect(missing.code).toBe(404);
    expect(missing.body.message).toBe('pods "ghost" not found');
    expect(mismatch.status).toBe(400);
    expect(mismatch.json.message).toBe("name in URL does not match name in Eviction object");
  });

  it("marks an evicted pod with the DisruptionTarget condition before deleting it", async () => {
    const { core, pods } = await workload(undefined, 2);
    await core.createNamespacedPodEviction({ name: pods[0]!, namespace: "shop", body: eviction(pods[0]!) });
    const evicted = await core.readNamespacedPod({ name: pods[0]!, namespace: "shop" });
    expect(evicted.metadata?.deletionTimestamp).toBeDefined();
    expect(evicted.status?.conditions?.find((c) => c.type === "DisruptionTarget")).toMatchObject({ status: "True", reason: "EvictionByEvictionAPI", message: "Eviction API: evicting" });
  });

  it("uses the eviction's delete options (grace period)", async () => {
    const { core, pods } = await workload(undefined, 2);
    await core.createNamespacedPodEviction({ name: pods[1]!, namespace: "shop", body: eviction(pods[1]!, { deleteOptions: { gracePeriodSeconds: 0 } }) });
    expect((await failure(core.readNamespacedPod({ name: pods[1]!, namespace: "shop" }))).code).toBe(404);
  });
});

describe("dry-run evictions", () => {
  it("a dry run (query or body) is checked against the budget and changes nothing: no deletion, no condition, no decrement", async () => {
    // Prepare
    const { core, policy, pods, kube } = await workload({ maxUnavailable: 1 });
    const before = await policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "shop" });
    // Act
    const byQuery = await evictRaw(kube, pods[0]!, "?dryRun=All");
    const byBody = await evictRaw(kube, pods[0]!, "", eviction(pods[0]!, { deleteOptions: { dryRun: ["All"] } }));
    const both = await evictRaw(kube, pods[0]!, "?dryRun=All", eviction(pods[0]!, { deleteOptions: { dryRun: ["All"] } }));
    // Assess
    expect([byQuery.status, byBody.status, both.status]).toEqual([201, 201, 201]);
    const pod = await core.readNamespacedPod({ name: pods[0]!, namespace: "shop" });
    expect(pod.metadata?.deletionTimestamp).toBeUndefined();
    expect(pod.status?.conditions?.some((c) => c.type === "DisruptionTarget")).toBe(false);
    const after = await policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "shop" });
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(after.status?.disruptionsAllowed).toBe(1);
  });

  it("a dry run is still refused when the budget would refuse the eviction", async () => {
    const { pods, kube } = await workload({ minAvailable: 4 });
    const refused = await evictRaw(kube, pods[0]!, "?dryRun=All");
    expect(refused.status).toBe(429);
    expect(refused.json.details?.causes?.[0]?.reason).toBe("DisruptionBudget");
  });

  it("rejects dryRun values other than All (422) and a query and body that disagree", async () => {
    const { core, pods, kube } = await workload(undefined, 2);
    const badQuery = await evictRaw(kube, pods[0]!, "?dryRun=Bogus");
    const badBody = await evictRaw(kube, pods[0]!, "", eviction(pods[0]!, { deleteOptions: { dryRun: ["Bogus"] } }));
    const disagree = await evictRaw(kube, pods[0]!, "?dryRun=All", eviction(pods[0]!, { deleteOptions: { dryRun: ["Bogus"] } }));
    expect(badQuery.status).toBe(422);
    expect(badQuery.json).toMatchObject({ reason: "Invalid", message: 'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Bogus"}: supported values: "All"' });
    expect(badQuery.json.details?.causes).toEqual([{ reason: "FieldValueNotSupported", message: 'Unsupported value: []string{"Bogus"}: supported values: "All"', field: "dryRun" }]);
    expect(badBody.status).toBe(422);
    expect(badBody.json.message).toBe('DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Bogus"}: supported values: "All"');
    expect(disagree.status).toBe(500);
    expect(disagree.json.message).toBe("Non-matching dry-run options in request and content: [All] and [Bogus]");
    expect((await core.readNamespacedPod({ name: pods[0]!, namespace: "shop" })).metadata?.deletionTimestamp).toBeUndefined();
  });
});

describe("a pod that is already terminating keeps its deletion", () => {
  async function terminating() {
    const h = await workload(undefined, 2, { terminationGracePeriodSeconds: 30 });
    await h.core.deleteNamespacedPod({ name: h.pods[0]!, namespace: "shop" });
    const first = await h.core.readNamespacedPod({ name: h.pods[0]!, namespace: "shop" });
    return { ...h, name: h.pods[0]!, first };
  }
  const deletionOf = (pod: V1Pod) => ({ at: pod.metadata?.deletionTimestamp?.toISOString(), grace: pod.metadata?.deletionGracePeriodSeconds });

  it("a repeat eviction or DELETE without a shorter grace period changes nothing", async () => {
    const { core, name, first } = await terminating();
    await new Promise((r) => setTimeout(r, 1100));
    await core.createNamespacedPodEviction({ name, namespace: "shop", body: eviction(name) });
    await core.deleteNamespacedPod({ name, namespace: "shop" });
    await core.deleteNamespacedPod({ name, namespace: "shop", gracePeriodSeconds: 45 });
    await core.createNamespacedPodEviction({ name, namespace: "shop", body: eviction(name, { deleteOptions: { gracePeriodSeconds: 30 } }) });
    const after = await core.readNamespacedPod({ name, namespace: "shop" });
    expect(deletionOf(after)).toEqual(deletionOf(first));
    expect(deletionOf(first).grace).toBe(30);
  });

  it("a shorter grace period shortens it, counted from when the deletion began", async () => {
    const { core, name, first } = await terminating();
    await new Promise((r) => setTimeout(r, 1100));
    await core.createNamespacedPodEviction({ name, namespace: "shop", body: eviction(name, { deleteOptions: { gracePeriodSeconds: 10 } }) });
    const afterEviction = await core.readNamespacedPod({ name, namespace: "shop" });
    await core.deleteNamespacedPod({ name, namespace: "shop", gracePeriodSeconds: 4 });
    const afterDelete = await core.readNamespacedPod({ name, namespace: "shop" });
    const began = first.metadata!.deletionTimestamp!.getTime() - 30_000;
    expect(afterEviction.metadata?.deletionGracePeriodSeconds).toBe(10);
    expect(afterEviction.metadata?.deletionTimestamp?.getTime()).toBe(began + 10_000);
    expect(afterDelete.metadata?.deletionGracePeriodSeconds).toBe(4);
    expect(afterDelete.metadata?.deletionTimestamp?.getTime()).toBe(began + 4_000);
  });
});

describe("DELETE options", () => {
  it("rejects a dryRun other than All and an unknown propagationPolicy with 422, deleting nothing", async () => {
    const { kube, pods, core } = await workload(undefined, 1);
    const path = `/api/v1/namespaces/shop/pods/${pods[0]}`;
    const badDryRun = await raw(kube, "DELETE", `${path}?dryRun=Bogus`);
    const badPolicy = await raw(kube, "DELETE", path, { contentType: "application/json", body: JSON.stringify({ propagationPolicy: "Eventually" }) });
    const badType = await raw(kube, "DELETE", path, { contentType: "application/json", body: JSON.stringify({ gracePeriodSeconds: "soon" }) });
    expect(badDryRun.status).toBe(422);
    expect(badDryRun.json.message).toBe('DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Bogus"}: supported values: "All"');
    expect(badPolicy.status).toBe(422);
    expect(badPolicy.json.message).toBe('DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Eventually": supported values: "Foreground", "Background", "Orphan", "nil"');
    expect(badType.status).toBe(400);
    expect((await core.readNamespacedPod({ name: pods[0]!, namespace: "shop" })).metadata?.deletionTimestamp).toBeUndefined();
  });

  it("reads the options from the body when there is one, and only then ignores the query", async () => {
    const { kube, pods } = await workload(undefined, 2, { terminationGracePeriodSeconds: 30 });
    await raw(kube, "DELETE", `/api/v1/namespaces/shop/pods/${pods[0]}?gracePeriodSeconds=0`, { contentType: "application/json", body: JSON.stringify({ gracePeriodSeconds: 20 }) });
    await raw(kube, "DELETE", `/api/v1/namespaces/shop/pods/${pods[1]}?gracePeriodSeconds=0`);
    expect(kube.get("pods", "shop", pods[0]!)?.metadata.deletionGracePeriodSeconds).toBe(20);
    expect(kube.get("pods", "shop", pods[1]!)).toBeUndefined();
  });

  it("a dry-run DELETE answers with the object as it would be and changes nothing", async () => {
    const { kube, pods } = await workload(undefined, 1, { terminationGracePeriodSeconds: 30 });
    const answer = await raw(kube, "DELETE", `/api/v1/namespaces/shop/pods/${pods[0]}?dryRun=All`);
    expect(answer.status).toBe(200);
    expect((answer.json as { metadata?: { deletionGracePeriodSeconds?: number } }).metadata?.deletionGracePeriodSeconds).toBe(30);
    expect(kube.get("pods", "shop", pods[0]!)?.metadata.deletionTimestamp).toBeUndefined();
  });
});

describe("budgets the disruption controller has not caught up with", () => {
  it("a spec change bumps generation; until the controller syncs, evictions answer 429 'still being processed' with Retry-After 10", async () => {
    // Prepare: a slow controller
    const { core, policy, pods, kube } = await workload({ maxUnavailable: 1 }, 4, {}, { controllers: { disruption: { syncDelayMs: 400 } } });
    const budget = await policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "shop" });
    // Act
    const changed = await policy.replaceNamespacedPodDisruptionBudget({ name: "web", namespace: "shop", body: { ...budget, spec: { ...budget.spec, maxUnavailable: 2 } } });
    const lagging = await failure(core.createNamespacedPodEviction({ name: pods[0]!, namespace: "shop", body: eviction(pods[0]!) }));
    await kube.idle();
    const synced = await policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "shop" });
    await core.createNamespacedPodEviction({ name: pods[0]!, namespace: "shop", body: eviction(pods[0]!) });
    // Assess
    expect(budget.metadata?.generation).toBe(1);
    expect(changed.metadata?.generation).toBe(2);
    expect(changed.status?.observedGeneration).toBe(1);
    expect(lagging.code).toBe(429);
    expect(lagging.headers["retry-after"]).toBe("10");
    expect(lagging.body).toMatchObject({ reason: "TooManyRequests", message: "Cannot evict pod as it would violate the pod's disruption budget.", details: { retryAfterSeconds: 10 } });
    expect(lagging.body.details?.causes).toEqual([{ reason: "DisruptionBudget", message: "The disruption budget web is still being processed by the server." }]);
    expect(synced.status).toMatchObject({ observedGeneration: 2, disruptionsAllowed: 2, desiredHealthy: 2 });
  });

  it("a new budget allows nothing until its first sync", async () => {
    const { core, policy, pods, kube } = await workload(undefined, 2, {}, { controllers: { disruption: { syncDelayMs: 300 } } });
    const created = await policy.createNamespacedPodDisruptionBudget({ namespace: "shop", body: { metadata: { name: "web" }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: "web" } } } } });
    const early = await failure(core.createNamespacedPodEviction({ name: pods[0]!, namespace: "shop", body: eviction(pods[0]!) }));
    await kube.idle();
    await core.createNamespacedPodEviction({ name: pods[0]!, namespace: "shop", body: eviction(pods[0]!) });
    expect(created.status).toEqual({ disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 });
    expect(early.body.details?.causes?.[0]?.message).toBe("The disruption budget web is still being processed by the server.");
  });

  it("status is written by the controller after its sync delay, not computed on read", async () => {
    const { core, policy, pods, kube } = await workload({ maxUnavailable: 1 }, 4, {}, { controllers: { disruption: { syncDelayMs: 300 } } });
    await core.deleteNamespacedPod({ name: pods[0]!, namespace: "shop" });
    const right = await policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "shop" });
    await kube.idle();
    const later = await policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "shop" });
    expect(right.status).toMatchObject({ currentHealthy: 4, disruptionsAllowed: 1 });
    expect(later.status).toMatchObject({ currentHealthy: 3, desiredHealthy: 3, disruptionsAllowed: 0, expectedPods: 4 });
    expect(later.status?.conditions?.[0]).toMatchObject({ type: "DisruptionAllowed", status: "False", reason: "InsufficientPods", observedGeneration: 1 });
  });

  it("the /status subresource is writable: an eviction honours the status as written, and a negative budget is 403", async () => {
    // Prepare: no controller, so the written status stays
    const { core, policy, pods } = await workload({ minAvailable: 4 }, 4, {}, { controllers: { disruption: false } });
    const budget = await policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "shop" });
    const odd = { ...budget.status!, observedGeneration: 1, disruptionsAllowed: 1, currentHealthy: 9, desiredHealthy: 4, expectedPods: 4 };
    // Act
    await policy.replaceNamespacedPodDisruptionBudgetStatus({ name: "web", namespace: "shop", body: { ...budget, status: odd } });
    await core.createNamespacedPodEviction({ name: pods[0]!, namespace: "shop", body: eviction(pods[0]!) });
    const afterOne = await policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "shop" });
    await policy.replaceNamespacedPodDisruptionBudgetStatus({ name: "web", namespace: "shop", body: { ...afterOne, status: { ...afterOne.status!, disruptionsAllowed: -1 } } });
    const negative = await failure(core.createNamespacedPodEviction({ name: pods[1]!, namespace: "shop", body: eviction(pods[1]!) }));
    // Assess
    expect(afterOne.status?.disruptionsAllowed).toBe(0);
    expect(afterOne.spec?.minAvailable).toBe(4);
    expect(negative.code).toBe(403);
    expect(negative.body).toMatchObject({ reason: "Forbidden", message: 'poddisruptionbudget.policy "web" is forbidden: pdb disruptions allowed is negative', details: { name: "web", group: "policy", kind: "poddisruptionbudget" } });
  });
});

describe("the disruption controller's arithmetic", () => {
  it("leaves pods without a controller out of the expected count, with an UnmanagedPods warning, instead of failing", async () => {
    // Prepare: 4 replicas and 2 bare pods with the same labels, a percentage budget
    const h = await startHarness();
    const seed = emptySeed();
    seed.namespaces.push("shop");
    seed.nodes.push(nodeFixture({ name: NODES[0]!, instanceId: "i-0800000000000000", zone: "us-west-2a", instanceType: "m6i.large", capacityType: "SPOT", nodegroup: "spot", internalIp: "10.0.8.1" }));
    const { deployment, pdb } = deploymentFixture({ namespace: "shop", name: "web", replicas: 4, pdb: { maxUnavailable: "50%" } });
    seed.deployments.push(deployment);
    seed.pdbs.push(pdb!);
    for (const name of ["bare-1", "bare-2"]) {
      const bare = barePodFixture({ namespace: "shop", name, nodeName: NODES[0]! });
      bare.metadata.labels = { ...bare.metadata.labels, app: "web" };
      seed.pods.push(bare);
    }
    // Act
    await h.kube.seed(seed);
    const status = (await h.policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "shop" })).status;
    const events = (await h.core.listNamespacedEvent({ namespace: "shop" })).items.filter((e) => e.involvedObject.kind === "PodDisruptionBudget");
    // Assess: expected = the deployment's 4; 6 ready pods are healthy
    expect(status).toMatchObject({ expectedPods: 4, desiredHealthy: 2, currentHealthy: 6, disruptionsAllowed: 4 });
    expect(status?.conditions?.[0]).toMatchObject({ type: "DisruptionAllowed", status: "True", reason: "SufficientPods" });
    const warning = events.find((e) => e.reason === "UnmanagedPods");
    expect(warning).toMatchObject({ type: "Warning", involvedObject: { name: "web", namespace: "shop" }, source: { component: "controllermanager" } });
    expect(warning?.message).toContain("were found to be unmanaged");
    expect(warning?.message).toContain('To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.');
  });

  it("fails safe (SyncFailed, nothing allowed) when a pod's controller has no scale it can read", async () => {
    const h = await startHarness();
    await h.kube.seed(emptySeed());
    await h.core.createNamespace({ body: { metadata: { name: "jobs" } } });
    await h.core.createNamespacedPod({
      namespace: "jobs",
      body: {
        metadata: { name: "batch-1", labels: { app: "batch" }, ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: "batch", uid: "3a7c9a1e-0000-4000-8000-000000000001", controller: true }] },
        spec: { containers: [{ name: "c", image: "busybox:1.36" }] },
      },
    });
    await h.policy.createNamespacedPodDisruptionBudget({ namespace: "jobs", body: { metadata: { name: "batch" }, spec: { maxUnavailable: "10%", selector: { matchLabels: { app: "batch" } } } } });
    await h.kube.idle();
    const pdb = await h.policy.readNamespacedPodDisruptionBudget({ name: "batch", namespace: "jobs" });
    const events = (await h.core.listNamespacedEvent({ namespace: "jobs" })).items;
    expect(pdb.status?.disruptionsAllowed).toBe(0);
    expect(pdb.status?.observedGeneration ?? 0).toBe(0);
    expect(pdb.status?.conditions?.[0]).toMatchObject({ type: "DisruptionAllowed", status: "False", reason: "SyncFailed", message: 'found no controllers for pod "batch-1"' });
    expect(events.find((e) => e.reason === "CalculateExpectedPodCountFailed")?.message).toBe('Failed to calculate the number of expected pods: found no controllers for pod "batch-1"');
  });

  it("says so when a budget matches no pod", async () => {
    const h = await startHarness();
    await h.kube.seed(emptySeed());
    await h.core.createNamespace({ body: { metadata: { name: "apps" } } });
    await h.policy.createNamespacedPodDisruptionBudget({ namespace: "apps", body: { metadata: { name: "nothing" }, spec: { minAvailable: 1, selector: { matchLabels: { app: "none" } } } } });
    await h.kube.idle();
    const pdb = await h.policy.readNamespacedPodDisruptionBudget({ name: "nothing", namespace: "apps" });
    const events = (await h.core.listNamespacedEvent({ namespace: "apps" })).items;
    expect(pdb.status).toMatchObject({ expectedPods: 0, currentHealthy: 0, desiredHealthy: 1, disruptionsAllowed: 0, observedGeneration: 1 });
    expect(events.find((e) => e.reason === "NoPods")).toMatchObject({ type: "Normal", message: "No matching pods found" });
  });

  it("an eviction that never happened stops counting against the budget after the deletion timeout", async () => {
    // Prepare: a budget status that names a pod as disrupted, but the pod was never deleted
    const { policy, pods, kube } = await workload({ maxUnavailable: 1 }, 4, {}, { controllers: { disruption: { deletionTimeoutMs: 300 } } });
    const budget = await policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "shop" });
    await policy.replaceNamespacedPodDisruptionBudgetStatus({
      name: "web",
      namespace: "shop",
      body: { ...budget, status: { ...budget.status!, disruptionsAllowed: 0, disruptedPods: { [pods[0]!]: new Date() } } },
    });
    await kube.idle();
    const pending = await policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "shop" });
    // Act: wait past the timeout
    await new Promise((r) => setTimeout(r, 500));
    await kube.idle();
    const expired = await policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "shop" });
    // Assess
    expect(pending.status).toMatchObject({ currentHealthy: 3, disruptionsAllowed: 0 });
    expect(Object.keys(pending.status?.disruptedPods ?? {})).toEqual([pods[0]]);
    expect(expired.status).toMatchObject({ currentHealthy: 4, disruptionsAllowed: 1 });
    expect(expired.status?.disruptedPods).toBeUndefined();
  });
});
