/** Room for held pods (ClusterRoom) against kube-local: a check that fails leaves no read of it behind. */
import { startKubeLocal, type KubeLocal } from "@spot-manager/kube-local";
import { afterEach, describe, expect, it } from "vitest";
import { ClusterRoom } from "../src/drain/room";
import { KubeApiError } from "../src/errors";
import { KubeApi } from "../src/kube/api";
import { KubeGateway } from "../src/kube/gateway";
import type { Pod } from "../src/kube/types";

let kube: KubeLocal | undefined;
let gateway: KubeGateway | undefined;
afterEach(async () => {
  gateway?.close();
  await kube?.stop();
  kube = undefined;
  gateway = undefined;
});

describe("ClusterRoom", () => {
  it("a check whose node list is refused answers only once the pod list read beside it is over", async () => {
    // Prepare: listing nodes is refused at once; the whole-cluster pod list takes a second
    kube = await startKubeLocal({ seed: "demo", simulation: false });
    kube.faults.add({ match: { verb: "list", resource: "nodes" }, effect: { kind: "status", code: 403, message: "nodes is forbidden" } });
    kube.faults.add({ match: { verb: "list", resource: "pods" }, effect: { kind: "latency", ms: 1_000 } });
    gateway = new KubeGateway({ server: kube.url, ...(kube.caPem ? { caPem: kube.caPem } : {}), token: async () => (kube as KubeLocal).token });
    const room = new ClusterRoom(new KubeApi(gateway), { now: Date.now, refreshMs: 2_000 });
    const pod = kube.list("pods", "shop")[0] as unknown as Pod;
    // Act
    const started = Date.now();
    const outcome = await room.admit(pod, "elsewhere", Date.now() + 5_000).catch((error: unknown) => error);
    const answeredAfterMs = Date.now() - started;
    // Assess: the refusal is told, and not before the pod list's second was over
    expect(outcome).toBeInstanceOf(KubeApiError);
    expect(answeredAfterMs).toBeGreaterThanOrEqual(950);
  });
});
