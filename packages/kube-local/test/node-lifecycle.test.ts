/**
 * Node taints as the node lifecycle controller keeps them: spec.unschedulable brings
 * node.kubernetes.io/unschedulable, the Ready condition brings not-ready or unreachable, and the
 * scheduler sees nodes through those taints, as on a real cluster.
 */
import { PatchStrategy, setHeaderOptions, type V1Node } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { deploymentFixture, emptySeed, nodeFixture } from "../src/index";
import { eventually, startHarness } from "./harness";

const NODES = ["ip-10-0-7-1.us-west-2.compute.internal", "ip-10-0-7-2.us-west-2.compute.internal"];
const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const keys = (node: V1Node) => (node.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort();

async function cluster(simulation = false) {
  const h = await startHarness(simulation ? { simulation: { timeScale: 0.01, podStartupSeconds: 0.5 } } : {});
  const seed = emptySeed();
  NODES.forEach((name, i) =>
    seed.nodes.push(
      nodeFixture({
        name,
        instanceId: `i-070000000000000${i}`,
        zone: "us-west-2a",
        instanceType: "m6i.large",
        capacityType: "SPOT",
        nodegroup: "spot",
        internalIp: `10.0.7.${i + 1}`,
        taints: [{ key: "example.com/dedicated", value: "batch", effect: "PreferNoSchedule" }],
      }),
    ),
  );
  seed.namespaces.push("shop");
  await h.kube.seed(seed);
  return h;
}

async function setReady(h: Awaited<ReturnType<typeof cluster>>, name: string, status: "True" | "False" | "Unknown") {
  const node = await h.core.readNode({ name });
  node.status!.conditions = node.status!.conditions!.map((c) => (c.type === "Ready" ? { ...c, status } : c));
  await h.core.replaceNodeStatus({ name, body: node });
}

describe("node lifecycle taints", () => {
  it("a cordon brings node.kubernetes.io/unschedulable:NoSchedule and an uncordon takes it away, other taints untouched", async () => {
    const h = await cluster();
    await h.core.patchNode({ name: NODES[0]!, body: { spec: { unschedulable: true } } }, merge);
    const cordoned = await eventually(
      () => h.core.readNode({ name: NODES[0]! }),
      (n) => keys(n).includes("node.kubernetes.io/unschedulable:NoSchedule"),
    );
    await h.core.patchNode({ name: NODES[0]!, body: { spec: { unschedulable: null } } }, merge);
    const uncordoned = await eventually(
      () => h.core.readNode({ name: NODES[0]! }),
      (n) => !keys(n).includes("node.kubernetes.io/unschedulable:NoSchedule"),
    );
    expect(keys(cordoned)).toEqual(["example.com/dedicated:PreferNoSchedule", "node.kubernetes.io/unschedulable:NoSchedule"]);
    expect(cordoned.spec?.taints?.find((t) => t.key === "node.kubernetes.io/unschedulable")?.timeAdded).toBeUndefined();
    expect(keys(uncordoned)).toEqual(["example.com/dedicated:PreferNoSchedule"]);
  });

  it("Ready False brings not-ready (NoSchedule and a stamped NoExecute), Unknown swaps it for unreachable, True clears both", async () => {
    const h = await cluster();
    await setReady(h, NODES[1]!, "False");
    const notReady = await eventually(() => h.core.readNode({ name: NODES[1]! }), (n) => keys(n).length === 3);
    await setReady(h, NODES[1]!, "Unknown");
    const unreachable = await eventually(() => h.core.readNode({ name: NODES[1]! }), (n) => keys(n).some((k) => k.startsWith("node.kubernetes.io/unreachable")));
    await setReady(h, NODES[1]!, "True");
    const ready = await eventually(() => h.core.readNode({ name: NODES[1]! }), (n) => keys(n).length === 1);
    expect(keys(notReady)).toEqual(["example.com/dedicated:PreferNoSchedule", "node.kubernetes.io/not-ready:NoExecute", "node.kubernetes.io/not-ready:NoSchedule"]);
    expect(notReady.spec?.taints?.find((t) => t.effect === "NoExecute")?.timeAdded).toBeDefined();
    expect(keys(unreachable)).toEqual(["example.com/dedicated:PreferNoSchedule", "node.kubernetes.io/unreachable:NoExecute", "node.kubernetes.io/unreachable:NoSchedule"]);
    expect(keys(ready)).toEqual(["example.com/dedicated:PreferNoSchedule"]);
  });

  it("a taint someone else removes comes back while its cause stays", async () => {
    const h = await cluster();
    await h.core.patchNode({ name: NODES[0]!, body: { spec: { unschedulable: true } } }, merge);
    await eventually(() => h.core.readNode({ name: NODES[0]! }), (n) => keys(n).includes("node.kubernetes.io/unschedulable:NoSchedule"));
    const node = await h.core.readNode({ name: NODES[0]! });
    await h.core.replaceNode({ name: NODES[0]!, body: { ...node, spec: { ...node.spec, taints: node.spec?.taints?.filter((t) => t.key !== "node.kubernetes.io/unschedulable") } } });
    const back = await eventually(() => h.core.readNode({ name: NODES[0]! }), (n) => keys(n).includes("node.kubernetes.io/unschedulable:NoSchedule"));
    expect(back.spec?.unschedulable).toBe(true);
  });

  it("the scheduler keeps new pods off a not-ready node through its taint", async () => {
    const h = await cluster(true);
    await setReady(h, NODES[1]!, "False");
    await eventually(() => h.core.readNode({ name: NODES[1]! }), (n) => keys(n).includes("node.kubernetes.io/not-ready:NoSchedule"));
    const { deployment } = deploymentFixture({ namespace: "shop", name: "web", replicas: 4 });
    await h.apps.createNamespacedDeployment({ namespace: "shop", body: deployment as never });
    const pods = await eventually(
      () => h.core.listNamespacedPod({ namespace: "shop" }),
      (list) => list.items.length === 4 && list.items.every((p) => p.spec?.nodeName),
    );
    expect(new Set(pods.items.map((p) => p.spec?.nodeName))).toEqual(new Set([NODES[0]]));
  });
});
