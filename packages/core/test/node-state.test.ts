/**
 * changeNode against kube-local over HTTPS: one merge patch guarded by the resourceVersion read,
 * nothing sent when the node already is as asked, and a re-read and retry after a 409 that keeps
 * what the other writer changed.
 */
import { emptySeed, nodeFixture, startKubeLocal, type KubeLocal } from "@spot-manager/kube-local";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { RetryError } from "../src/errors";
import { KubeApi } from "../src/kube/api";
import { KubeGateway, type RequestInfo } from "../src/kube/gateway";
import { changeNode, hasTaint, taintsOf, type ChangeOptions, type NodeChange } from "../src/kube/node-state";
import type { Node, Taint } from "../src/kube/types";

const NODE = "ip-10-0-1-21.us-west-2.compute.internal";
const LIFECYCLE_TAINT: Taint = { key: "spot-manager/lifecycle", value: "spot", effect: "PreferNoSchedule" };
const ITN_TAINT: Taint = { key: "spot-manager/spot-itn", value: "evt-1", effect: "NoSchedule" };
const FIXED_NOW = () => new Date("2024-05-14T18:21:08.123Z");
/** A fixed clock, and no pause after a conflict (one test below looks at the pause). */
const OPTIONS: ChangeOptions = { now: FIXED_NOW, conflictBackoff: async () => undefined };

const servers: KubeLocal[] = [];
const gateways: KubeGateway[] = [];

afterEach(async () => {
  for (const gateway of gateways.splice(0)) gateway.close();
  await Promise.all(servers.splice(0).map((kube) => kube.stop()));
});

async function cluster(): Promise<KubeLocal> {
  const seed = emptySeed();
  seed.nodes.push(
    nodeFixture({ name: NODE, instanceId: "i-1234567890abcdef0", zone: "us-west-2a", instanceType: "m5.xlarge", capacityType: "SPOT", nodegroup: "spot-general", internalIp: "10.0.1.21", taints: [LIFECYCLE_TAINT] }),
  );
  // the node lifecycle controller's own taint writes are a second writer; these tests look at changeNode alone
  const kube = await startKubeLocal({ seed, simulation: false, controllers: { nodeLifecycle: false } });
  servers.push(kube);
  return kube;
}

function connect(kube: KubeLocal, onRequest?: (info: RequestInfo) => void): KubeApi {
  const gateway = new KubeGateway({ server: kube.url, caPem: kube.caPem, token: async () => kube.token }, { baseDelayMs: 5, maxDelayMs: 40, ...(onRequest ? { onRequest } : {}) });
  gateways.push(gateway);
  return new KubeApi(gateway);
}

/** Reads the node as the handler would, then forgets that request. */
async function read(kube: KubeLocal, api: KubeApi): Promise<Node> {
  const node = await api.getNode(NODE);
  if (!node) throw new Error("node missing");
  kube.stats.reset();
  return node;
}

const stored = (kube: KubeLocal) => kube.get("nodes", undefined, NODE) as unknown as Node;
const requests = (kube: KubeLocal) => kube.stats.log.map((r) => `${r.verb} ${r.status}`);

/** Another writer (kubelet heartbeat, a second handler) changes the node behind our back. */
function touch(kube: KubeLocal, change: (node: Node) => void = () => undefined): void {
  const current = kube.store.get("nodes", undefined, NODE);
  if (!current) throw new Error("node missing");
  current.metadata.annotations = { ...current.metadata.annotations, heartbeat: String(Date.now()) };
  change(current as unknown as Node);
  kube.store.put("nodes", current);
}

describe("changeNode", () => {
  it("taints and cordons with one PATCH and no read, keeping the taints already there", async () => {
    // Prepare
    const kube = await cluster();
    const api = connect(kube);
    const node = await read(kube, api);
    // Act
    const result = await changeNode(api, node, { addTaints: [ITN_TAINT], unschedulable: true, annotations: { "spot-manager/action": "drain" } }, OPTIONS);
    // Assess
    expect(result).toMatchObject({ changed: true, requests: 1 });
    expect(requests(kube)).toEqual(["patch 200"]);
    const after = stored(kube);
    expect(taintsOf(after)).toEqual([LIFECYCLE_TAINT, ITN_TAINT]);
    expect(after.spec?.unschedulable).toBe(true);
    expect(after.metadata?.annotations?.["spot-manager/action"]).toBe("drain");
    expect(after.metadata?.annotations?.["alpha.kubernetes.io/provided-node-ip"]).toBe("10.0.1.21");
    expect(result.node.metadata?.resourceVersion).toBe(after.metadata?.resourceVersion);
  });

  it("sends nothing when the node already is as asked", async () => {
    // Prepare: the change is in place already
    const kube = await cluster();
    const api = connect(kube);
    const change: NodeChange = { addTaints: [ITN_TAINT], unschedulable: true, annotations: { "spot-manager/action": "drain" } };
    await changeNode(api, await read(kube, api), change, OPTIONS);
    const node = await read(kube, api);
    const version = node.metadata?.resourceVersion;
    // Act: the same change again, and changes that are no-ops on this node
    const again = await changeNode(api, node, change, OPTIONS);
    const noop = await changeNode(api, node, { removeTaints: [{ key: "spot-manager/rebalance" }, { key: ITN_TAINT.key, onlyIfValue: "evt-other" }], annotations: { absent: null }, unschedulable: true }, OPTIONS);
    const empty = await changeNode(api, node, {}, OPTIONS);
    // Assess
    for (const result of [again, noop, empty]) expect(result).toMatchObject({ changed: false, requests: 0 });
    expect(again.node).toBe(node);
    expect(kube.stats.total).toBe(0);
    expect(stored(kube).metadata?.resourceVersion).toBe(version);
  });

  it("removes only the taint whose value is ours, and leaves another event's alone", async () => {
    const kube = await cluster();
    const api = connect(kube);
    const foreign: Taint = { key: "spot-manager/rebalance", value: "evt-2", effect: "PreferNoSchedule" };
    const ours: Taint = { key: "spot-manager/spot-itn", value: "evt-1", effect: "NoSchedule" };
    await changeNode(api, await read(kube, api), { addTaints: [foreign, ours] }, OPTIONS);
    // Act
    const result = await changeNode(api, await read(kube, api), { removeTaints: [{ key: foreign.key, onlyIfValue: "evt-1" }, { key: ours.key, onlyIfValue: "evt-1" }] }, OPTIONS);
    // Assess
    expect(result).toMatchObject({ changed: true, requests: 1 });
    expect(taintsOf(stored(kube))).toEqual([LIFECYCLE_TAINT, foreign]);
  });

  it("removes the last taint, uncordons and deletes an annotation", async () => {
    const kube = await cluster();
    const api = connect(kube);
    await changeNode(api, await read(kube, api), { unschedulable: true, annotations: { "spot-manager/action": "drain" } }, OPTIONS);
    const result = await changeNode(api, await read(kube, api), { removeTaints: [{ key: LIFECYCLE_TAINT.key }], unschedulable: false, annotations: { "spot-manager/action": null } }, OPTIONS);
    const after = stored(kube);
    expect(result.changed).toBe(true);
    expect(after.spec?.taints).toBeUndefined();
    expect(after.spec?.unschedulable).toBeUndefined();
    expect(after.metadata?.annotations).not.toHaveProperty("spot-manager/action");
    expect(hasTaint(after, LIFECYCLE_TAINT.key)).toBe(false);
  });

  it("replaces a taint of the same key and effect that carries another value, and stamps NoExecute taints", async () => {
    const kube = await cluster();
    const api = connect(kube);
    await changeNode(api, await read(kube, api), { addTaints: [ITN_TAINT] }, OPTIONS);
    const result = await changeNode(api, await read(kube, api), { addTaints: [{ ...ITN_TAINT, value: "evt-9" }, { key: "node.kubernetes.io/out-of-service", value: "nodeshutdown", effect: "NoExecute" }] }, OPTIONS);
    expect(result.requests).toBe(1);
    expect(taintsOf(stored(kube))).toEqual([
      LIFECYCLE_TAINT,
      { ...ITN_TAINT, value: "evt-9" },
      { key: "node.kubernetes.io/out-of-service", value: "nodeshutdown", effect: "NoExecute", timeAdded: "2024-05-14T18:21:08Z" },
    ]);
    expect(hasTaint(stored(kube), ITN_TAINT.key, "evt-1")).toBe(false);
    expect(hasTaint(stored(kube), ITN_TAINT.key, "evt-9")).toBe(true);
  });

  it("after a 409 re-reads the node and patches again, keeping what the other writer changed", async () => {
    // Prepare: read, then another writer taints and labels the node
    const kube = await cluster();
    const api = connect(kube);
    const stale = await read(kube, api);
    const theirs: Taint = { key: "example.com/maintenance", value: "true", effect: "NoSchedule" };
    touch(kube, (n) => {
      n.metadata!.labels = { ...n.metadata?.labels, team: "platform" };
      n.spec = { ...n.spec, taints: [...taintsOf(n), theirs] };
    });
    // Act
    const result = await changeNode(api, stale, { addTaints: [ITN_TAINT], unschedulable: true }, OPTIONS);
    // Assess
    expect(requests(kube)).toEqual(["patch 409", "get 200", "patch 200"]);
    expect(result).toMatchObject({ changed: true, requests: 3 });
    const after = stored(kube);
    expect(taintsOf(after)).toEqual([LIFECYCLE_TAINT, theirs, ITN_TAINT]);
    expect(after.spec?.unschedulable).toBe(true);
    expect(after.metadata?.labels?.["team"]).toBe("platform");
  });

  it("after a 409 sends nothing more when the other writer already made the change", async () => {
    const kube = await cluster();
    const api = connect(kube);
    const stale = await read(kube, api);
    touch(kube, (n) => {
      n.spec = { ...n.spec, unschedulable: true, taints: [...taintsOf(n), ITN_TAINT] };
    });
    const version = stored(kube).metadata?.resourceVersion;
    const result = await changeNode(api, stale, { addTaints: [ITN_TAINT], unschedulable: true }, OPTIONS);
    expect(requests(kube)).toEqual(["patch 409", "get 200"]);
    expect(result.requests).toBe(2);
    expect(result.node.metadata?.resourceVersion).toBe(version);
    expect(stored(kube).metadata?.resourceVersion).toBe(version);
  });

  it("lets two concurrent changes from the same read both land (no lost update)", async () => {
    const kube = await cluster();
    const api = connect(kube);
    const node = await read(kube, api);
    const rebalance: Taint = { key: "spot-manager/rebalance", value: "evt-2", effect: "PreferNoSchedule" };
    // Act
    const [a, b] = await Promise.all([changeNode(api, node, { addTaints: [ITN_TAINT] }, { now: FIXED_NOW }), changeNode(api, node, { addTaints: [rebalance], unschedulable: true }, { now: FIXED_NOW })]);
    // Assess
    const after = stored(kube);
    expect(hasTaint(after, ITN_TAINT.key, "evt-1")).toBe(true);
    expect(hasTaint(after, rebalance.key, "evt-2")).toBe(true);
    expect(hasTaint(after, LIFECYCLE_TAINT.key, "spot")).toBe(true);
    expect(after.spec?.unschedulable).toBe(true);
    expect(a.requests + b.requests).toBe(4);
    expect(kube.stats.count("patch", "nodes")).toBe(3);
    expect(kube.stats.count("get", "nodes")).toBe(1);
  });

  it("gives up with RetryError when the node keeps changing between read and write", async () => {
    // Prepare: a writer that always wins the race, right after each of our reads
    const kube = await cluster();
    const api = connect(kube, (info) => {
      if (info.method === "GET") touch(kube);
    });
    const stale = await read(kube, api);
    touch(kube);
    kube.stats.reset();
    // Act
    const failure = await changeNode(api, stale, { unschedulable: true }, { ...OPTIONS, maxConflicts: 3 }).catch((e: unknown) => e);
    // Assess
    expect(failure).toBeInstanceOf(RetryError);
    expect(failure).toMatchObject({ message: expect.stringMatching(/kept changing under us \(3 conflicts\)/), retryAfterSeconds: 1 });
    expect(requests(kube)).toEqual(["patch 409", "get 200", "patch 409", "get 200", "patch 409"]);
    expect(stored(kube).spec?.unschedulable).toBeUndefined();
  });

  it("pauses after each conflict, before it reads the node again", async () => {
    // Prepare: a writer that wins the race twice
    const kube = await cluster();
    const steps: string[] = [];
    let races = 2;
    const api = connect(kube, (info) => {
      steps.push(`${info.method} ${info.status}`);
      if (info.method === "GET" && races > 0) {
        races -= 1;
        touch(kube);
      }
    });
    const stale = await read(kube, api);
    steps.length = 0;
    // Act
    const result = await changeNode(api, stale, { unschedulable: true }, { now: FIXED_NOW, conflictBackoff: async (conflicts) => void steps.push(`pause ${conflicts}`) });
    // Assess
    expect(steps).toEqual(["PATCH 409", "pause 1", "GET 200", "PATCH 409", "pause 2", "GET 200", "PATCH 200"]);
    expect(result).toMatchObject({ changed: true, requests: 5 });
    expect(stored(kube).spec?.unschedulable).toBe(true);
  });

  it("throws RetryError when the node is gone, before or after a conflict", async () => {
    const kube = await cluster();
    let removeOnConflict = false;
    const api = connect(kube, (info) => {
      if (removeOnConflict && info.status === 409) kube.store.remove("nodes", undefined, NODE);
    });
    const stale = await read(kube, api);
    touch(kube);
    removeOnConflict = true;
    const afterConflict = await changeNode(api, stale, { unschedulable: true }, OPTIONS).catch((e: unknown) => e);
    const before = await changeNode(api, stale, { unschedulable: true }, OPTIONS).catch((e: unknown) => e);
    expect(afterConflict).toBeInstanceOf(RetryError);
    expect(before).toBeInstanceOf(RetryError);
    expect((before as Error).message).toMatch(/disappeared/);
    expect(requests(kube)).toEqual(["patch 409", "get 404", "patch 404"]);
  });

  it("gets its change through a dropped connection", async () => {
    const kube = await cluster();
    const api = connect(kube);
    const node = await read(kube, api);
    kube.faults.add({ match: { verb: "patch", resource: "nodes" }, effect: { kind: "drop" }, times: 1 });
    const result = await changeNode(api, node, { addTaints: [ITN_TAINT] }, OPTIONS);
    expect(result.changed).toBe(true);
    expect(hasTaint(stored(kube), ITN_TAINT.key, "evt-1")).toBe(true);
    expect(requests(kube)).toEqual(["patch 200"]);
  });

  it("for any change: asked-for taints are present, removed ones gone, others kept, and a repeat sends nothing", async () => {
    const kube = await cluster();
    const api = connect(kube);
    const keys = ["example.com/a", "example.com/b", "example.com/c", LIFECYCLE_TAINT.key];
    const effect = fc.constantFrom<Taint["effect"]>("NoSchedule", "PreferNoSchedule", "NoExecute");
    const taint = fc.record({ key: fc.constantFrom(...keys), value: fc.constantFrom(undefined, "x", "y"), effect }).map((t): Taint => (t.value === undefined ? { key: t.key, effect: t.effect } : { key: t.key, value: t.value, effect: t.effect }));
    const change = fc
      .record({
        addTaints: fc.uniqueArray(taint, { maxLength: 3, selector: (t) => `${t.key}|${t.effect}` }),
        removeTaints: fc.array(fc.record({ key: fc.constantFrom(...keys), onlyIfValue: fc.constantFrom(undefined, "", "x", "y") }), { maxLength: 2 }),
        unschedulable: fc.constantFrom(undefined, true, false),
      })
      // removing and re-adding one key in the same change is not how the pipeline uses it
      .filter((c) => c.removeTaints.every((r) => c.addTaints.every((t) => t.key !== r.key)))
      .map((c): NodeChange => ({
        addTaints: c.addTaints,
        removeTaints: c.removeTaints.map((r) => (r.onlyIfValue === undefined ? { key: r.key } : { key: r.key, onlyIfValue: r.onlyIfValue })),
        ...(c.unschedulable === undefined ? {} : { unschedulable: c.unschedulable }),
      }));
    await fc.assert(
      fc.asyncProperty(change, async (wanted) => {
        // Prepare
        const before = await read(kube, api);
        // Act
        const result = await changeNode(api, before, wanted, OPTIONS);
        const repeat = await changeNode(api, result.node, wanted, OPTIONS);
        // Assess
        const after = stored(kube);
        const taints = taintsOf(after);
        expect(result.node.metadata?.resourceVersion).toBe(after.metadata?.resourceVersion);
        for (const t of wanted.addTaints ?? []) expect(taints.some((s) => s.key === t.key && s.effect === t.effect && (s.value ?? "") === (t.value ?? ""))).toBe(true);
        for (const r of wanted.removeTaints ?? []) expect(taints.some((s) => s.key === r.key && (r.onlyIfValue === undefined || (s.value ?? "") === r.onlyIfValue))).toBe(false);
        const touched = (t: Taint) =>
          (wanted.addTaints ?? []).some((a) => a.key === t.key && a.effect === t.effect) ||
          (wanted.removeTaints ?? []).some((r) => r.key === t.key && (r.onlyIfValue === undefined || (t.value ?? "") === r.onlyIfValue));
        for (const t of taintsOf(before).filter((t) => !touched(t))) expect(taints).toContainEqual(t);
        expect(new Set(taints.map((t) => `${t.key}|${t.effect}`)).size).toBe(taints.length);
        if (wanted.unschedulable !== undefined) expect(Boolean(after.spec?.unschedulable)).toBe(wanted.unschedulable);
        expect(result.requests).toBe(result.changed ? 1 : 0);
        if (!result.changed) expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
        expect(repeat).toMatchObject({ changed: false, requests: 0 });
        expect(kube.stats.count("patch", "nodes")).toBe(result.requests);
      }),
      { numRuns: 40 },
    );
  });
});
