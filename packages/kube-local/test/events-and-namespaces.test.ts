import type { CoreV1Event, EventsV1Event, V1Namespace } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { DEMO_INTERRUPTED_NODE } from "../src/index";
import { eventually, failure, startHarness } from "./harness";

const coreEvent = (name: string): CoreV1Event => ({
  metadata: { name, namespace: "default" },
  involvedObject: { kind: "Node", name: DEMO_INTERRUPTED_NODE, apiVersion: "v1" },
  reason: "SpotInterruption",
  message: "spot interruption warning for i-1234567890abcdef0",
  type: "Warning",
  source: { component: "spot-manager" },
  count: 1,
  reportingComponent: "spot-manager",
  reportingInstance: "spot-manager-interruption",
});

describe("events: one stored resource, two API shapes", () => {
  it("a core/v1 Event reads back through events.k8s.io/v1 with regarding, note and reportingController", async () => {
    const { core, events } = await startHarness({ seed: "demo" });
    await core.createNamespacedEvent({ namespace: "default", body: coreEvent("node-itn.1") });
    const asEventsV1 = await events.readNamespacedEvent({ name: "node-itn.1", namespace: "default" });
    const listed = await core.listNamespacedEvent({ namespace: "default", fieldSelector: `involvedObject.name=${DEMO_INTERRUPTED_NODE},reason=SpotInterruption` });
    expect(asEventsV1).toMatchObject({
      apiVersion: "events.k8s.io/v1",
      regarding: { kind: "Node", name: DEMO_INTERRUPTED_NODE },
      note: "spot interruption warning for i-1234567890abcdef0",
      reportingController: "spot-manager",
      deprecatedSource: { component: "spot-manager" },
      deprecatedCount: 1,
    });
    expect(listed.items.map((e) => e.metadata?.name)).toEqual(["node-itn.1"]);
  });

  it("an events.k8s.io/v1 Event needs its required fields and reads back as core/v1", async () => {
    const { core, events } = await startHarness({ seed: "demo" });
    const body: EventsV1Event = {
      metadata: { name: "drain.1", namespace: "default" },
      eventTime: new Date("2024-05-14T18:21:08.000000Z"),
      reportingController: "spot-manager",
      reportingInstance: "spot-manager-interruption",
      action: "Drain",
      reason: "DrainStarted",
      type: "Normal",
      regarding: { kind: "Node", name: DEMO_INTERRUPTED_NODE },
      note: "draining",
    };
    await events.createNamespacedEvent({ namespace: "default", body });
    const asCore = await core.readNamespacedEvent({ name: "drain.1", namespace: "default" });
    const invalid = await failure(events.createNamespacedEvent({ namespace: "default", body: { metadata: { name: "x" }, eventTime: new Date(), reason: "R", type: "Other" } as EventsV1Event }));
    expect(asCore).toMatchObject({ involvedObject: { kind: "Node", name: DEMO_INTERRUPTED_NODE }, message: "draining", reportingComponent: "spot-manager", action: "Drain" });
    expect(invalid.code).toBe(422);
    expect(invalid.body.details?.causes?.map((c) => c.field)).toEqual(["reportingController", "reportingInstance", "action", "type", "regarding"]);
  });

  it("rejects a core Event whose involved object is in another namespace", async () => {
    const { core } = await startHarness({ seed: "demo" });
    const mismatch = await failure(core.createNamespacedEvent({ namespace: "default", body: { ...coreEvent("x.1"), involvedObject: { kind: "Pod", name: "p", namespace: "shop" } } }));
    expect(mismatch.code).toBe(422);
    expect(mismatch.body.details?.causes?.[0]?.field).toBe("involvedObject.namespace");
  });
});

describe("namespaces", () => {
  it("a deleted namespace is Terminating, refuses new content, and goes once emptied", async () => {
    const { core } = await startHarness({ seed: "demo", simulation: { timeScale: 0.01 } });
    const terminating = await core.deleteNamespace({ name: "shop" });
    const refused = await failure(core.createNamespacedPod({ namespace: "shop", body: { metadata: { name: "late" }, spec: { containers: [{ name: "c", image: "i" }] } } }));
    // kube-apiserver answers a namespace DELETE with the Namespace, though the client types it as Status
    expect((terminating as unknown as V1Namespace).status?.phase).toBe("Terminating");
    expect(refused.code).toBe(403);
    expect(refused.body.message).toBe("unable to create new content in namespace shop because it is being terminated");
    await eventually(() => failure(core.readNamespace({ name: "shop" })).then((f) => f.code).catch(() => 200), (code) => code === 404);
  });
});
