/**
 * drainNode and classifyPod against kube-local over HTTPS: kubectl drain's filters, evictions in
 * parallel with a bound, PodDisruptionBudget refusals retried with backoff and never forced before
 * the deadline, the deadline policy, grace capped to the time left, waiting until pods are gone,
 * dry run, and the report's numbers checked against what the API server saw.
 */
import {
  barePodFixture,
  daemonSetFixture,
  DEMO_INTERRUPTED_NODE,
  deploymentFixture,
  emptySeed,
  mirrorPodFixture,
  nodeFixture,
  startKubeLocal,
  type ClusterSeed,
  type KubeLocal,
  type KubeLocalOptions,
  type KubeObject,
  type WorkloadFixture,
} from "@spot-manager/kube-local";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { classifyPod, type ClassifyPolicy } from "../src/drain/classify";
import { DEFAULT_DRAIN_POLICY, drainNode, pdbBackoffMs, type DrainPolicy, type DrainReport, type DrainRequest } from "../src/drain/drain";
import { KubeApi } from "../src/kube/api";
import { KubeGateway, type GatewayOptions, type KubeEndpoint, type RequestInfo } from "../src/kube/gateway";
import type { Pod, PodRef } from "../src/kube/types";
import { Recorder } from "../src/observability";

const NODE = "ip-10-0-9-1.us-west-2.compute.internal";
const READER_TOKEN = "reader-without-eviction";
const STRICT: DrainPolicy = { ...DEFAULT_DRAIN_POLICY, deleteEmptyDirData: false, forceUnmanaged: false };
const FAST_SIM = { timeScale: 0.01, podStartupSeconds: 0.5 };

const servers: KubeLocal[] = [];
const gateways: KubeGateway[] = [];

afterEach(async () => {
  for (const gateway of gateways.splice(0)) gateway.close();
  await Promise.all(servers.splice(0).map((kube) => kube.stop()));
});

async function cluster(seed: ClusterSeed | "demo", options: KubeLocalOptions = {}): Promise<KubeLocal> {
  const kube = await startKubeLocal({
    seed,
    simulation: false,
    identities: { [READER_TOKEN]: { user: "reader", rules: [{ verbs: ["get", "list"], resources: ["pods", "nodes"] }] } },
    ...options,
  });
  servers.push(kube);
  return kube;
}

interface Client {
  api: KubeApi;
  gateway: KubeGateway;
  seen: (RequestInfo & { startedAt: number; endedAt: number })[];
}

function connect(kube: KubeLocal, options: GatewayOptions = {}, endpoint: Partial<KubeEndpoint> = {}): Client {
  const seen: Client["seen"] = [];
  const gateway = new KubeGateway(
    { server: kube.url, caPem: kube.caPem, token: async () => kube.token, ...endpoint },
    {
      baseDelayMs: 5,
      maxDelayMs: 40,
      onRequest: (info) => {
        const endedAt = Date.now();
        seen.push({ ...info, startedAt: endedAt - info.ms, endedAt });
      },
      ...options,
    },
  );
  gateways.push(gateway);
  return { api: new KubeApi(gateway), gateway, seen };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

function deps(client: Client, log = new Recorder()) {
  // random 0: PDB backoff at its floor (0.5 s, 1 s, 2 s, ...), so tests stay short and countable
  return { kube: client.api, now: Date.now, sleep, random: () => 0, log };
}

function drain(client: Client, request: Partial<DrainRequest> & { policy: DrainPolicy }, log?: Recorder): Promise<DrainReport> {
  return drainNode(deps(client, log), { node: NODE, deadline: Date.now() + 10_000, ...request });
}

/** One spot node; workloads are added per test. */
function oneNode(): ClusterSeed {
  const seed = emptySeed();
  seed.namespaces.push("default", "kube-system", "shop");
  seed.nodes.push(nodeFixture({ name: NODE, instanceId: "i-0900000000000001", zone: "us-west-2a", instanceType: "m6i.xlarge", capacityType: "SPOT", nodegroup: "spot", internalIp: "10.0.9.1" }));
  return seed;
}

function addDeployment(seed: ClusterSeed, workload: Omit<WorkloadFixture, "namespace">, podAnnotations?: Record<string, string>): void {
  const { deployment, pdb } = deploymentFixture({ namespace: "shop", ...workload });
  if (podAnnotations) {
    const template = (deployment["spec"] as { template: { metadata: { annotations?: Record<string, string> } } }).template;
    template.metadata.annotations = podAnnotations;
  }
  seed.deployments.push(deployment);
  if (pdb) seed.pdbs.push(pdb);
}

function addPdb(seed: ClusterSeed, name: string, app: string, spec: { minAvailable: number } | { maxUnavailable: number }): void {
  seed.pdbs.push({ apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name, namespace: "shop" }, spec: { ...spec, selector: { matchLabels: { app } } } });
}

function barePod(name: string, extra: { emptyDir?: boolean; terminationGracePeriodSeconds?: number; annotations?: Record<string, string> } = {}): KubeObject {
  const pod = barePodFixture({ namespace: "shop", name, nodeName: NODE, image: "public.ecr.aws/docker/library/busybox:1.36", ...extra });
  if (extra.annotations) pod.metadata.annotations = extra.annotations;
  return pod;
}

const podsOnNode = (kube: KubeLocal) => kube.list("pods").filter((p) => (p["spec"] as { nodeName?: string } | undefined)?.nodeName === NODE) as unknown as Pod[];
const podNamed = (kube: KubeLocal, prefix: string) => podsOnNode(kube).filter((p) => p.metadata?.name?.startsWith(prefix));
const refOf = (pod: Pod | KubeObject | undefined): PodRef => ({ namespace: pod?.metadata?.namespace ?? "", name: pod?.metadata?.name ?? "", uid: pod?.metadata?.uid ?? "" });
const names = (refs: readonly PodRef[]) => refs.map((r) => r.name).sort();
/** The workload a pod belongs to, by the label its fixture gives it (app, k8s-app, run, component). */
function workloadOf(pods: readonly KubeObject[], ref: PodRef): string {
  const labels = pods.find((p) => p.metadata.uid === ref.uid)?.metadata.labels ?? {};
  return labels["app"] ?? labels["k8s-app"] ?? labels["run"] ?? labels["component"] ?? `?${ref.name}`;
}
const evictions = (kube: KubeLocal) => kube.stats.log.filter((r) => r.resource === "pods/eviction");
const writes = (kube: KubeLocal) => kube.stats.log.filter((r) => r.method !== "GET");

async function eventually(check: () => boolean, what: string, timeoutMs = 4_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(10);
  }
}

/** Healthy pods of an app (Running, Ready, not terminating), straight from the store. */
function healthy(kube: KubeLocal, namespace: string, app: string): number {
  return kube.store
    .peekAll("pods", namespace)
    .map((o) => o as unknown as Pod)
    .filter((p) => p.metadata?.labels?.["app"] === app && !p.metadata.deletionTimestamp && p.status?.phase === "Running" && (p.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")).length;
}

/** Watches every stored change and keeps the lowest healthy count seen per app. */
function watchBudgets(kube: KubeLocal, namespace: string, apps: string[]): { min: Record<string, number>; stop: () => void } {
  const min = Object.fromEntries(apps.map((app) => [app, healthy(kube, namespace, app)]));
  const stop = kube.store.subscribe((change) => {
    if (change.storage !== "pods") return;
    for (const app of apps) min[app] = Math.min(min[app] ?? Infinity, healthy(kube, namespace, app));
  });
  return { min, stop };
}

async function cordon(kube: KubeLocal, node: string): Promise<void> {
  const admin = connect(kube);
  await admin.api.patchNode(node, { spec: { unschedulable: true } }, "merge");
}

describe("drainNode on the demo cluster", () => {
  it("moves every pod it should, skips DaemonSet and mirror pods, and never breaks a budget", async () => {
    // Prepare: the interrupted node is cordoned; replacements start on the other spot nodes
    const kube = await cluster("demo", { simulation: FAST_SIM });
    await cordon(kube, DEMO_INTERRUPTED_NODE);
    const before = kube.list("pods").filter((p) => (p["spec"] as { nodeName?: string }).nodeName === DEMO_INTERRUPTED_NODE);
    const mustMove = before.filter((p) => p.metadata.namespace === "shop").map(refOf);
    const budgets = watchBudgets(kube, "shop", ["storefront", "checkout"]);
    const client = connect(kube);
    kube.stats.reset();
    const deadline = Date.now() + 20_000;
    // Act
    const report = await drainNode(deps(client), { node: DEMO_INTERRUPTED_NODE, deadline, policy: { ...DEFAULT_DRAIN_POLICY, atDeadline: "delete" } });
    budgets.stop();
    // Assess: the report
    expect(names(mustMove)).toEqual(expect.arrayContaining([expect.stringMatching(/^storefront-/), expect.stringMatching(/^checkout-/), expect.stringMatching(/^cart-cache-/), "debug-shell"]));
    expect(mustMove).toHaveLength(5);
    expect(names(report.evicted)).toEqual(names(mustMove));
    expect(report.skipped.map((s) => [workloadOf(before, s.pod), s.reason]).sort()).toEqual([
      ["aws-node", "daemonset"],
      ["static-log-agent", "mirror"],
    ]);
    expect(report).toMatchObject({ node: DEMO_INTERRUPTED_NODE, dryRun: false, refused: [], failed: [], forceDeleted: [], remaining: [], complete: true, deadlineMet: true, deadline });
    expect(report.finishedAt).toBeLessThanOrEqual(deadline);
    expect(report.finishedAt).toBeGreaterThanOrEqual(report.startedAt);
    expect(report.pdbBlockedPods.every((p) => p.name.startsWith("storefront-"))).toBe(true);
    // Assess: the cluster, and what the API server saw
    const left = kube.list("pods").filter((p) => (p["spec"] as { nodeName?: string }).nodeName === DEMO_INTERRUPTED_NODE);
    expect(left.map((p) => workloadOf(before, refOf(p))).sort()).toEqual(["aws-node", "static-log-agent"]);
    expect(budgets.min["storefront"]).toBeGreaterThanOrEqual(5); // minAvailable 80% of 6
    expect(budgets.min["checkout"]).toBeGreaterThanOrEqual(2); // maxUnavailable 1 of 3
    expect(kube.stats.count("delete", "pods")).toBe(0);
    expect(evictions(kube)).toHaveLength(report.evicted.length + report.blockedByPdb);
    expect(evictions(kube).filter((r) => r.status === 429)).toHaveLength(report.blockedByPdb);
    expect(report.apiRequests).toBe(kube.stats.total);
    expect(report.apiRequests).toBe(client.gateway.requests);
  });

  it("in dry run classifies and lists, and writes nothing", async () => {
    // Prepare
    const kube = await cluster("demo");
    const client = connect(kube);
    const all = kube.list("pods");
    const before = all.map((p) => `${p.metadata.name}/${p.metadata.uid}/${p.metadata.resourceVersion}`);
    kube.stats.reset();
    // Act
    const report = await drainNode(deps(client), { node: DEMO_INTERRUPTED_NODE, deadline: Date.now() + 10_000, policy: DEFAULT_DRAIN_POLICY, dryRun: true });
    // Assess
    expect(report).toMatchObject({ dryRun: true, evicted: [], forceDeleted: [], failed: [], refused: [], blockedByPdb: 0, complete: false, apiRequests: 1 });
    expect(report.remaining.map((r) => workloadOf(all, r)).sort()).toEqual(["cart-cache", "checkout", "debug-shell", "storefront", "storefront"]);
    expect(report.skipped.map((s) => s.reason).sort()).toEqual(["daemonset", "mirror"]);
    expect(kube.stats.log.map((r) => `${r.verb} ${r.resource}`)).toEqual(["list pods"]);
    expect(kube.list("pods").map((p) => `${p.metadata.name}/${p.metadata.uid}/${p.metadata.resourceVersion}`)).toEqual(before);
  });

  it("in dry run with the pods handed in sends no request at all", async () => {
    const kube = await cluster("demo");
    const client = connect(kube);
    const pods = await client.api.podsOnNode(DEMO_INTERRUPTED_NODE);
    kube.stats.reset();
    const report = await drainNode(deps(client), { node: DEMO_INTERRUPTED_NODE, deadline: Date.now() + 10_000, policy: STRICT, dryRun: true, pods });
    expect(report.apiRequests).toBe(0);
    expect(kube.stats.total).toBe(0);
    expect(report.refused.map((r) => [workloadOf(kube.list("pods"), r.pod), r.reason]).sort()).toEqual([
      ["cart-cache", "local-storage"],
      ["debug-shell", "unmanaged"],
    ]);
  });
});

describe("drainNode: which pods move (kubectl drain's filters)", () => {
  /** A node with one pod of every kind kubectl drain tells apart. */
  async function mixedNode() {
    const seed = oneNode();
    addDeployment(seed, { name: "web", replicas: 1 });
    addDeployment(seed, { name: "cache", replicas: 1, emptyDir: true });
    addDeployment(seed, { name: "pinned", replicas: 1 }, { "spot-manager/skip-drain": "true" });
    addDeployment(seed, { name: "casual", replicas: 1 }, { "spot-manager/skip-drain": "false" });
    seed.daemonSets.push(daemonSetFixture({ namespace: "kube-system", name: "aws-node", tolerations: [{ operator: "Exists" }] }));
    seed.pods.push(barePod("debug"), barePod("done", { emptyDir: true }), barePod("leaving"));
    seed.mirrorPods.push(mirrorPodFixture({ namespace: "kube-system", name: "static-log-agent", nodeName: NODE }));
    const kube = await cluster(seed, { simulation: FAST_SIM });
    await cordon(kube, NODE);
    const admin = connect(kube);
    // "done" ran to completion; "leaving" is already being deleted (30 s grace = 300 ms here)
    const done = kube.get("pods", "shop", "done")!;
    await admin.gateway.send({ method: "PUT", path: "/api/v1/namespaces/shop/pods/done/status", body: { ...done, status: { ...(done["status"] as object), phase: "Succeeded" } } });
    await admin.gateway.send({ method: "DELETE", path: "/api/v1/namespaces/shop/pods/leaving", body: { gracePeriodSeconds: 30 } });
    expect(kube.get("pods", "shop", "leaving")?.metadata.deletionTimestamp).toEqual(expect.any(String));
    expect((kube.get("pods", "shop", "done")?.["status"] as { phase?: string }).phase).toBe("Succeeded");
    const byPrefix = (prefix: string) => refOf(podNamed(kube, prefix)[0]);
    kube.stats.reset();
    return { kube, client: connect(kube), byPrefix };
  }

  it("with the strict policy refuses emptyDir and unmanaged pods, and still removes finished ones", async () => {
    // Prepare
    const { kube, client, byPrefix } = await mixedNode();
    const [web, cache, pinned, casual, debug, done, leaving] = ["web-", "cache-", "pinned-", "casual-", "debug", "done", "leaving"].map(byPrefix);
    const [ds, mirror] = [podNamed(kube, "aws-node-")[0], podNamed(kube, "static-log-agent-")[0]].map(refOf);
    // Act
    const report = await drain(client, { policy: STRICT });
    // Assess: the report
    expect(names(report.evicted)).toEqual(names([web!, casual!, done!]));
    expect(report.skipped).toEqual(expect.arrayContaining([{ pod: pinned, reason: "opted-out" }, { pod: ds, reason: "daemonset" }, { pod: mirror, reason: "mirror" }]));
    expect(report.skipped).toHaveLength(3);
    expect(report.refused).toEqual(expect.arrayContaining([{ pod: cache, reason: "local-storage" }, { pod: debug, reason: "unmanaged" }]));
    expect(report.refused).toHaveLength(2);
    expect(report).toMatchObject({ failed: [], remaining: [], forceDeleted: [], blockedByPdb: 0 });
    // pods the policy keeps are pods left: the node is not drained, and says why
    expect(report).toMatchObject({ complete: false, deadlineMet: false, retryable: [] });
    expect(report.left).toEqual(
      expect.arrayContaining([
        { pod: cache, reason: "refused-by-policy", why: expect.stringContaining("emptyDir data") },
        { pod: debug, reason: "refused-by-policy", why: expect.stringContaining("no controller manages it") },
      ]),
    );
    expect(report.left).toHaveLength(2);
    // Assess: nothing was asked of the pods that stay, or of the one already leaving
    const evicted = evictions(kube).map((r) => r.path.split("/")[6]).sort();
    expect(evicted).toEqual(names([web!, casual!, done!]));
    expect(kube.stats.count("delete", "pods")).toBe(0);
    // the report came only after the pods that had to leave were gone (graceful: 300 ms)
    const present = podsOnNode(kube).map((p) => p.metadata?.name);
    for (const gone of [web!, casual!, done!, leaving!]) expect(present).not.toContain(gone.name);
    for (const stays of [cache!, pinned!, debug!, ds!, mirror!]) {
      expect(podsOnNode(kube).find((p) => p.metadata?.uid === stays.uid)?.metadata?.deletionTimestamp).toBeUndefined();
    }
    expect(kube.stats.count("list", "pods")).toBeGreaterThanOrEqual(2);
    expect(report.apiRequests).toBe(kube.stats.total);
  });

  it("with --delete-emptydir-data and --force semantics moves emptyDir and unmanaged pods too", async () => {
    const { kube, client, byPrefix } = await mixedNode();
    const [web, cache, casual, debug, done] = ["web-", "cache-", "casual-", "debug", "done"].map(byPrefix);
    const report = await drain(client, { policy: { ...DEFAULT_DRAIN_POLICY, deleteEmptyDirData: true, forceUnmanaged: true } });
    expect(names(report.evicted)).toEqual(names([web!, cache!, casual!, debug!, done!]));
    expect(report.refused).toEqual([]);
    expect(report.skipped.map((s) => s.reason).sort()).toEqual(["daemonset", "mirror", "opted-out"]);
    expect(report).toMatchObject({ complete: true, deadlineMet: true, remaining: [] });
    const all = kube.list("pods");
    expect(podsOnNode(kube).map((p) => workloadOf(all, refOf(p))).sort()).toEqual(["aws-node", "pinned", "static-log-agent"]);
  });
});

describe("drainNode and PodDisruptionBudgets", () => {
  /** Two replicas of shop/web on the node, both required by their budget; no kubelet, no replacements. */
  async function blockedNode(options: { extraPdb?: boolean } = {}) {
    const seed = oneNode();
    addDeployment(seed, { name: "web", replicas: 2, terminationGracePeriodSeconds: 0, pdb: { minAvailable: 2 } });
    if (options.extraPdb) addPdb(seed, "web-too", "web", { maxUnavailable: 1 });
    const kube = await cluster(seed);
    const pods = podsOnNode(kube).map(refOf);
    kube.stats.reset();
    return { kube, pods };
  }

  it("retries refused evictions with backoff and evicts once the budget allows, never before", async () => {
    // Prepare
    const { kube, pods } = await blockedNode();
    const client = connect(kube);
    const admin = connect(kube);
    // Act: drain; once both pods met a refusal, the budget frees up (as when replacements turn Ready)
    const draining = drain(client, { policy: DEFAULT_DRAIN_POLICY });
    await eventually(() => evictions(kube).filter((r) => r.status === 429).length >= 2, "two refusals");
    const freedAt = kube.stats.log.length;
    await admin.gateway.send({ method: "PATCH", path: "/apis/policy/v1/namespaces/shop/poddisruptionbudgets/web", body: { spec: { minAvailable: 0 } }, contentType: "application/merge-patch+json" });
    const report = await draining;
    // Assess
    expect(names(report.evicted)).toEqual(names(pods));
    expect(report).toMatchObject({ complete: true, deadlineMet: true, failed: [], remaining: [], forceDeleted: [] });
    expect(report.blockedByPdb).toBeGreaterThanOrEqual(2);
    expect(names(report.pdbBlockedPods)).toEqual(names(pods));
    const log = kube.stats.log;
    const accepted = log.map((r, i) => ({ ...r, i })).filter((r) => r.resource === "pods/eviction" && r.status === 201);
    expect(accepted).toHaveLength(2);
    for (const r of accepted) expect(r.i).toBeGreaterThan(freedAt);
    expect(evictions(kube)).toHaveLength(2 + report.blockedByPdb);
    expect(kube.stats.count("delete", "pods")).toBe(0);
    expect(podsOnNode(kube)).toEqual([]);
  });

  it("pods of one controller take turns once its budget refused one: a budget that lets nothing go costs a request per backoff, not one per pod", async () => {
    // Prepare: twelve replicas, a budget that lets none go
    const seed = oneNode();
    addDeployment(seed, { name: "web", replicas: 12, terminationGracePeriodSeconds: 0, pdb: { minAvailable: 12 } });
    const kube = await cluster(seed);
    const pods = podsOnNode(kube).map(refOf);
    kube.stats.reset();
    const client = connect(kube);
    const deadline = Date.now() + 4_000;
    // Act
    const report = await drain(client, { deadline, policy: { ...DEFAULT_DRAIN_POLICY, atDeadline: "leave" } });
    // Assess: the first round side by side (all twelve refused), then one request per backoff
    // (0.5-1 s, 1-2 s, 2-4 s): without turns each pod would have asked three or four times
    expect(report).toMatchObject({ evicted: [], complete: false });
    expect(names(report.pdbBlockedPods)).toEqual(names(pods));
    expect(report.left.map((l) => l.reason)).toEqual(pods.map(() => "pdb-blocked"));
    const refused = evictions(kube);
    expect(refused.every((r) => r.status === 429)).toBe(true);
    expect(refused.length).toBeGreaterThanOrEqual(12 + 1);
    expect(refused.length).toBeLessThanOrEqual(12 + 4);
    expect(report.blockedByPdb).toBe(refused.length);
    const afterFirstRound = client.seen.filter((r) => r.path.endsWith("/eviction")).slice(12).map((r) => r.startedAt);
    for (let i = 1; i < afterFirstRound.length; i += 1) expect(afterFirstRound[i]! - afterFirstRound[i - 1]!).toBeGreaterThanOrEqual(450);
    expect(report.finishedAt).toBeGreaterThanOrEqual(deadline);
  });

  it("once the budget lets pods go again, the waiting pods of the controller go one after another without waiting for a backoff each", async () => {
    // Prepare
    const seed = oneNode();
    addDeployment(seed, { name: "web", replicas: 6, terminationGracePeriodSeconds: 0, pdb: { minAvailable: 6 } });
    const kube = await cluster(seed);
    const pods = podsOnNode(kube).map(refOf);
    kube.stats.reset();
    const client = connect(kube);
    const admin = connect(kube);
    // Act: refused first; then the budget allows all
    const draining = drain(client, { policy: DEFAULT_DRAIN_POLICY });
    await eventually(() => evictions(kube).filter((r) => r.status === 429).length >= 6, "the first round refused");
    await admin.gateway.send({ method: "PATCH", path: "/apis/policy/v1/namespaces/shop/poddisruptionbudgets/web", body: { spec: { minAvailable: 0 } }, contentType: "application/merge-patch+json" });
    const freedAt = Date.now();
    const report = await draining;
    // Assess: every pod evicted, within about one backoff of the budget's change, not six
    expect(names(report.evicted)).toEqual(names(pods));
    expect(report.complete).toBe(true);
    const accepted = client.seen.filter((r) => r.path.endsWith("/eviction") && r.status === 201).map((r) => r.endedAt);
    expect(accepted).toHaveLength(6);
    expect(Math.max(...accepted) - freedAt).toBeLessThan(2_500);
  });

  it("at the deadline with atDeadline 'leave' leaves blocked pods in place and says so", async () => {
    // Prepare
    const { kube, pods } = await blockedNode();
    const client = connect(kube);
    const deadline = Date.now() + 2_500;
    // Act
    const report = await drain(client, { deadline, policy: { ...DEFAULT_DRAIN_POLICY, atDeadline: "leave" } });
    // Assess: refused every time, retried with backoff (0.5 s, 1 s, ...) rather than in a hot loop
    expect(report).toMatchObject({ evicted: [], forceDeleted: [], failed: [], complete: false, deadlineMet: false });
    expect(names(report.remaining)).toEqual(names(pods));
    expect(names(report.pdbBlockedPods)).toEqual(names(pods));
    expect(report.blockedByPdb).toBe(evictions(kube).length);
    // floors of 0.5 s and 1 s, then 2 s would end past the deadline: at most 3 tries per pod
    expect(report.blockedByPdb).toBeGreaterThanOrEqual(4);
    expect(report.blockedByPdb).toBeLessThanOrEqual(6);
    for (const pod of pods) {
      const tries = client.seen.filter((r) => r.path.endsWith(`/${pod.name}/eviction`)).map((r) => r.startedAt);
      for (let i = 1; i < tries.length; i += 1) expect(tries[i]! - tries[i - 1]!).toBeGreaterThanOrEqual(450);
    }
    expect(evictions(kube).every((r) => r.status === 429)).toBe(true);
    expect(report.finishedAt).toBeGreaterThanOrEqual(deadline);
    expect(kube.stats.count("delete", "pods")).toBe(0);
    expect(podsOnNode(kube).map(refOf)).toEqual(pods);
    expect(podsOnNode(kube).every((p) => p.metadata?.deletionTimestamp === undefined)).toBe(true);
    expect(report.apiRequests).toBe(kube.stats.total);
  });

  it("at the deadline with atDeadline 'delete' deletes what is left with grace 0, and only then", async () => {
    // Prepare
    const { kube, pods } = await blockedNode();
    const client = connect(kube);
    const deadline = Date.now() + 2_000;
    // Act
    const report = await drain(client, { deadline, policy: { ...DEFAULT_DRAIN_POLICY, atDeadline: "delete" } });
    // Assess
    expect(names(report.forceDeleted)).toEqual(names(pods));
    expect(report).toMatchObject({ evicted: [], remaining: [], failed: [], deadlineMet: false, complete: true });
    expect(report.blockedByPdb).toBeGreaterThanOrEqual(2);
    const deletes = client.seen.filter((r) => r.method === "DELETE");
    expect(deletes).toHaveLength(2);
    for (const d of deletes) expect(d.startedAt).toBeGreaterThanOrEqual(deadline);
    expect(evictions(kube).every((r) => r.status === 429)).toBe(true);
    expect(podsOnNode(kube)).toEqual([]);
  });

  // drainNode never throws for a pod it could not move: a force deletion that fails at the
  // deadline (here: the API stays unavailable) is reported, with everything done so far
  it("at the deadline reports a force deletion that fails instead of throwing", async () => {
    // Prepare
    const { kube, pods } = await blockedNode();
    kube.faults.add({ match: { verb: "delete", resource: "pods" }, effect: { kind: "status", code: 503 } });
    const client = connect(kube, { maxAttempts: 2 });
    // Act
    const report = await drain(client, { deadline: Date.now() + 1_000, policy: { ...DEFAULT_DRAIN_POLICY, atDeadline: "delete" } });
    // Assess
    expect(report.forceDeleted).toEqual([]);
    expect(report.complete).toBe(false);
    expect(names([...report.failed.map((f) => f.pod), ...report.remaining])).toEqual(names(pods));
    expect(podsOnNode(kube).map(refOf)).toEqual(pods);
  });

  it("reports a pod under two budgets as failed after one attempt", async () => {
    const { kube, pods } = await blockedNode({ extraPdb: true });
    const client = connect(kube);
    const log = new Recorder();
    const report = await drain(client, { deadline: Date.now() + 1_500, policy: DEFAULT_DRAIN_POLICY }, log);
    expect(names(report.failed.map((f) => f.pod))).toEqual(names(pods));
    expect(report.failed[0]?.message).toMatch(/more than one PodDisruptionBudget/);
    expect(report).toMatchObject({ evicted: [], blockedByPdb: 0, complete: false });
    expect(evictions(kube)).toHaveLength(2);
    expect(evictions(kube).every((r) => r.status === 500)).toBe(true);
    expect(podsOnNode(kube).map(refOf)).toEqual(pods);
    expect(log.lines.filter((l) => l.level === "WARN" && l.message === "eviction refused")).toHaveLength(2);
    expect(report.left.map((l) => l.reason)).toEqual(["eviction-refused", "eviction-refused"]);
    expect(report.left[0]?.why).toMatch(/^eviction refused: This pod has more than one PodDisruptionBudget/);
    expect(report.retryable).toEqual([]);
  });
});

describe("drainNode and API trouble", () => {
  async function simpleNode(replicas = 2) {
    const seed = oneNode();
    addDeployment(seed, { name: "web", replicas, terminationGracePeriodSeconds: 0 });
    const kube = await cluster(seed);
    const pods = podsOnNode(kube).map(refOf);
    kube.stats.reset();
    return { kube, pods };
  }

  it("gets through API throttling without taking it for a budget", async () => {
    const { kube, pods } = await simpleNode();
    kube.faults.add({ match: { resource: "pods/eviction" }, effect: { kind: "status", code: 429, retryAfterSeconds: 1 }, times: 2 });
    const client = connect(kube, { sleep: (ms) => sleep(ms / 100) });
    const report = await drain(client, { policy: DEFAULT_DRAIN_POLICY });
    expect(names(report.evicted)).toEqual(names(pods));
    expect(report).toMatchObject({ blockedByPdb: 0, pdbBlockedPods: [], complete: true });
    expect(evictions(kube).map((r) => r.status).sort()).toEqual([201, 201, 429, 429]);
    expect(report.apiRequests).toBe(kube.stats.total);
  });

  it("keeps trying through an unavailable API until the deadline, and reports the pods as remaining, not failed", async () => {
    const { kube, pods } = await simpleNode(1);
    kube.faults.add({ match: { resource: "pods/eviction" }, effect: { kind: "status", code: 503 } });
    const client = connect(kube, { maxAttempts: 2 });
    const report = await drain(client, { deadline: Date.now() + 1_500, policy: DEFAULT_DRAIN_POLICY });
    expect(report).toMatchObject({ evicted: [], failed: [], blockedByPdb: 0, complete: false, deadlineMet: false });
    expect(report.remaining).toEqual(pods);
    expect(evictions(kube).length).toBeGreaterThanOrEqual(4);
    expect(podsOnNode(kube).map(refOf)).toEqual(pods);
  });

  it("reports evictions it may not make as failed, without retrying them", async () => {
    const { kube, pods } = await simpleNode();
    const client = connect(kube, {}, { token: async () => READER_TOKEN });
    const report = await drain(client, { deadline: Date.now() + 1_000, policy: DEFAULT_DRAIN_POLICY });
    expect(names(report.failed.map((f) => f.pod))).toEqual(names(pods));
    expect(report.failed[0]?.message).toMatch(/forbidden/);
    expect(report.complete).toBe(false);
    expect(evictions(kube)).toHaveLength(2);
    expect(podsOnNode(kube).map(refOf)).toEqual(pods);
  });

  it("an eviction request that cannot be made is asked again: the drain never throws, and none of its evictions outlives it", async () => {
    // Prepare: three replicas under a budget that lets none go; once it refused one, the token for one request cannot be had
    const seed = oneNode();
    addDeployment(seed, { name: "web", replicas: 3, terminationGracePeriodSeconds: 0, pdb: { minAvailable: 3 } });
    const kube = await cluster(seed);
    const pods = podsOnNode(kube).map(refOf);
    kube.stats.reset();
    let refused = 0;
    const client = connect(kube, {}, {
      token: async () => {
        if (refused === 0 && evictions(kube).some((r) => r.status === 429)) {
          refused += 1;
          throw new Error("credentials could not be loaded to sign the token");
        }
        return kube.token;
      },
    });
    // Act
    const report = await drain(client, { deadline: Date.now() + 2_000, policy: DEFAULT_DRAIN_POLICY });
    const answered = kube.stats.total;
    await sleep(1_500);
    // Assess: a report, every pod left with why (its budget, or the request that could not be made), and not one request after it
    expect(refused).toBe(1);
    expect(report).toMatchObject({ evicted: [], failed: [], complete: false });
    expect(names(report.remaining)).toEqual(names(pods));
    for (const left of report.left) {
      expect(left.reason === "pdb-blocked" || (left.reason === "eviction-failing" && left.why.includes("eviction request not made: credentials could not be loaded"))).toBe(true);
    }
    expect(kube.stats.total).toBe(answered);
  });

  it("when the pod list fails while it waits, asks again until the deadline, then reports the evicted pods as not confirmed gone instead of throwing", async () => {
    // Prepare: the pods take 30 s to stop (no kubelet here), and once the evictions are made every pod list fails
    const seed = oneNode();
    addDeployment(seed, { name: "web", replicas: 2, terminationGracePeriodSeconds: 30 });
    const kube = await cluster(seed);
    const pods = podsOnNode(kube).map(refOf);
    kube.stats.reset();
    const unsubscribe = kube.stats.subscribe((entry) => {
      if (entry.resource === "pods/eviction" && entry.status === 201 && evictions(kube).filter((r) => r.status === 201).length === pods.length) {
        kube.faults.add({ match: { verb: "list", resource: "pods" }, effect: { kind: "status", code: 503 } });
        unsubscribe();
      }
    });
    const client = connect(kube, { maxAttempts: 1 });
    const log = new Recorder();
    // Act
    const report = await drain(client, { deadline: Date.now() + 1_500, policy: DEFAULT_DRAIN_POLICY }, log);
    // Assess
    const failedLists = kube.stats.log.filter((r) => r.verb === "list" && r.resource === "pods" && r.status === 503);
    expect(names(report.evicted)).toEqual(names(pods));
    expect(report).toMatchObject({ complete: false, deadlineMet: false });
    expect(failedLists.length).toBeGreaterThan(1);
    expect(report.left.map((l) => l.reason)).toEqual(["terminating", "terminating"]);
    expect(report.left[0]?.why).toMatch(/^evicted, not confirmed gone: the node's pods could not be listed/);
    expect(log.lines.some((l) => l.level === "WARN" && l.message === "pods on the node could not be listed while waiting for them to go")).toBe(true);
  });

  it("with the deadline already past asks for no eviction", async () => {
    const { kube, pods } = await simpleNode();
    const client = connect(kube);
    const report = await drain(client, { deadline: Date.now() - 1, policy: DEFAULT_DRAIN_POLICY });
    expect(report).toMatchObject({ evicted: [], complete: false, deadlineMet: false });
    expect(names(report.remaining)).toEqual(names(pods));
    expect(evictions(kube)).toEqual([]);
    expect(writes(kube)).toEqual([]);
  });
});

describe("drainNode: parallelism, grace and waiting", () => {
  /** The most requests that were in flight at one time. */
  function maxInFlight(intervals: { startedAt: number; endedAt: number }[]): number {
    const events = intervals.flatMap((i) => [
      { t: i.startedAt, d: 1 },
      { t: i.endedAt, d: -1 },
    ]);
    events.sort((a, b) => a.t - b.t || a.d - b.d);
    let now = 0;
    let max = 0;
    for (const e of events) {
      now += e.d;
      max = Math.max(max, now);
    }
    return max;
  }

  it.each([1, 3])("keeps at most %i evictions in flight", async (parallelism) => {
    // Prepare: six pods, each eviction takes 150 ms at the server
    const seed = oneNode();
    addDeployment(seed, { name: "web", replicas: 6, terminationGracePeriodSeconds: 0 });
    const kube = await cluster(seed);
    kube.faults.add({ match: { resource: "pods/eviction" }, effect: { kind: "latency", ms: 150 } });
    const client = connect(kube);
    // Act
    const report = await drain(client, { policy: { ...DEFAULT_DRAIN_POLICY, parallelism } });
    // Assess
    const evictionRequests = client.seen.filter((r) => r.path.endsWith("/eviction"));
    expect(report.evicted).toHaveLength(6);
    expect(report.complete).toBe(true);
    expect(evictionRequests).toHaveLength(6);
    expect(maxInFlight(evictionRequests)).toBe(parallelism);
  });

  it.each<[string, Partial<DrainPolicy>, number, (grace: number) => void]>([
    ["caps a long grace period to the time left", { capGraceToDeadline: true }, 4_000, (g) => expect(g).toBeLessThanOrEqual(3)],
    ["keeps the pod's own grace period when not capped", { capGraceToDeadline: false }, 4_000, (g) => expect(g).toBe(600)],
    ["uses the policy's grace period when set", { capGraceToDeadline: false, gracePeriodSeconds: 5 }, 4_000, (g) => expect(g).toBe(5)],
    ["uses the policy's grace period when it fits the time left", { capGraceToDeadline: true, gracePeriodSeconds: 2 }, 8_000, (g) => expect(g).toBe(2)],
  ])("%s", async (_, policy, msLeft, check) => {
    // Prepare: a pod that asks for 10 minutes; the simulated kubelet runs 1000x fast
    const seed = oneNode();
    seed.pods.push(barePod("slow", { terminationGracePeriodSeconds: 600 }));
    const kube = await cluster(seed, { simulation: { timeScale: 0.001, podStartupSeconds: 0 } });
    const graces: number[] = [];
    const stop = kube.store.subscribe((change) => {
      const grace = change.object.metadata.deletionGracePeriodSeconds;
      if (change.object.metadata.name === "slow" && grace !== undefined) graces.push(grace);
    });
    const client = connect(kube);
    // Act
    const report = await drain(client, { deadline: Date.now() + msLeft, policy: { ...DEFAULT_DRAIN_POLICY, ...policy } });
    stop();
    // Assess
    expect(report).toMatchObject({ complete: true, deadlineMet: true });
    expect(graces.length).toBeGreaterThanOrEqual(1);
    expect(graces[0]).toBeGreaterThanOrEqual(0);
    check(graces[0]!);
  });

  it("takes a pod replaced under the same name (another uid) as gone, and leaves the new one alone", async () => {
    // Prepare: no kubelet, so the evicted pod stays terminating until "its controller" replaces it
    const seed = oneNode();
    seed.pods.push(barePod("web-0"));
    const kube = await cluster(seed);
    const old = refOf(kube.get("pods", "shop", "web-0"));
    const client = connect(kube);
    const admin = connect(kube);
    // Act
    const draining = drain(client, { deadline: Date.now() + 4_000, policy: DEFAULT_DRAIN_POLICY });
    await eventually(() => kube.get("pods", "shop", "web-0")?.metadata.deletionTimestamp !== undefined, "web-0 terminating");
    await admin.api.deletePod(old, 0);
    await admin.gateway.send({ method: "POST", path: "/api/v1/namespaces/shop/pods", body: barePod("web-0") });
    const report = await draining;
    // Assess
    const replacement = kube.get("pods", "shop", "web-0");
    expect(replacement?.metadata.uid).not.toBe(old.uid);
    expect(replacement?.metadata.deletionTimestamp).toBeUndefined();
    expect(report).toMatchObject({ evicted: [old], remaining: [], complete: true, deadlineMet: true });
    expect(client.seen.filter((r) => r.path.endsWith("/eviction"))).toHaveLength(1);
    expect(client.seen.filter((r) => r.method === "DELETE")).toHaveLength(0);
  });

  it("with a stale pod list takes a vanished pod (404) and a namesake (409) as gone", async () => {
    // Prepare: the caller listed the pods; since then one left and one was recreated
    const seed = oneNode();
    seed.pods.push(barePod("a", { terminationGracePeriodSeconds: 0 }), barePod("b", { terminationGracePeriodSeconds: 0 }), barePod("c", { terminationGracePeriodSeconds: 0 }));
    const kube = await cluster(seed);
    const client = connect(kube);
    const admin = connect(kube);
    const listed = await client.api.podsOnNode(NODE);
    const [a, b] = ["a", "b"].map((n) => refOf(kube.get("pods", "shop", n)));
    await admin.api.deletePod(a!, 0);
    await admin.api.deletePod(b!, 0);
    await admin.gateway.send({ method: "POST", path: "/api/v1/namespaces/shop/pods", body: barePod("b", { terminationGracePeriodSeconds: 0 }) });
    const newB = refOf(kube.get("pods", "shop", "b"));
    kube.stats.reset();
    // Act
    const report = await drain(client, { deadline: Date.now() + 4_000, policy: DEFAULT_DRAIN_POLICY, pods: listed });
    // Assess
    expect(names(report.evicted)).toEqual(["a", "b", "c"]);
    expect(report).toMatchObject({ failed: [], remaining: [], complete: true });
    expect(kube.stats.log[0]?.resource).toBe("pods/eviction");
    expect(evictions(kube).map((r) => r.status).sort()).toEqual([201, 404, 409]);
    expect(kube.get("pods", "shop", "b")?.metadata).toMatchObject({ uid: newB.uid });
    expect(kube.get("pods", "shop", "b")?.metadata.deletionTimestamp).toBeUndefined();
  });
});

describe("pdbBackoffMs", () => {
  it("waits between half and all of an exponential ceiling from 1 s to 8 s, and at least the Retry-After", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }), (attempt, r, retryAfter) => {
        const ceiling = Math.min(8_000, 1_000 * 2 ** (attempt - 1));
        const delay = pdbBackoffMs(attempt, () => r, retryAfter);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(Math.max(ceiling, (retryAfter ?? 0) * 1000));
        if (retryAfter !== undefined) expect(delay).toBeGreaterThanOrEqual(retryAfter * 1000);
      }),
    );
  });
});

describe("classifyPod", () => {
  const owner = (kind: string, controller: boolean) => ({ apiVersion: kind === "Node" ? "v1" : kind === "Job" ? "batch/v1" : "apps/v1", kind, name: "x", uid: "u", controller });
  const pod = fc.record({
    mirror: fc.boolean(),
    owner: fc.constantFrom(undefined, "DaemonSet", "ReplicaSet", "StatefulSet", "Job", "Node"),
    controllerFlag: fc.boolean(),
    terminating: fc.boolean(),
    phase: fc.constantFrom(undefined, "Pending", "Running", "Succeeded", "Failed", "Unknown"),
    skipDrain: fc.constantFrom(undefined, "true", "false", "yes"),
    emptyDir: fc.boolean(),
  });
  type PodShape = typeof pod extends fc.Arbitrary<infer T> ? T : never;
  const toPod = (p: PodShape): Pod => ({
    metadata: {
      name: "p",
      namespace: "shop",
      annotations: { ...(p.mirror ? { "kubernetes.io/config.mirror": "hash" } : {}), ...(p.skipDrain ? { "spot-manager/skip-drain": p.skipDrain } : {}) },
      ...(p.owner ? { ownerReferences: [owner(p.owner, p.controllerFlag)] } : {}),
      ...(p.terminating ? { deletionTimestamp: "2024-05-14T18:21:08Z" } : {}),
    },
    spec: { containers: [{ name: "c" }], ...(p.emptyDir ? { volumes: [{ name: "scratch", emptyDir: {} }] } : {}) },
    ...(p.phase ? { status: { phase: p.phase } } : {}),
  });
  const policies = fc.record({ deleteEmptyDirData: fc.boolean(), forceUnmanaged: fc.boolean() });

  it("never moves mirror pods, honours the opt-out, and moves DaemonSet pods only once they finished", () => {
    fc.assert(
      fc.property(pod, policies, (p, policy) => {
        const d = classifyPod(toPod(p), policy);
        const finished = p.phase === "Succeeded" || p.phase === "Failed";
        if (p.mirror) expect(d).toEqual({ action: "skip", reason: "mirror" });
        else if (p.skipDrain === "true") expect(d).toEqual({ action: "skip", reason: "opted-out" });
        // kubectl's DaemonSet filter lets finished DaemonSet pods be removed
        else if (p.owner === "DaemonSet" && p.controllerFlag && !finished) expect(d).toEqual({ action: "skip", reason: "daemonset" });
      }),
    );
  });

  it("waits for terminating pods and removes finished ones; only the exact value \"true\" opts out", () => {
    fc.assert(
      fc.property(pod, policies, (p, policy) => {
        const d = classifyPod(toPod(p), policy);
        const finished = p.phase === "Succeeded" || p.phase === "Failed";
        const daemon = p.owner === "DaemonSet" && p.controllerFlag;
        if (p.skipDrain !== "true") expect(d).not.toEqual({ action: "skip", reason: "opted-out" });
        if (p.mirror || p.skipDrain === "true" || (daemon && !finished)) return;
        if (p.terminating) expect(d).toEqual({ action: "wait", reason: "terminating" });
        else if (finished) expect(d).toEqual({ action: "evict" });
      }),
    );
  });

  it("refuses only what the policy keeps, and a more permissive policy never refuses more", () => {
    fc.assert(
      fc.property(pod, policies, (p, policy) => {
        const d = classifyPod(toPod(p), policy);
        const managed = p.owner !== undefined && p.controllerFlag;
        if (d.action === "refuse" && d.reason === "unmanaged") expect(policy.forceUnmanaged || managed).toBe(false);
        if (d.action === "refuse" && d.reason === "local-storage") expect(policy.deleteEmptyDirData === false && p.emptyDir).toBe(true);
        const permissive: ClassifyPolicy = { deleteEmptyDirData: true, forceUnmanaged: true };
        expect(classifyPod(toPod(p), permissive).action).not.toBe("refuse");
        if (d.action !== "refuse") expect(classifyPod(toPod(p), permissive)).toEqual(d);
        // a running pod no other rule holds back moves exactly when the policy allows it
        const settled = p.mirror || (p.owner === "DaemonSet" && p.controllerFlag) || p.terminating || p.phase === "Succeeded" || p.phase === "Failed" || p.skipDrain === "true";
        if (!settled) expect(d.action).toBe((managed || policy.forceUnmanaged) && (!p.emptyDir || policy.deleteEmptyDirData) ? "evict" : "refuse");
      }),
    );
  });

  it("takes a pod whose owner is not its controller as unmanaged, as kubectl does", () => {
    const p = toPod({ mirror: false, owner: "ReplicaSet", controllerFlag: false, terminating: false, phase: "Running", skipDrain: undefined, emptyDir: false });
    expect(classifyPod(p, STRICT)).toEqual({ action: "refuse", reason: "unmanaged" });
    expect(classifyPod(p, DEFAULT_DRAIN_POLICY)).toEqual({ action: "evict" });
  });
});
