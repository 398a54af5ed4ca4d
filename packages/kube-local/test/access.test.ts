import { describe, expect, it } from "vitest";
import { failure, raw, startHarness } from "./harness";

const DRAINER = {
  user: "spot-manager",
  groups: ["spot-manager:drainers"],
  rules: [
    { verbs: ["get", "list", "patch"], resources: ["nodes"] },
    { verbs: ["get", "list", "delete"], resources: ["pods"] },
    { verbs: ["create"], resources: ["pods/eviction"] },
    { verbs: ["create"], resources: ["events"] },
  ],
};

describe("authentication", () => {
  it("answers 401 without a token and with an unknown one, but serves /version and /healthz", async () => {
    const { kube, as } = await startHarness({ seed: "demo" });
    const none = await raw(kube, "GET", "/api/v1/nodes", { token: null });
    const wrong = await failure(as("not-a-token").core.listNode());
    const version = await raw(kube, "GET", "/version", { token: null });
    const health = await raw(kube, "GET", "/healthz", { token: null });
    expect(none.status).toBe(401);
    expect(none.json).toMatchObject({ kind: "Status", status: "Failure", reason: "Unauthorized", message: "Unauthorized", code: 401 });
    expect(wrong.code).toBe(401);
    expect(version.json).toMatchObject({ major: "1", minor: "32" });
    expect(health.text).toBe("ok");
  });
});

describe("authorization", () => {
  it("lets a least-privilege identity do what its rules allow", async () => {
    const { as } = await startHarness({ seed: "demo", identities: { drainer: DRAINER } });
    const drainer = as("drainer");
    const nodes = await drainer.core.listNode();
    const pods = await drainer.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodes.items[0]?.metadata?.name}` });
    expect(nodes.items.length).toBe(5);
    expect(pods.items.length).toBeGreaterThan(0);
  });

  it("answers 403 in RBAC's words for what the rules do not allow", async () => {
    const { as } = await startHarness({ seed: "demo", identities: { drainer: DRAINER } });
    const drainer = as("drainer");
    const deleteNode = await failure(drainer.core.deleteNode({ name: "ip-10-0-1-11.us-west-2.compute.internal" }));
    const createPod = await failure(drainer.core.createNamespacedPod({ namespace: "shop", body: { metadata: { name: "x" }, spec: { containers: [{ name: "c", image: "i" }] } } }));
    const listSecrets = await failure(drainer.policy.listPodDisruptionBudgetForAllNamespaces());
    expect(deleteNode.code).toBe(403);
    expect(deleteNode.body).toMatchObject({
      reason: "Forbidden",
      message: 'nodes "ip-10-0-1-11.us-west-2.compute.internal" is forbidden: User "spot-manager" cannot delete resource "nodes" in API group "" at the cluster scope',
      details: { name: "ip-10-0-1-11.us-west-2.compute.internal", kind: "nodes" },
    });
    expect(createPod.body.message).toBe('pods is forbidden: User "spot-manager" cannot create resource "pods" in API group "" in the namespace "shop"');
    expect(listSecrets.body.message).toBe('poddisruptionbudgets.policy is forbidden: User "spot-manager" cannot list resource "poddisruptionbudgets" in API group "policy" at the cluster scope');
  });

  it("a rule held to a namespace never covers a cluster-wide request, as with a RoleBinding", async () => {
    const { as } = await startHarness({ seed: "demo", identities: { shop: { user: "shop-operator", rules: [{ verbs: ["list"], resources: ["pods"], namespaces: ["shop"] }] } } });
    const inShop = await as("shop").core.listNamespacedPod({ namespace: "shop" });
    const everywhere = await failure(as("shop").core.listPodForAllNamespaces());
    expect(inShop.items.length).toBeGreaterThan(0);
    expect(everywhere.code).toBe(403);
  });

  it("authorizes pods/eviction separately from pods", async () => {
    const { as, core } = await startHarness({
      seed: "demo",
      identities: { readonly: { user: "viewer", rules: [{ verbs: ["get", "list"], resources: ["pods"] }] } },
    });
    const pod = (await core.listNamespacedPod({ namespace: "shop" })).items[0]!;
    const name = pod.metadata!.name!;
    const denied = await failure(as("readonly").core.createNamespacedPodEviction({ name, namespace: "shop", body: { metadata: { name, namespace: "shop" } } }));
    expect(denied.code).toBe(403);
    expect(denied.body.message).toBe(`pods "${name}" is forbidden: User "viewer" cannot create resource "pods/eviction" in API group "" in the namespace "shop"`);
  });
});

describe("discovery", () => {
  it("lists the core and named groups with the eviction and status subresources", async () => {
    const { kube } = await startHarness();
    const api = await raw(kube, "GET", "/api");
    const core = await raw(kube, "GET", "/api/v1");
    const groups = await raw(kube, "GET", "/apis");
    const apps = await raw(kube, "GET", "/apis/apps/v1");
    const policy = await raw(kube, "GET", "/apis/policy/v1");
    const events = await raw(kube, "GET", "/apis/events.k8s.io/v1");
    type Res = { name: string; kind: string; group?: string; version?: string; verbs: string[]; namespaced: boolean };
    const resources = (doc: typeof core) => doc.json["resources"] as Res[];
    expect(api.json).toMatchObject({ kind: "APIVersions", versions: ["v1"] });
    expect(resources(core).find((r) => r.name === "pods/eviction")).toEqual({ name: "pods/eviction", singularName: "", namespaced: true, group: "policy", version: "v1", kind: "Eviction", verbs: ["create"] });
    expect(resources(core).map((r) => r.name)).toEqual(expect.arrayContaining(["namespaces", "nodes", "nodes/status", "pods", "pods/status", "events"]));
    expect((groups.json["groups"] as { name: string }[]).map((g) => g.name)).toEqual(["apps", "policy", "events.k8s.io", "coordination.k8s.io", "authentication.k8s.io", "authorization.k8s.io"]);
    expect(resources(apps).map((r) => r.name)).toEqual(["daemonsets", "daemonsets/status", "deployments", "deployments/status", "deployments/scale", "replicasets", "replicasets/status", "replicasets/scale"]);
    expect(resources(policy).map((r) => r.name)).toEqual(["poddisruptionbudgets", "poddisruptionbudgets/status"]);
    expect(resources(events).map((r) => r.name)).toEqual(["events"]);
  });
});
