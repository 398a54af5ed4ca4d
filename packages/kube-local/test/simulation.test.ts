import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { DEMO_INTERRUPTED_NODE, deploymentFixture, emptySeed, findResource, nodeFixture, type ResourceType } from "../src/index";
import { eventually, failure, startHarness } from "./harness";

const smp = setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch);

describe("simulated kubelet and controllers", () => {
  it("seeds the demo cluster settled: pods placed, running and ready; workloads report ready", async () => {
    const { core, apps, policy } = await startHarness({ seed: "demo" });
    const pods = (await core.listPodForAllNamespaces()).items;
    const onInterrupted = pods.filter((p) => p.spec?.nodeName === DEMO_INTERRUPTED_NODE).map((p) => p.metadata?.name ?? "");
    const deployments = (await apps.listDeploymentForAllNamespaces()).items;
    const pdbs = (await policy.listPodDisruptionBudgetForAllNamespaces()).items;
    expect(pods.every((p) => p.status?.phase === "Running" && p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"))).toBe(true);
    expect(onInterrupted.filter((n) => n.startsWith("storefront-"))).toHaveLength(2);
    expect(onInterrupted.filter((n) => n.startsWith("checkout-"))).toHaveLength(1);
    expect(onInterrupted.filter((n) => n.startsWith("cart-cache-"))).toHaveLength(1);
    expect(onInterrupted.filter((n) => n.startsWith("aws-node-"))).toHaveLength(1);
    expect(onInterrupted).toContain("debug-shell");
    expect(onInterrupted).toContain(`static-log-agent-${DEMO_INTERRUPTED_NODE}`);
    expect(deployments.every((d) => d.status?.readyReplicas === d.spec?.replicas)).toBe(true);
    expect(pdbs.find((p) => p.metadata?.name === "storefront")?.status).toMatchObject({ desiredHealthy: 5, currentHealthy: 6, disruptionsAllowed: 1 });
  });

  it("completes a graceful deletion after the grace period scaled by the clock factor", async () => {
    const { core } = await startHarness({ seed: "demo", simulation: { timeScale: 0.01 } });
    const started = Date.now();
    await core.deleteNamespacedPod({ name: "debug-shell", namespace: "shop", gracePeriodSeconds: 30 });
    expect((await core.readNamespacedPod({ name: "debug-shell", namespace: "shop" })).metadata?.deletionTimestamp).toBeDefined();
    await eventually(() => failure(core.readNamespacedPod({ name: "debug-shell", namespace: "shop" })).then((f) => f.code).catch(() => 200), (code) => code === 404);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("re-creates an evicted ReplicaSet pod on a schedulable node whose taints it tolerates", async () => {
    const { core } = await startHarness({ seed: "demo", simulation: { timeScale: 0.01, podStartupSeconds: 1 } });
    await core.patchNode({ name: DEMO_INTERRUPTED_NODE, body: { spec: { unschedulable: true } } }, smp);
    const victim = (await core.listNamespacedPod({ namespace: "shop", fieldSelector: `spec.nodeName=${DEMO_INTERRUPTED_NODE}`, labelSelector: "app=checkout" })).items[0]!;
    await core.createNamespacedPodEviction({ name: victim.metadata!.name!, namespace: "shop", body: { metadata: { name: victim.metadata!.name! } } });
    const replacement = await eventually(
      async () => (await core.listNamespacedPod({ namespace: "shop", labelSelector: "app=checkout" })).items.filter((p) => p.metadata?.name !== victim.metadata?.name),
      (pods) => pods.length === 3 && pods.every((p) => p.status?.phase === "Running"),
    );
    const nodes = new Set(replacement.map((p) => p.spec?.nodeName));
    expect(nodes.has(DEMO_INTERRUPTED_NODE)).toBe(false);
    for (const name of nodes) expect(name).toMatch(/^ip-10-0-(2-22|3-23)\./);
  });

  it("leaves a pod Pending with the scheduler's reason when no node fits", async () => {
    const h = await startHarness({ simulation: { timeScale: 0.01 } });
    const seed = emptySeed();
    seed.namespaces.push("shop");
    seed.nodes.push(
      nodeFixture({ name: "tainted", instanceId: "i-01", zone: "us-west-2a", instanceType: "m6i.large", capacityType: "SPOT", nodegroup: "spot", internalIp: "10.0.0.1", taints: [{ key: "spot-manager/spot-itn", value: "x", effect: "NoSchedule" }] }),
      nodeFixture({ name: "cordoned", instanceId: "i-02", zone: "us-west-2a", instanceType: "m6i.large", capacityType: "ON_DEMAND", nodegroup: "base", internalIp: "10.0.0.2", unschedulable: true }),
    );
    seed.deployments.push(deploymentFixture({ namespace: "shop", name: "web", replicas: 1 }).deployment);
    await h.kube.seed(seed);
    const pod = await eventually(
      async () => (await h.core.listNamespacedPod({ namespace: "shop" })).items[0],
      (p) => p?.status?.conditions?.some((c) => c.reason === "Unschedulable") ?? false,
    );
    expect(pod?.status?.phase).toBe("Pending");
    expect(pod?.status?.conditions?.find((c) => c.type === "PodScheduled")?.message).toBe(
      "0/2 nodes are available: 1 node(s) had untolerated taint {spot-manager/spot-itn: x}, 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
    );
    await h.core.patchNode({ name: "cordoned", body: { spec: { unschedulable: false } } }, smp);
    const scheduled = await eventually(async () => (await h.core.listNamespacedPod({ namespace: "shop" })).items[0], (p) => p?.status?.phase === "Running");
    expect(scheduled?.spec?.nodeName).toBe("cordoned");
  });

  it("prefers nodes without untolerated PreferNoSchedule taints", async () => {
    const h = await startHarness({ simulation: { timeScale: 0.01 } });
    const seed = emptySeed();
    seed.namespaces.push("shop");
    seed.nodes.push(
      nodeFixture({ name: "a-spot", instanceId: "i-01", zone: "us-west-2a", instanceType: "m6i.large", capacityType: "SPOT", nodegroup: "spot", internalIp: "10.0.0.1", taints: [{ key: "spot-manager/rebalance", value: "x", effect: "PreferNoSchedule" }] }),
      nodeFixture({ name: "b-base", instanceId: "i-02", zone: "us-west-2a", instanceType: "m6i.large", capacityType: "ON_DEMAND", nodegroup: "base", internalIp: "10.0.0.2" }),
    );
    seed.deployments.push(deploymentFixture({ namespace: "shop", name: "web", replicas: 3 }).deployment);
    await h.kube.seed(seed);
    const pods = (await h.core.listNamespacedPod({ namespace: "shop" })).items;
    expect(pods.map((p) => p.spec?.nodeName)).toEqual(["b-base", "b-base", "b-base"]);
  });

  it("keeps one DaemonSet pod per node, also on a cordoned node, and recreates it when deleted", async () => {
    const { core } = await startHarness({ seed: "demo", simulation: { timeScale: 0.01 } });
    await core.patchNode({ name: DEMO_INTERRUPTED_NODE, body: { spec: { unschedulable: true } } }, smp);
    const ds = (await core.listNamespacedPod({ namespace: "kube-system", labelSelector: "k8s-app=aws-node", fieldSelector: `spec.nodeName=${DEMO_INTERRUPTED_NODE}` })).items[0]!;
    await core.deleteNamespacedPod({ name: ds.metadata!.name!, namespace: "kube-system", gracePeriodSeconds: 0 });
    const again = await eventually(
      async () => (await core.listNamespacedPod({ namespace: "kube-system", labelSelector: "k8s-app=aws-node", fieldSelector: `spec.nodeName=${DEMO_INTERRUPTED_NODE}` })).items,
      (pods) => pods.length === 1 && pods[0]?.metadata?.name !== ds.metadata?.name,
    );
    expect(again[0]?.metadata?.ownerReferences?.[0]?.kind).toBe("DaemonSet");
  });

  it("garbage-collects pods of a deleted node and dependents of a deleted Deployment", async () => {
    const { core, apps, kube } = await startHarness({ seed: "demo", simulation: { timeScale: 0.01 } });
    await core.deleteNode({ name: DEMO_INTERRUPTED_NODE });
    await apps.deleteNamespacedDeployment({ name: "cart-cache", namespace: "shop" });
    await eventually(
      () => kube.list("pods").filter((p) => (p["spec"] as { nodeName?: string }).nodeName === DEMO_INTERRUPTED_NODE).length,
      (n) => n === 0,
    );
    await eventually(() => kube.list("replicasets", "shop").filter((rs) => rs.metadata.name?.startsWith("cart-cache")).length + kube.list("pods", "shop").filter((p) => p.metadata.name?.startsWith("cart-cache")).length, (n) => n === 0);
  });

  it("binds a pod that waited for room as soon as a pod on a full node goes", async () => {
    const h = await startHarness({ simulation: { timeScale: 0.01 } });
    const seed = emptySeed();
    seed.namespaces.push("shop");
    seed.nodes.push(nodeFixture({ name: "small", instanceId: "i-01", zone: "us-west-2a", instanceType: "t3.micro", capacityType: "ON_DEMAND", nodegroup: "base", internalIp: "10.0.0.1", allocatable: { pods: "1" } }));
    seed.deployments.push(deploymentFixture({ namespace: "shop", name: "web", replicas: 1 }).deployment);
    await h.kube.seed(seed);
    const [running] = (await h.core.listNamespacedPod({ namespace: "shop" })).items;
    await h.core.createNamespacedPod({ namespace: "shop", body: { metadata: { name: "latecomer" }, spec: { containers: [{ name: "c", image: "busybox" }] } } });
    await eventually(
      () => h.core.readNamespacedPod({ namespace: "shop", name: "latecomer" }),
      (p) => p.status?.conditions?.some((c) => c.type === "PodScheduled" && c.message?.includes("1 Too many pods")) ?? false,
    );
    await h.apps.patchNamespacedDeploymentScale({ namespace: "shop", name: "web", body: { spec: { replicas: 0 } } }, smp);
    const bound = await eventually(() => h.core.readNamespacedPod({ namespace: "shop", name: "latecomer" }), (p) => p.status?.phase === "Running");
    expect(bound.spec?.nodeName).toBe("small");
    expect((await h.core.listNamespacedPod({ namespace: "shop", labelSelector: "app=web" })).items.map((p) => p.metadata?.name)).not.toContain(running?.metadata?.name);
  });

  it("follows a Deployment's replicas both ways and garbage-collects a pod created for an owner that does not exist", async () => {
    const h = await startHarness({ seed: "demo", simulation: { timeScale: 0.01 } });
    const count = async () => (await h.core.listNamespacedPod({ namespace: "shop", labelSelector: "app=storefront" })).items.filter((p) => !p.metadata?.deletionTimestamp).length;
    await h.apps.patchNamespacedDeploymentScale({ namespace: "shop", name: "storefront", body: { spec: { replicas: 8 } } }, smp);
    await eventually(count, (n) => n === 8);
    await h.apps.patchNamespacedDeploymentScale({ namespace: "shop", name: "storefront", body: { spec: { replicas: 2 } } }, smp);
    await eventually(count, (n) => n === 2);
    await h.core.createNamespacedPod({
      namespace: "shop",
      body: { metadata: { name: "stray", ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "gone", uid: "00000000-0000-0000-0000-000000000000", controller: true }] }, spec: { containers: [{ name: "c", image: "busybox" }] } },
    });
    await eventually(() => failure(h.core.readNamespacedPod({ namespace: "shop", name: "stray" })).then((f) => f.code).catch(() => 200), (code) => code === 404);
  });

  it("replaces a pod its ReplicaSet no longer owns (its controller reference removed), as the ReplicaSet controller does", async () => {
    const h = await startHarness({ simulation: { timeScale: 0.01 } });
    const seed = emptySeed();
    seed.namespaces.push("shop");
    seed.nodes.push(nodeFixture({ name: "node-a", instanceId: "i-01", zone: "us-west-2a", instanceType: "m6i.large", capacityType: "ON_DEMAND", nodegroup: "base", internalIp: "10.0.0.1" }));
    seed.deployments.push(deploymentFixture({ namespace: "shop", name: "web", replicas: 1 }).deployment);
    await h.kube.seed(seed);
    const [pod] = (await h.core.listNamespacedPod({ namespace: "shop" })).items;
    await h.core.patchNamespacedPod({ namespace: "shop", name: pod!.metadata!.name!, body: [{ op: "remove", path: "/metadata/ownerReferences" }] }, setHeaderOptions("Content-Type", PatchStrategy.JsonPatch));
    const pods = await eventually(async () => (await h.core.listNamespacedPod({ namespace: "shop" })).items, (items) => items.length === 2);
    expect(pods.filter((p) => p.metadata?.ownerReferences?.[0]?.kind === "ReplicaSet")).toHaveLength(1);
  });

  it("garbage-collects a lease written for a node that does not exist", async () => {
    const { kube } = await startHarness({ seed: "demo", simulation: { timeScale: 0.01 } });
    const leases = findResource("coordination.k8s.io", "v1", "leases") as ResourceType;
    kube.registry.create(leases, "kube-node-lease", {
      metadata: { name: "ghost", namespace: "kube-node-lease", ownerReferences: [{ apiVersion: "v1", kind: "Node", name: "ghost", uid: "00000000-0000-0000-0000-0000000000aa" }] },
      spec: { holderIdentity: "ghost", leaseDurationSeconds: 40 },
    });
    await eventually(() => kube.get("leases", "kube-node-lease", "ghost"), (lease) => lease === undefined);
  });

  it("removes the lease of a deleted node with the node", async () => {
    const { core, kube } = await startHarness({ seed: "demo", simulation: { timeScale: 0.01 } });
    await eventually(() => kube.get("leases", "kube-node-lease", DEMO_INTERRUPTED_NODE), (lease) => lease !== undefined);
    await core.deleteNode({ name: DEMO_INTERRUPTED_NODE });
    await eventually(() => kube.get("leases", "kube-node-lease", DEMO_INTERRUPTED_NODE), (lease) => lease === undefined);
  });

  it("does nothing on its own when the simulation is off", async () => {
    const { core } = await startHarness({ seed: "demo", simulation: false });
    await core.deleteNamespacedPod({ name: "debug-shell", namespace: "shop" });
    await new Promise((r) => setTimeout(r, 100));
    expect((await core.readNamespacedPod({ name: "debug-shell", namespace: "shop" })).metadata?.deletionTimestamp).toBeDefined();
  });
});
