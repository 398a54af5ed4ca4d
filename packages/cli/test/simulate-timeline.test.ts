/**
 * The timeline behind the simulation's picture: what kube-local saw (node changes, eviction and
 * delete answers, pod states) lands on the right lane at the right simulated second, completed
 * from the handler's action reports; pending pod-seconds leave out the spans the clock skipped.
 */
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Pod } from "@kubernetes/client-node";
import type { ActionReport } from "@spot-manager/core";
import { DEMO_INTERRUPTED_INSTANCE, DEMO_INTERRUPTED_NODE, startKubeLocal, type KubeLocal } from "@spot-manager/kube-local";
import { afterEach, describe, expect, it } from "vitest";
import { pendingPodSeconds, TimelineRecorder, type LaneMark, type Timeline } from "../src/simulate/timeline";

const ORIGIN = Date.parse("2024-05-14T18:21:08Z");
const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
let kube: KubeLocal | undefined;
afterEach(async () => {
  await kube?.stop();
  kube = undefined;
});

async function cluster() {
  // no simulated kubelet or controllers: pods stay as the test puts them
  kube = await startKubeLocal({ seed: "demo", simulation: false });
  const kc = new KubeConfig();
  kc.loadFromString(JSON.stringify(kube.kubeconfig()));
  let now = ORIGIN;
  const clock = { now: () => now, at: (seconds: number) => void (now = ORIGIN + seconds * 1000) };
  return { kube, core: kc.makeApiClient(CoreV1Api), clock };
}

const failing = (call: Promise<unknown>) => call.then(() => "answered", (e: { code?: number }) => e.code);
const marks = (timeline: Timeline, node: string) => timeline.lanes.find((l) => l.node === node)?.marks.map((m: LaneMark) => [m.at, m.kind, m.pod ?? m.taint ?? ""]);

describe("the simulation's timeline", () => {
  it("puts each change on its node's lane at the simulated second it happened, and counts pods by state", async () => {
    // Prepare
    const { kube, core, clock } = await cluster();
    const recorder = new TimelineRecorder(kube, clock.now, ORIGIN);
    const pods = (await core.listPodForAllNamespaces()).items;
    const on = (node: string, app: string) => pods.filter((p) => p.spec?.nodeName === node && p.metadata?.labels?.["app"] === app).map((p) => p.metadata!.name!);
    const checkout = pods.filter((p) => p.metadata?.labels?.["app"] === "checkout");
    const [first, second] = checkout as [V1Pod, V1Pod];
    const evict = (p: V1Pod) => core.createNamespacedPodEviction({ name: p.metadata!.name!, namespace: "shop", body: { metadata: { name: p.metadata!.name!, namespace: "shop" } } });
    const node = kube.get("nodes", undefined, DEMO_INTERRUPTED_NODE)!;
    const taints = (node["spec"] as { taints?: object[] }).taints ?? [];
    recorder.start();
    // Act
    clock.at(2);
    await core.patchNode({ name: DEMO_INTERRUPTED_NODE, body: { spec: { unschedulable: true, taints: [...taints, { key: "spot-manager/spot-itn", value: "e1", effect: "NoSchedule" }] } } }, mergePatch);
    clock.at(3);
    kube.faults.add({ match: { resource: "pods/eviction" }, effect: { kind: "status", code: 429, retryAfterSeconds: 1 }, times: 1 });
    const throttled = await failing(evict(first));
    clock.at(4);
    await evict(first);
    clock.at(5);
    const refused = await failing(evict(second));
    clock.at(6);
    const bare = on(DEMO_INTERRUPTED_NODE, "debug-shell")[0] ?? "debug-shell";
    await core.deleteNamespacedPod({ name: bare, namespace: "shop", gracePeriodSeconds: 0 });
    clock.at(8);
    await core.createNamespacedPod({ namespace: "shop", body: { metadata: { name: "waiting" }, spec: { containers: [{ name: "c", image: "busybox" }] } } });
    recorder.skip(ORIGIN + 10_000, ORIGIN + 100_000);
    clock.at(104);
    await core.deleteNamespacedPod({ name: "waiting", namespace: "shop", gracePeriodSeconds: 0 });
    clock.at(106);
    await core.patchNode({ name: DEMO_INTERRUPTED_NODE, body: { spec: { unschedulable: false, taints } } }, mergePatch);
    clock.at(110);
    await core.createNode({
      body: {
        metadata: { name: "ip-10-0-9-99.us-west-2.compute.internal", labels: { "eks.amazonaws.com/capacityType": "SPOT", "eks.amazonaws.com/nodegroup": "spot-general" } },
        spec: { providerID: "aws:///us-west-2a/i-0999999999999999a" },
      },
    });
    clock.at(115);
    await core.deleteNode({ name: "ip-10-0-3-23.us-west-2.compute.internal" });
    clock.at(120);
    const report: ActionReport = {
      eventId: "e1",
      kind: "spot-interruption",
      instanceId: DEMO_INTERRUPTED_INSTANCE,
      outcome: "done",
      steps: ["taint", "cordon"],
      startedAt: ORIGIN + 1_000,
      finishedAt: ORIGIN + 7_000,
      deadline: ORIGIN + 120_000,
      deadlineMet: false,
      secondsLeft: 113,
      kubeRequests: 9,
      dryRun: false,
      invocations: 1,
    };
    const timeline = recorder.finish("as played", [report, { ...report, eventId: "e2", instanceId: "i-0fffffffffffffff0", outcome: "skipped", reason: "foreign-instance: not ours", deadline: undefined }]);
    // Assess: the answers the drain would see, and each on the lane of the pod's node
    expect([throttled, refused]).toEqual([429, 429]);
    const lane = (name: string) => marks(timeline, name) ?? [];
    expect(lane(DEMO_INTERRUPTED_NODE).filter(([, kind]) => kind !== "eviction-retry" && kind !== "eviction" && kind !== "pdb-refusal")).toEqual([
      [1, "signal", ""],
      [2, "taint", "spot-manager/spot-itn:NoSchedule"],
      [2, "cordon", ""],
      [6, "force-delete", `shop/${bare}`],
      [106, "untaint", "spot-manager/spot-itn:NoSchedule"],
      [106, "uncordon", ""],
    ]);
    const podMarks = (pod: V1Pod) => lane(pod.spec!.nodeName!).filter(([, , p]) => p === `shop/${pod.metadata!.name}`);
    expect(podMarks(first)).toEqual([
      [3, "eviction-retry", `shop/${first.metadata!.name}`],
      [4, "eviction", `shop/${first.metadata!.name}`],
    ]);
    expect(podMarks(second)).toEqual([[5, "pdb-refusal", `shop/${second.metadata!.name}`]]);
    expect(lane("ip-10-0-9-99.us-west-2.compute.internal")).toEqual([[110, "joined", ""]]);
    expect(timeline.lanes.find((l) => l.node === "ip-10-0-9-99.us-west-2.compute.internal")).toMatchObject({ joinedAt: 110, capacityType: "SPOT", nodeGroup: "spot-general", instanceId: "i-0999999999999999a" });
    expect(timeline.lanes.find((l) => l.node === "ip-10-0-3-23.us-west-2.compute.internal")).toMatchObject({ goneAt: 115 });
    expect(timeline.lanes.find((l) => l.node === DEMO_INTERRUPTED_NODE)?.deadlines).toEqual([{ at: 120, eventId: "e1", kind: "spot-interruption", met: false, podsLeft: 0, secondsLeft: 113 }]);
    expect(timeline.unplaced).toEqual([{ at: 1, kind: "spot-interruption", instanceId: "i-0fffffffffffffff0", outcome: "skipped", reason: "foreign-instance: not ours" }]);
    // workload pods only (the DaemonSet's and the static pod aside): 15 running; the evicted one terminating
    // (nothing finishes it without a kubelet), the bare pod gone, "waiting" Pending from 8 s to 104 s
    expect(timeline.pods).toEqual([
      { at: 0, pending: 0, running: 15, terminating: 0 },
      { at: 4, pending: 0, running: 14, terminating: 1 },
      { at: 6, pending: 0, running: 13, terminating: 1 },
      { at: 8, pending: 1, running: 13, terminating: 1 },
      { at: 104, pending: 0, running: 13, terminating: 1 },
    ]);
    expect(timeline.skipped).toEqual([{ from: 10, to: 100 }]);
    // 96 s Pending, 90 of them skipped by the clock
    expect(pendingPodSeconds(timeline)).toBe(6);
    expect(timeline.end).toBe(120);
  });

  it("from the drain's report: its end on the lane, and an answer the drain took as final shown as a refusal, not a retry", async () => {
    // Prepare: an admission webhook refuses one pod's eviction (a 403 the drain records as final)
    const { kube, core, clock } = await cluster();
    const recorder = new TimelineRecorder(kube, clock.now, ORIGIN);
    const pod = (await core.listNamespacedPod({ namespace: "shop", fieldSelector: `spec.nodeName=${DEMO_INTERRUPTED_NODE}`, labelSelector: "app=storefront" })).items[0]!;
    const ref = { namespace: "shop", name: pod.metadata!.name!, uid: pod.metadata!.uid! };
    kube.faults.add({ match: { resource: "pods/eviction" }, effect: { kind: "status", code: 500, message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support." }, times: 1 });
    recorder.start();
    // Act
    clock.at(3);
    await failing(core.createNamespacedPodEviction({ name: ref.name, namespace: "shop", body: { metadata: { name: ref.name, namespace: "shop" } } }));
    clock.at(9);
    const drain = {
      node: DEMO_INTERRUPTED_NODE,
      dryRun: false,
      startedAt: ORIGIN + 2_000,
      finishedAt: ORIGIN + 8_000,
      deadline: ORIGIN + 110_000,
      evicted: [],
      forceDeleted: [],
      skipped: [],
      refused: [],
      failed: [{ pod: ref, message: "This pod has more than one PodDisruptionBudget" }],
      blockedByPdb: 0,
      pdbBlockedPods: [],
      remaining: [ref],
      left: [{ pod: ref, reason: "eviction-refused" as const, why: "eviction refused: This pod has more than one PodDisruptionBudget" }],
      complete: false,
      deadlineMet: false,
      retryable: [],
      apiRequests: 3,
    };
    const timeline = recorder.finish("as played", [
      { eventId: "e1", kind: "spot-interruption", instanceId: DEMO_INTERRUPTED_INSTANCE, node: DEMO_INTERRUPTED_NODE, outcome: "done", steps: [], startedAt: ORIGIN + 1_000, finishedAt: ORIGIN + 8_500, deadline: ORIGIN + 120_000, deadlineMet: false, drain, kubeRequests: 5, dryRun: false, invocations: 1 },
    ]);
    // Assess
    const lane = timeline.lanes.find((l) => l.node === DEMO_INTERRUPTED_NODE)!;
    expect(lane.marks.map((m) => [m.at, m.kind])).toEqual([
      [1, "signal"],
      [3, "eviction-refused"],
      [8, "drain-finished"],
    ]);
    expect(lane.marks[1]?.text).toBe(`eviction of shop/${ref.name} refused: This pod has more than one PodDisruptionBudget`);
    expect(lane.marks[2]).toMatchObject({ complete: false, text: expect.stringContaining(`1 pod(s) left: shop/${ref.name} (eviction refused`) });
    expect(lane.deadlines).toEqual([{ at: 120, eventId: "e1", kind: "spot-interruption", met: false, podsLeft: 1, drainFinishedAt: 8 }]);
  });
});
