/**
 * The APIs kubectl's everyday commands stand on, proved through @kubernetes/client-node (and raw
 * HTTPS where the typed client cannot speak the format): protobuf bodies, OpenAPI documents and
 * field validation, server-side apply, the scale subresource, the self-subject reviews, node
 * leases, Events, pod IPs and namespace deletion.
 */
import {
  AppsV1Api,
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1Namespace,
} from "@kubernetes/client-node";
import { request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_INTERRUPTED_NODE, startKubeLocal, type KubeLocal } from "../src/index";
import { encodeProtobuf, PROTOBUF_MEDIA_TYPE } from "../src/protobuf";
import { configFor, eventually, failure, raw } from "./harness";

const deployment = (name: string, replicas: number, labels: Record<string, string> = {}): V1Deployment => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace: "default", labels },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "web", image: "nginx:1.27" }] } } },
});

/** POSTs or DELETEs a protobuf body, as client-go does. */
function sendProtobuf(kube: KubeLocal, method: string, path: string, body: Buffer): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${kube.url}${path}`,
      { method, headers: { Authorization: `Bearer ${kube.token}`, "Content-Type": PROTOBUF_MEDIA_TYPE, Accept: `${PROTOBUF_MEDIA_TYPE}, application/json`, "Content-Length": body.length }, ca: kube.caPem },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown> }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("with the demo cluster (one kube-local for the describe)", () => {
  let kube: KubeLocal;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  beforeAll(async () => {
    kube = await startKubeLocal({ seed: "demo", simulation: { timeScale: 0.01, podStartupSeconds: 1 }, identities: { viewer: { user: "shop-viewer", groups: ["viewers"], rules: [{ verbs: ["get", "list"], resources: ["pods"], namespaces: ["shop"] }] } } });
    const kc = configFor(kube);
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
  });
  afterAll(async () => {
    await kube.stop();
  });

  describe("protobuf request bodies", () => {
    it("creates a namespace, a pod and a deployment sent as protobuf", async () => {
      // Prepare
      const ns = encodeProtobuf("v1", "Namespace", { metadata: { name: "proto" } });
      const pod = encodeProtobuf("v1", "Pod", { metadata: { name: "p", namespace: "proto", labels: { app: "p" } }, spec: { containers: [{ name: "c", image: "busybox:1.36", args: ["sleep", "1000"], resources: { requests: { cpu: "100m" } } }] } });
      const dep = encodeProtobuf("apps/v1", "Deployment", { ...deployment("d", 0), metadata: { name: "d", namespace: "proto" } } as unknown as Record<string, unknown>);
      // Act
      const createdNs = await sendProtobuf(kube, "POST", "/api/v1/namespaces", ns);
      const createdPod = await sendProtobuf(kube, "POST", "/api/v1/namespaces/proto/pods", pod);
      const createdDep = await sendProtobuf(kube, "POST", "/apis/apps/v1/namespaces/proto/deployments", dep);
      // Assess
      expect(createdNs.status).toBe(201);
      expect(createdPod.status).toBe(201);
      expect(createdPod.json).toMatchObject({ metadata: { name: "p", labels: { app: "p" } }, spec: { containers: [{ name: "c", args: ["sleep", "1000"], resources: { requests: { cpu: "100m" } } }] } });
      expect(createdDep.status).toBe(201);
      // a pointer's zero survives the trip: replicas 0 is not "unset"
      expect((await apps.readNamespacedDeployment({ name: "d", namespace: "proto" })).spec?.replicas).toBe(0);
    });

    it("reads protobuf DeleteOptions and Evictions, and refuses a body without the envelope", async () => {
      const [victim, evicted] = (await core.listNamespacedPod({ namespace: "shop", labelSelector: "app=cart-cache" })).items;
      const deleted = await sendProtobuf(kube, "DELETE", `/api/v1/namespaces/shop/pods/${victim!.metadata!.name}`, encodeProtobuf("v1", "DeleteOptions", { gracePeriodSeconds: 0 }));
      const eviction = await sendProtobuf(kube, "POST", `/api/v1/namespaces/shop/pods/${evicted!.metadata!.name}/eviction`, encodeProtobuf("policy/v1", "Eviction", { metadata: { name: evicted!.metadata!.name, namespace: "shop" } }));
      const garbage = await sendProtobuf(kube, "POST", "/api/v1/namespaces", Buffer.from("not protobuf"));
      expect(deleted.status).toBe(200);
      expect(kube.get("pods", "shop", victim!.metadata!.name!)).toBeUndefined();
      expect(eviction.status).toBe(201);
      expect(kube.get("pods", "shop", evicted!.metadata!.name!)?.metadata.deletionTimestamp).toBeDefined();
      expect(garbage.status).toBe(400);
      expect(garbage.json["message"]).toBe("provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]");
    });
  });

  describe("OpenAPI and field validation", () => {
    it("serves v3 per group version with kinds, descriptions and the fieldValidation parameter, and v2 as JSON or protobuf", async () => {
      const discovery = await raw(kube, "GET", "/openapi/v3");
      const paths = discovery.json as unknown as { paths: Record<string, { serverRelativeURL: string }> };
      const appsDoc = await raw(kube, "GET", paths.paths["apis/apps/v1"]!.serverRelativeURL);
      const schemas = (appsDoc.json as unknown as { components: { schemas: Record<string, { properties?: Record<string, { description?: string }>; "x-kubernetes-group-version-kind"?: unknown }> } }).components.schemas;
      const patch = (appsDoc.json as unknown as { paths: Record<string, { patch?: { parameters: { name: string }[] } }> }).paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]?.patch;
      const v2 = await raw(kube, "GET", "/openapi/v2", { accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf" });
      const v2json = await raw(kube, "GET", "/openapi/v2", { accept: "application/json" });
      expect(Object.keys(paths.paths)).toEqual(expect.arrayContaining(["api/v1", "apis/apps/v1", "apis/policy/v1", "apis/coordination.k8s.io/v1", "apis/authorization.k8s.io/v1"]));
      expect(schemas["io.k8s.api.apps.v1.Deployment"]?.["x-kubernetes-group-version-kind"]).toEqual([{ group: "apps", kind: "Deployment", version: "v1" }]);
      expect(schemas["io.k8s.api.apps.v1.DeploymentSpec"]?.properties?.["replicas"]?.description).toContain("Number of desired pods");
      expect(patch?.parameters.map((p) => p.name)).toEqual(expect.arrayContaining(["dryRun", "fieldManager", "fieldValidation", "force"]));
      expect(v2.headers["content-type"]).toBe("application/com.github.proto-openapi.spec.v2.v1.0+protobuf");
      expect(v2.text.length).toBeGreaterThan(1000);
      expect((v2json.json["definitions"] as Record<string, unknown>)["io.k8s.api.core.v1.Pod"]).toBeDefined();
    });

    it("refuses unknown fields under fieldValidation=Strict and warns about them by default", async () => {
      const body = JSON.stringify({ ...deployment("strict", 1), spec: { ...deployment("strict", 1).spec, replicass: 2 } });
      const strict = await raw(kube, "POST", "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict", { body, contentType: "application/json" });
      const warned = await raw(kube, "POST", "/apis/apps/v1/namespaces/default/deployments", { body, contentType: "application/json" });
      expect(strict.status).toBe(400);
      expect(strict.json.message).toBe('Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replicass"');
      expect(warned.status).toBe(201);
      expect(warned.headers["warning"]).toBe('299 - "unknown field \\"spec.replicass\\""');
    });
  });

  describe("server-side apply", () => {
    const applyAs = (manager: string, body: V1Deployment, force = false) =>
      apps.patchNamespacedDeployment({ name: body.metadata!.name!, namespace: "default", body, fieldManager: manager, ...(force ? { force: true } : {}) }, setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply));

    it("creates, records the applier, refuses a conflicting change with 409 and takes the field over with force", async () => {
      // Prepare: an applier owns replicas and a label
      const created = await applyAs("ci", deployment("ssa", 2, { team: "shop", tier: "web" }));
      // Act
      const conflict = await failure(applyAs("hpa-like", deployment("ssa", 5)));
      const forced = await applyAs("hpa-like", deployment("ssa", 5), true);
      // the first applier stops applying the tier label: nobody else owns it, so it goes
      const reapplied = await applyAs("ci", { ...deployment("ssa", 5, { team: "shop" }) });
      // Assess
      expect(created.metadata?.managedFields).toEqual([expect.objectContaining({ manager: "ci", operation: "Apply", apiVersion: "apps/v1", fieldsType: "FieldsV1" })]);
      expect(conflict.code).toBe(409);
      expect(conflict.body.reason).toBe("Conflict");
      expect(conflict.body.message).toBe('Apply failed with 1 conflict: conflict with "ci": .spec.replicas');
      expect(conflict.body.details?.causes).toEqual([{ reason: "FieldManagerConflict", message: 'conflict with "ci"', field: ".spec.replicas" }]);
      expect(forced.spec?.replicas).toBe(5);
      const owners = forced.metadata?.managedFields?.map((m) => [m.manager, JSON.stringify(m.fieldsV1).includes('"f:replicas"')]);
      expect(owners).toEqual([
        ["ci", false],
        ["hpa-like", true],
      ]);
      expect(reapplied.metadata?.labels).toEqual({ team: "shop" });
    });

    it("answers an apply without fieldManager with 422 and names a scale through the subresource in conflicts", async () => {
      await applyAs("ci", deployment("scaled", 1));
      await apps.patchNamespacedDeploymentScale({ name: "scaled", namespace: "default", body: { spec: { replicas: 3 } }, fieldManager: "kubectl-scale" }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
      const conflict = await failure(applyAs("ci", deployment("scaled", 1)));
      const noManager = await raw(kube, "PATCH", "/apis/apps/v1/namespaces/default/deployments/scaled", { body: JSON.stringify(deployment("scaled", 1)), contentType: "application/apply-patch+yaml" });
      expect(conflict.body.message).toBe('Apply failed with 1 conflict: conflict with "kubectl-scale" with subresource "scale" using apps/v1: .spec.replicas');
      expect(noManager.status).toBe(422);
      expect(noManager.json.message).toBe('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
    });
  });

  describe("the scale subresource", () => {
    it("reads and writes replicas of deployments and replica sets, with resourceVersion and validation", async () => {
      const scale = await apps.readNamespacedDeploymentScale({ name: "storefront", namespace: "shop" });
      const patched = await apps.patchNamespacedDeploymentScale({ name: "storefront", namespace: "shop", body: { spec: { replicas: 7 } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
      const stale = await failure(apps.replaceNamespacedDeploymentScale({ name: "storefront", namespace: "shop", body: { ...scale, spec: { replicas: 6 } } }));
      const negative = await failure(apps.replaceNamespacedDeploymentScale({ name: "storefront", namespace: "shop", body: { metadata: { name: "storefront" }, spec: { replicas: -1 } } }));
      const rs = (await apps.listNamespacedReplicaSet({ namespace: "shop", labelSelector: "app=checkout" })).items[0]!;
      const rsScale = await apps.readNamespacedReplicaSetScale({ name: rs.metadata!.name!, namespace: "shop" });
      expect(scale).toMatchObject({ kind: "Scale", apiVersion: "autoscaling/v1", spec: { replicas: 6 }, status: { replicas: 6, selector: "app=storefront" } });
      expect(patched.spec?.replicas).toBe(7);
      expect((await apps.readNamespacedDeployment({ name: "storefront", namespace: "shop" })).spec?.replicas).toBe(7);
      expect(stale.code).toBe(409);
      expect(negative.code).toBe(422);
      expect(negative.body.message).toBe('Scale.autoscaling "storefront" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0');
      expect(rsScale.status?.selector).toContain("app=checkout");
      await apps.patchNamespacedDeploymentScale({ name: "storefront", namespace: "shop", body: { spec: { replicas: 6 } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
    });
  });

  describe("self-subject reviews", () => {
    it("answers can-i, the rules and whoami from the token's rule set", async () => {
      const viewer = configFor(kube, "viewer");
      const authz = viewer.makeApiClient(AuthorizationV1Api);
      const ask = (verb: string, resource: string, namespace: string) => authz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { verb, resource, namespace } } } });
      const yes = await ask("list", "pods", "shop");
      const no = await ask("delete", "pods", "shop");
      const elsewhere = await ask("list", "pods", "kube-system");
      const rules = await authz.createSelfSubjectRulesReview({ body: { spec: { namespace: "shop" } } });
      const whoami = await viewer.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
      const admin = await configFor(kube).makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
      const invalid = await failure(authz.createSelfSubjectAccessReview({ body: { spec: {} } }));
      expect([yes.status?.allowed, no.status?.allowed, elsewhere.status?.allowed]).toEqual([true, false, false]);
      expect(rules.status?.resourceRules).toEqual(expect.arrayContaining([{ verbs: ["get", "list"], apiGroups: [""], resources: ["pods"] }, { verbs: ["create"], apiGroups: ["authorization.k8s.io"], resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"] }]));
      expect(rules.status?.incomplete).toBe(false);
      expect(whoami.status?.userInfo).toEqual({ username: "shop-viewer", groups: ["viewers", "system:authenticated"] });
      expect(admin.status?.userInfo?.groups).toEqual(["system:masters", "system:authenticated"]);
      expect(invalid.code).toBe(422);
    });
  });

  describe("what the simulated kubelet, scheduler and controllers leave behind", () => {
    it("a Lease per node in kube-node-lease, renewed", async () => {
      const leases = configFor(kube).makeApiClient(CoordinationV1Api);
      const first = await leases.readNamespacedLease({ name: DEMO_INTERRUPTED_NODE, namespace: "kube-node-lease" });
      const renewed = await eventually(
        () => leases.readNamespacedLease({ name: DEMO_INTERRUPTED_NODE, namespace: "kube-node-lease" }),
        (l) => String(l.spec?.renewTime) !== String(first.spec?.renewTime),
      );
      const all = await leases.listNamespacedLease({ namespace: "kube-node-lease" });
      expect(first.spec).toMatchObject({ holderIdentity: DEMO_INTERRUPTED_NODE, leaseDurationSeconds: 40 });
      expect(first.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "Node", name: DEMO_INTERRUPTED_NODE });
      expect(Date.parse(String(renewed.spec!.renewTime))).toBeGreaterThan(Date.parse(String(first.spec!.renewTime)));
      expect(all.items).toHaveLength(5);
    });

    it("unique pod IPs from each node's pod CIDR", async () => {
      const nodes = (await core.listNode()).items;
      const pods = (await core.listPodForAllNamespaces()).items.filter((p) => p.status?.phase === "Running" && !p.spec?.hostNetwork);
      const ips = pods.map((p) => p.status?.podIP);
      expect(new Set(nodes.map((n) => n.spec?.podCIDR)).size).toBe(nodes.length);
      expect(nodes.every((n) => /^10\.244\.\d+\.0\/24$/.test(n.spec?.podCIDR ?? "") && n.spec?.podCIDRs?.[0] === n.spec?.podCIDR)).toBe(true);
      expect(new Set(ips).size).toBe(ips.length);
      for (const pod of pods) {
        const cidr = nodes.find((n) => n.metadata?.name === pod.spec?.nodeName)?.spec?.podCIDR ?? "";
        expect(pod.status?.podIP?.startsWith(cidr.replace(/0\/24$/, ""))).toBe(true);
      }
    });

    it("Events with upstream reasons and messages", async () => {
      // Prepare
      await apps.createNamespacedDeployment({ namespace: "default", body: deployment("events", 1) });
      const pod = await eventually(
        async () => (await core.listNamespacedPod({ namespace: "default", labelSelector: "app=events" })).items.find((p) => p.status?.phase === "Running"),
        (p) => p !== undefined,
      );
      const name = pod!.metadata!.name!;
      // Act
      await core.deleteNamespacedPod({ name, namespace: "default" });
      // Assess
      const messages = await eventually(
        async () => (await core.listNamespacedEvent({ namespace: "default" })).items.map((e) => `${e.reason}: ${e.message}`),
        (m) => m.some((x) => x.startsWith("Killing")),
      );
      const rs = (await apps.listNamespacedReplicaSet({ namespace: "default", labelSelector: "app=events" })).items[0]!.metadata!.name!;
      expect(messages).toEqual(
        expect.arrayContaining([
          `ScalingReplicaSet: Scaled up replica set ${rs} from 0 to 1`,
          `SuccessfulCreate: Created pod: ${name}`,
          `Scheduled: Successfully assigned default/${name} to ${pod!.spec!.nodeName}`,
          'Pulled: Container image "nginx:1.27" already present on machine',
          "Created: Created container: web",
          "Started: Started container web",
          "Killing: Stopping container web",
        ]),
      );
      const started = (await core.listNamespacedEvent({ namespace: "default", fieldSelector: `involvedObject.name=${name},reason=Started` })).items[0]!;
      expect(started).toMatchObject({ source: { component: "kubelet", host: pod!.spec!.nodeName }, involvedObject: { kind: "Pod", fieldPath: "spec.containers{web}" } });
    });
  });
});

describe("namespace deletion", () => {
  it("deletes what the namespace holds, reports what remains, then the namespace; system namespaces stay", async () => {
    // Prepare
    const kube = await startKubeLocal({ seed: "demo", simulation: { timeScale: 0.05 } });
    try {
      const core = configFor(kube).makeApiClient(CoreV1Api);
      // Act
      await core.deleteNamespace({ name: "shop" });
      const terminating = await eventually(
        () => core.readNamespace({ name: "shop" }),
        (ns: V1Namespace) => (ns.status?.conditions ?? []).some((c) => c.type === "NamespaceContentRemaining" && c.status === "True"),
      );
      const immortal = await failure(core.deleteNamespace({ name: "default" }));
      // Assess
      expect(terminating.status?.phase).toBe("Terminating");
      expect(terminating.status?.conditions?.find((c) => c.type === "NamespaceContentRemaining")?.message).toMatch(/^Some resources are remaining: pods has \d+ resource instances/);
      expect(kube.list("deployments", "shop")).toEqual([]);
      await eventually(() => failure(core.readNamespace({ name: "shop" })).then((f) => f.code).catch(() => 200), (code) => code === 404, 10_000);
      expect(kube.list("pods", "shop")).toEqual([]);
      expect(immortal.code).toBe(403);
      expect(immortal.body.message).toBe('namespaces "default" is forbidden: this namespace may not be deleted');
    } finally {
      await kube.stop();
    }
  });
});
