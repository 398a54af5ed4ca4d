/** Kubernetes Events from spot-manager: written to kube-local in the background, never failing or holding up the action that reports them. */
import { startKubeLocal, type KubeLocal } from "@spot-manager/kube-local";
import { afterEach, describe, expect, it } from "vitest";
import { KubeApi } from "../src/kube/api";
import { KubeGateway } from "../src/kube/gateway";
import { EventRecorder } from "../src/kube/recorder";
import type { Node } from "../src/kube/types";
import { Recorder } from "../src/observability";

const servers: KubeLocal[] = [];
const gateways: KubeGateway[] = [];
afterEach(async () => {
  for (const gateway of gateways.splice(0)) gateway.close();
  await Promise.all(servers.splice(0).map((kube) => kube.stop()));
});

async function recorderOn(writeMs?: number) {
  const kube = await startKubeLocal({ seed: "demo", simulation: false });
  servers.push(kube);
  const gateway = new KubeGateway({ server: kube.url, caPem: kube.caPem, token: async () => kube.token }, { baseDelayMs: 5, maxDelayMs: 40 });
  gateways.push(gateway);
  const log = new Recorder();
  const recorder = new EventRecorder(new KubeApi(gateway), { instance: "spot-manager-interruption", now: () => new Date(), log, ...(writeMs ? { writeMs } : {}) });
  const node = kube.list("nodes")[0] as unknown as Node;
  return { kube, log, recorder, node };
}

describe("EventRecorder", () => {
  it("writes a node Event as kube-apiserver stores it, naming spot-manager as its source", async () => {
    const { kube, recorder, node } = await recorderOn();
    await recorder.onNode(node, "SpotInterruption", "Spot interruption warning", "Warning");
    await recorder.settled();
    const [event] = kube.list("events", "default").filter((e) => e["reason"] === "SpotInterruption");
    expect(event).toMatchObject({ type: "Warning", involvedObject: { kind: "Node", name: node.metadata?.name }, source: { component: "spot-manager" }, reportingInstance: "spot-manager-interruption" });
    expect(recorder.written).toBe(1);
  });

  it("never holds up the caller: a slow API server delays settled(), which gives up at the write's time and logs it", async () => {
    const { kube, log, recorder, node } = await recorderOn(600);
    kube.faults.add({ match: { verb: "create", resource: "events" }, effect: { kind: "latency", ms: 30_000 } });
    const started = Date.now();
    await recorder.onNode(node, "DrainStarted", "Draining");
    const startedIn = Date.now() - started;
    await recorder.settled();
    expect(startedIn).toBeLessThan(50);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(recorder.written).toBe(0);
    expect(log.lines.find((l) => l.message === "kubernetes event not recorded")).toMatchObject({ level: "WARN", extra: { reason: "DrainStarted" } });
  });

  it("writes nothing it has no time for: an Event whose bound is under a second away is logged and not sent", async () => {
    const { kube, log, recorder, node } = await recorderOn();
    kube.stats.reset();
    await recorder.onNode(node, "DrainSucceeded", "Drained", "Normal", { until: Date.now() + 500 });
    await recorder.settled();
    expect(kube.stats.count("create", "events")).toBe(0);
    expect(log.lines.find((l) => l.message === "kubernetes event not recorded")).toMatchObject({ extra: { reason: "DrainSucceeded", error: "no time left in this invocation" } });
  });
});
