import { PatchStrategy, setHeaderOptions, Watch, type V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { barePodFixture, emptySeed, nodeFixture } from "../src/index";
import { failure, raw, startHarness } from "./harness";

const NODE = "ip-10-0-9-1.us-west-2.compute.internal";

async function podCluster(pods = 3) {
  const h = await startHarness();
  const seed = emptySeed();
  seed.namespaces.push("default", "shop");
  seed.nodes.push(nodeFixture({ name: NODE, instanceId: "i-0900000000000001", zone: "us-west-2a", instanceType: "m6i.large", capacityType: "SPOT", nodegroup: "spot", internalIp: "10.0.9.1" }));
  for (let i = 0; i < pods; i += 1) {
    seed.pods.push(barePodFixture({ namespace: "shop", name: `web-${i}`, nodeName: NODE, labels: { app: "web", tier: i === 0 ? "front" : "back" } }));
  }
  await h.kube.seed(seed);
  return h;
}

function pod(name: string, extra: Partial<V1Pod["spec"]> = {}): V1Pod {
  return { metadata: { name, labels: { app: "api" } }, spec: { containers: [{ name: "c", image: "nginx:1.27" }], ...extra } };
}

describe("get and list", () => {
  it("gets a node and a namespaced pod, and answers 404 with a Status for a missing one", async () => {
    // Prepare
    const { core } = await podCluster();
    // Act
    const node = await core.readNode({ name: NODE });
    const web = await core.readNamespacedPod({ name: "web-0", namespace: "shop" });
    const missing = await failure(core.readNamespacedPod({ name: "nope", namespace: "shop" }));
    // Assess
    expect(node.spec?.providerID).toBe("aws:///us-west-2a/i-0900000000000001");
    expect(web.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(web.metadata?.resourceVersion).toMatch(/^\d+$/);
    expect(missing.code).toBe(404);
    expect(missing.body).toMatchObject({ kind: "Status", status: "Failure", reason: "NotFound", message: 'pods "nope" not found', details: { name: "nope", kind: "pods" }, code: 404 });
  });

  it("lists with equality and set-based label selectors", async () => {
    const { core } = await podCluster();
    const names = async (labelSelector: string) => (await core.listNamespacedPod({ namespace: "shop", labelSelector })).items.map((p) => p.metadata?.name);
    expect(await names("app=web,tier=front")).toEqual(["web-0"]);
    expect(await names("tier in (back)")).toEqual(["web-1", "web-2"]);
    expect(await names("tier notin (back),app")).toEqual(["web-0"]);
    expect(await names("!missing")).toEqual(["web-0", "web-1", "web-2"]);
    expect(await names("tier!=front")).toEqual(["web-1", "web-2"]);
  });

  it("lists across namespaces with field selectors on spec.nodeName, status.phase and metadata.name", async () => {
    const { core } = await podCluster();
    const onNode = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${NODE}` });
    const running = await core.listPodForAllNamespaces({ fieldSelector: "status.phase=Running,metadata.name!=web-1" });
    const elsewhere = await core.listPodForAllNamespaces({ fieldSelector: "spec.nodeName=other" });
    const byNamespace = await core.listPodForAllNamespaces({ fieldSelector: "metadata.namespace=default" });
    expect(onNode.items).toHaveLength(3);
    expect(running.items.map((p) => p.metadata?.name)).toEqual(["web-0", "web-2"]);
    expect(elsewhere.items).toHaveLength(0);
    expect(byNamespace.items).toHaveLength(0);
  });

  it("keeps spec.nodeName selections right as pods are bound, deleted and paged: spec.nodeName= finds the unbound", async () => {
    // Prepare
    const { core } = await podCluster(2);
    await core.createNamespacedPod({ namespace: "shop", body: pod("pending") });
    await core.createNamespacedPod({ namespace: "default", body: pod("elsewhere", { nodeName: NODE }) });
    await core.deleteNamespacedPod({ namespace: "shop", name: "web-1", gracePeriodSeconds: 0 });
    const names = async (fieldSelector: string, namespace?: string) =>
      (namespace ? await core.listNamespacedPod({ namespace, fieldSelector }) : await core.listPodForAllNamespaces({ fieldSelector })).items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`);
    // Act
    const onNode = await names(`spec.nodeName=${NODE}`);
    const onNodeInShop = await names(`spec.nodeName=${NODE}`, "shop");
    const unbound = await names("spec.nodeName=");
    const notOnNode = await names(`spec.nodeName!=${NODE}`);
    const firstPage = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${NODE}`, limit: 1 });
    const secondPage = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${NODE}`, limit: 1, _continue: firstPage.metadata?._continue });
    // Assess
    expect(onNode).toEqual(["default/elsewhere", "shop/web-0"]);
    expect(onNodeInShop).toEqual(["shop/web-0"]);
    expect(unbound).toEqual(["shop/pending"]);
    expect(notOnNode).toEqual(["shop/pending"]);
    expect([...firstPage.items, ...secondPage.items].map((p) => p.metadata?.name)).toEqual(["elsewhere", "web-0"]);
    expect(secondPage.metadata?._continue).toBeUndefined();
  });

  it("rejects an unsupported field selector and a malformed label selector with 400", async () => {
    const { core } = await podCluster();
    const field = await failure(core.listPodForAllNamespaces({ fieldSelector: "spec.hostname=x" }));
    const label = await failure(core.listPodForAllNamespaces({ labelSelector: "app in (a" }));
    expect(field.code).toBe(400);
    expect(field.body.reason).toBe("BadRequest");
    expect(field.body.message).toContain("field label not supported: spec.hostname");
    expect(label.code).toBe(400);
  });

  it("pages a list with limit and continue, then reports no further page", async () => {
    const { core } = await podCluster(5);
    const first = await core.listNamespacedPod({ namespace: "shop", limit: 2 });
    const second = await core.listNamespacedPod({ namespace: "shop", limit: 2, _continue: first.metadata?._continue });
    const third = await core.listNamespacedPod({ namespace: "shop", limit: 2, _continue: second.metadata?._continue });
    expect(first.items.map((p) => p.metadata?.name)).toEqual(["web-0", "web-1"]);
    expect(first.metadata?.remainingItemCount).toBe(3);
    expect(second.items.map((p) => p.metadata?.name)).toEqual(["web-2", "web-3"]);
    expect(third.items.map((p) => p.metadata?.name)).toEqual(["web-4"]);
    expect(third.metadata?._continue).toBeUndefined();
    const bad = await raw((await podCluster()).kube, "GET", "/api/v1/namespaces/shop/pods?limit=1&continue=garbage");
    expect(bad.status).toBe(400);
  });
});

describe("create", () => {
  it("creates with defaults, uid and resourceVersion, and answers 409 AlreadyExists on a second create", async () => {
    const { core } = await podCluster(0);
    const created = await core.createNamespacedPod({ namespace: "shop", body: pod("api-0") });
    const again = await failure(core.createNamespacedPod({ namespace: "shop", body: pod("api-0") }));
    expect(created.status?.phase).toBe("Pending");
    expect(created.spec?.restartPolicy).toBe("Always");
    expect(created.spec?.terminationGracePeriodSeconds).toBe(30);
    expect(created.spec?.tolerations?.map((t) => t.key)).toEqual(["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]);
    expect(again.code).toBe(409);
    expect(again.body).toMatchObject({ reason: "AlreadyExists", message: 'pods "api-0" already exists' });
  });

  it("names objects from generateName and rejects invalid ones with 422 and field causes", async () => {
    const { core } = await podCluster(0);
    const generated = await core.createNamespacedPod({ namespace: "shop", body: { ...pod(""), metadata: { generateName: "api-" } } });
    const invalid = await failure(core.createNamespacedPod({ namespace: "shop", body: { metadata: { name: "Bad_Name" }, spec: { containers: [] } } }));
    expect(generated.metadata?.name).toMatch(/^api-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(invalid.code).toBe(422);
    expect(invalid.body.reason).toBe("Invalid");
    expect(invalid.body.details?.causes?.map((c) => c.field)).toEqual(["metadata.name"]);
    const noContainers = await failure(core.createNamespacedPod({ namespace: "shop", body: { metadata: { name: "ok" }, spec: { containers: [] } } }));
    expect(noContainers.body.details?.causes).toEqual([{ reason: "FieldValueRequired", message: "Required value", field: "spec.containers" }]);
  });

  it("refuses to create in a namespace that does not exist", async () => {
    const { core } = await podCluster(0);
    const missing = await failure(core.createNamespacedPod({ namespace: "ghost", body: pod("x") }));
    expect(missing.code).toBe(404);
    expect(missing.body.message).toBe('namespaces "ghost" not found');
  });
});

describe("update", () => {
  it("updates with the current resourceVersion and answers 409 Conflict with a stale one", async () => {
    const { core } = await podCluster();
    const node = await core.readNode({ name: NODE });
    node.metadata!.labels = { ...node.metadata!.labels, team: "a" };
    const updated = await core.replaceNode({ name: NODE, body: node });
    node.metadata!.labels = { ...node.metadata!.labels, team: "b" };
    const stale = await failure(core.replaceNode({ name: NODE, body: node }));
    expect(updated.metadata?.labels?.["team"]).toBe("a");
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(Number(node.metadata?.resourceVersion));
    expect(stale.code).toBe(409);
    expect(stale.body).toMatchObject({
      reason: "Conflict",
      message: 'Operation cannot be fulfilled on nodes "ip-10-0-9-1.us-west-2.compute.internal": the object has been modified; please apply your changes to the latest version and try again',
    });
  });

  it("keeps status on a main-resource update and changes only status through /status", async () => {
    const { core } = await podCluster();
    const node = await core.readNode({ name: NODE });
    const before = node.status?.conditions?.find((c) => c.type === "Ready")?.status;
    node.status!.conditions = [];
    node.spec!.unschedulable = true;
    const main = await core.replaceNode({ name: NODE, body: node });
    const fresh = await core.readNode({ name: NODE });
    fresh.status!.conditions = fresh.status!.conditions!.map((c) => (c.type === "Ready" ? { ...c, status: "False" } : c));
    fresh.spec!.unschedulable = false;
    const status = await core.replaceNodeStatus({ name: NODE, body: fresh });
    expect(main.spec?.unschedulable).toBe(true);
    expect(main.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe(before);
    expect(status.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("False");
    expect(status.spec?.unschedulable).toBe(true);
  });

  it("forbids pod spec changes other than images and added tolerations", async () => {
    const { core } = await podCluster();
    const web = await core.readNamespacedPod({ name: "web-0", namespace: "shop" });
    web.spec!.nodeName = "elsewhere";
    const forbidden = await failure(core.replaceNamespacedPod({ name: "web-0", namespace: "shop", body: web }));
    expect(forbidden.code).toBe(422);
    expect(forbidden.body.details?.causes?.[0]).toMatchObject({ reason: "FieldValueForbidden", field: "spec" });
  });

  it("does not bump resourceVersion for an update that changes nothing", async () => {
    const { core } = await podCluster();
    const node = await core.readNode({ name: NODE });
    const same = await core.replaceNode({ name: NODE, body: node });
    expect(same.metadata?.resourceVersion).toBe(node.metadata?.resourceVersion);
  });
});

describe("patch", () => {
  it("applies a strategic merge patch (cordon) and replaces node taints as a whole, as kubectl taint expects", async () => {
    const { core } = await podCluster();
    const options = setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch);
    await core.patchNode({ name: NODE, body: { spec: { unschedulable: true } } }, options);
    await core.patchNode({ name: NODE, body: { spec: { taints: [{ key: "a", value: "1", effect: "NoSchedule" }] } } }, options);
    const node = await core.patchNode({ name: NODE, body: { spec: { taints: [{ key: "b", effect: "PreferNoSchedule" }] } } }, options);
    expect(node.spec?.unschedulable).toBe(true);
    expect(node.spec?.taints).toEqual([{ key: "b", effect: "PreferNoSchedule" }]);
  });

  it("merges pod conditions by type with a strategic merge patch on /status", async () => {
    const { core } = await podCluster();
    const options = setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch);
    const patched = await core.patchNamespacedPodStatus(
      { name: "web-0", namespace: "shop", body: { status: { conditions: [{ type: "DisruptionTarget", status: "True", reason: "EvictionByEvictionAPI" }, { type: "Ready", status: "False" }] } } },
      options,
    );
    const types = patched.status?.conditions?.map((c) => `${c.type}=${c.status}`);
    expect(types).toContain("DisruptionTarget=True");
    expect(types).toContain("Ready=False");
    expect(types).toContain("PodScheduled=True");
    expect(types?.filter((t) => t.startsWith("Ready="))).toHaveLength(1);
  });

  it("applies JSON patch and merge patch, and honours a resourceVersion the patch carries", async () => {
    const { core } = await podCluster();
    const json = await core.patchNode(
      { name: NODE, body: [{ op: "add", path: "/metadata/labels/spot-manager~1state", value: "draining" }] },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
    const merge = await core.patchNode({ name: NODE, body: { metadata: { labels: { "spot-manager/state": null } } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
    const stale = await failure(
      core.patchNode({ name: NODE, body: { metadata: { resourceVersion: json.metadata?.resourceVersion, labels: { x: "y" } } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch)),
    );
    const test = await failure(
      core.patchNode({ name: NODE, body: [{ op: "test", path: "/spec/unschedulable", value: true }] }, setHeaderOptions("Content-Type", PatchStrategy.JsonPatch)),
    );
    expect(json.metadata?.labels?.["spot-manager/state"]).toBe("draining");
    expect(merge.metadata?.labels?.["spot-manager/state"]).toBeUndefined();
    expect(stale.code).toBe(409);
    expect(test.code).toBe(422);
  });
});

describe("delete", () => {
  it("deletes a scheduled pod gracefully: deletionTimestamp set, object still readable", async () => {
    const { core, kube } = await podCluster();
    const answer = await core.deleteNamespacedPod({ name: "web-0", namespace: "shop" });
    const still = await core.readNamespacedPod({ name: "web-0", namespace: "shop" });
    expect(answer.metadata?.deletionTimestamp).toBeDefined();
    expect(still.metadata?.deletionGracePeriodSeconds).toBe(30);
    const tableCell = await raw(kube, "GET", "/api/v1/namespaces/shop/pods/web-0", { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" });
    expect((tableCell.json["rows"] as { cells: string[] }[])[0]?.cells[2]).toBe("Terminating");
  });

  it("deletes at once with gracePeriodSeconds=0 and answers 404 afterwards", async () => {
    const { core } = await podCluster();
    await core.deleteNamespacedPod({ name: "web-1", namespace: "shop", gracePeriodSeconds: 0 });
    const gone = await failure(core.readNamespacedPod({ name: "web-1", namespace: "shop" }));
    expect(gone.code).toBe(404);
  });

  it("checks uid and resourceVersion preconditions with 409", async () => {
    const { core } = await podCluster();
    const byUid = await failure(core.deleteNamespacedPod({ name: "web-2", namespace: "shop", body: { preconditions: { uid: "00000000-0000-0000-0000-000000000000" } } }));
    const byVersion = await failure(core.deleteNamespacedPod({ name: "web-2", namespace: "shop", body: { preconditions: { resourceVersion: "1" } } }));
    expect(byUid.code).toBe(409);
    // rest.BeforeDelete's words, naming the kind
    expect(byUid.body.message).toMatch(
      /^Operation cannot be fulfilled on Pod "web-2": the UID in the precondition \(00000000-0000-0000-0000-000000000000\) does not match the UID in record \([0-9a-f-]{36}\)\. The object might have been deleted and then recreated$/,
    );
    expect(byUid.body.details).toMatchObject({ name: "web-2", kind: "Pod" });
    expect(byVersion.code).toBe(409);
    expect(byVersion.body.message).toMatch(/^Operation cannot be fulfilled on Pod "web-2": the ResourceVersion in the precondition \(1\) does not match the ResourceVersion in record \(\d+\)\. The object might have been modified$/);
  });

  it("keeps an object with finalizers until they are removed", async () => {
    const { core } = await podCluster(0);
    await core.createNamespacedPod({ namespace: "shop", body: { ...pod("held"), metadata: { name: "held", finalizers: ["example.com/hold"] } } });
    await core.deleteNamespacedPod({ name: "held", namespace: "shop" });
    const held = await core.readNamespacedPod({ name: "held", namespace: "shop" });
    await core.patchNamespacedPod({ name: "held", namespace: "shop", body: [{ op: "remove", path: "/metadata/finalizers" }] }, setHeaderOptions("Content-Type", PatchStrategy.JsonPatch));
    const gone = await failure(core.readNamespacedPod({ name: "held", namespace: "shop" }));
    expect(held.metadata?.deletionTimestamp).toBeDefined();
    expect(gone.code).toBe(404);
  });

  it("deletes a collection by label selector", async () => {
    const { core } = await podCluster();
    await core.deleteCollectionNamespacedPod({ namespace: "shop", labelSelector: "tier=back", gracePeriodSeconds: 0 });
    const left = await core.listNamespacedPod({ namespace: "shop" });
    expect(left.items.map((p) => p.metadata?.name)).toEqual(["web-0"]);
  });
});

describe("watch", () => {
  it("streams ADDED, MODIFIED and DELETED from a list's resourceVersion, filtered by field selector", async () => {
    const { core, kc } = await podCluster();
    const list = await core.listNamespacedPod({ namespace: "shop" });
    const seen: string[] = [];
    const watch = new Watch(kc);
    const done = new Promise<void>((resolve) => {
      void watch
        .watch(
          "/api/v1/namespaces/shop/pods",
          { resourceVersion: list.metadata?.resourceVersion, fieldSelector: "metadata.name=web-1" },
          (type, obj: V1Pod) => {
            seen.push(`${type} ${obj.metadata?.name} ${obj.metadata?.labels?.["step"] ?? ""}`.trim());
            if (type === "DELETED") resolve();
          },
          () => resolve(),
        )
        .then((req) => setTimeout(() => req.abort(), 4000));
    });
    await new Promise((r) => setTimeout(r, 100));
    await core.patchNamespacedPod({ name: "web-1", namespace: "shop", body: { metadata: { labels: { step: "one" } } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
    await core.patchNamespacedPod({ name: "web-2", namespace: "shop", body: { metadata: { labels: { step: "other" } } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
    await core.deleteNamespacedPod({ name: "web-1", namespace: "shop", gracePeriodSeconds: 0 });
    await done;
    expect(seen).toEqual(["MODIFIED web-1 one", "DELETED web-1 one"]);
  });

  it("answers a watch from a compacted resourceVersion with an ERROR event carrying 410 Expired", async () => {
    const h = await startHarness({ historyLimit: 2 });
    await h.kube.seed({ ...emptySeed(), namespaces: ["a", "b", "c", "d"] });
    const response = await raw(h.kube, "GET", "/api/v1/namespaces?watch=true&resourceVersion=1&timeoutSeconds=1");
    const event = JSON.parse(response.text.split("\n")[0] ?? "{}") as { type: string; object: { code: number; reason: string } };
    expect(event.type).toBe("ERROR");
    expect(event.object).toMatchObject({ code: 410, reason: "Expired" });
  });
});
