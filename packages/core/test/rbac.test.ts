/**
 * The ClusterRole grants exactly what spot-manager's code asks the API server for: every
 * Kubernetes call goes through KubeApi, so each of its operations is played once against a
 * recording gateway and turned into the (group, resource, verb) kube-apiserver authorizes.
 */
import { describe, expect, it } from "vitest";
import { KubeApi } from "../src/kube/api";
import type { KubeGateway, KubeRequest, KubeResult } from "../src/kube/gateway";
import { CLUSTER_ROLE_RULES } from "../src/rbac";

/** kube-apiserver's RequestInfo for the core group: the verb from the method, the resource from the path. */
function authorizationOf(request: KubeRequest): string {
  const segments = request.path.replace(/^\/api\/v1\//, "").split("/");
  if (segments[0] === "namespaces" && segments.length > 2) segments.splice(0, 2);
  const [resource, name, subresource] = segments;
  const verbs: Record<KubeRequest["method"], string> = { GET: name ? "get" : "list", POST: "create", PUT: "update", PATCH: "patch", DELETE: "delete" };
  const verb = request.method === "GET" && request.query?.["watch"] ? "watch" : verbs[request.method];
  return `core|${subresource ? `${resource}/${subresource}` : resource}|${verb}`;
}

function recordingApi() {
  const requests: KubeRequest[] = [];
  const gateway = {
    send: async <T>(request: KubeRequest): Promise<KubeResult<T>> => {
      requests.push(request);
      return { outcome: "ok", status: 200, body: { items: [], metadata: {} } as T, attempts: 1 };
    },
  } as unknown as KubeGateway;
  return { api: new KubeApi(gateway), requests };
}

describe("the least-privilege ClusterRole", () => {
  it("grants exactly the verbs KubeApi's operations need, no more", async () => {
    // Prepare
    const { api, requests } = recordingApi();
    const pod = { namespace: "shop", name: "storefront-1", uid: "u-1" };
    const operations: Record<string, () => Promise<unknown>> = {
      getNode: () => api.getNode("ip-10-0-1-21"),
      listNodes: () => api.listNodes({ labelSelector: "spot-manager/lifecycle=spot" }),
      patchNode: () => api.patchNode("ip-10-0-1-21", { spec: { unschedulable: true } }, "merge"),
      podsOnNode: () => api.podsOnNode("ip-10-0-1-21"),
      listPods: () => api.listPods(),
      evictPod: () => api.evictPod(pod),
      deletePod: () => api.deletePod(pod, 0),
      createEvent: () => api.createEvent({ metadata: { namespace: "default" }, involvedObject: { kind: "Node", name: "ip-10-0-1-21" }, reason: "SpotInterruption" }),
    };

    // Act
    for (const operation of Object.values(operations)) await operation();

    // Assess
    const ownMethods = Object.getOwnPropertyNames(KubeApi.prototype).filter((m) => m !== "constructor" && !["ok", "listAll", "send", "within"].includes(m));
    expect(ownMethods.sort(), "every KubeApi operation is played here (and its verb granted)").toEqual(Object.keys(operations).sort());
    const used = [...new Set(requests.map(authorizationOf))].sort();
    const granted = CLUSTER_ROLE_RULES.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g === "" ? "core" : g}|${res}|${v}`)))).sort();
    expect(granted).toEqual(used);
  });
});
