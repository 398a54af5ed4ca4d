/**
 * Event -> node cordoned: a spot warning invoked directly on the handler, measured from the
 * invocation to the moment the taint-and-cordon patch was answered, with API latency injected.
 */
import { DEMO_INTERRUPTED_INSTANCE, DEMO_INTERRUPTED_NODE, demoCluster } from "@spot-manager/kube-local";
import { benchWorld, spotWarning } from "./harness";
import { summary } from "./stats";

export async function benchCordonLatency(options: { runs: number; latencyMs: number }) {
  const world = await benchWorld(demoCluster(), { policy: { spotInterruption: { drain: false }, podEvents: false } });
  const samples: number[] = [];
  const requests: number[] = [];
  try {
    world.aws.addNodes(world.kube.list("nodes"), "bench");
    world.kube.latencyMs = options.latencyMs;
    for (let run = 0; run < options.runs; run += 1) {
      // back to a schedulable, untainted node, straight in the store: not part of the measurement
      const node = world.kube.store.get("nodes", undefined, DEMO_INTERRUPTED_NODE)!;
      const spec = node["spec"] as { unschedulable?: boolean; taints?: { key: string }[] };
      delete spec.unschedulable;
      spec.taints = (spec.taints ?? []).filter((t) => t.key !== "spot-manager/spot-itn");
      world.kube.store.put("nodes", node);
      const started = Date.now();
      await world.invoke(spotWarning(DEMO_INTERRUPTED_INSTANCE));
      const report = world.reports[world.reports.length - 1];
      if (!report?.cordonedAt) throw new Error(`run ${run}: the node was not cordoned (${report?.outcome} ${report?.reason ?? ""})`);
      samples.push(report.cordonedAt - started);
      requests.push(report.requestsToCordon ?? Number.NaN);
    }
  } finally {
    await world.stop();
  }
  const stats = summary(samples);
  return {
    apiLatencyMs: options.latencyMs,
    ec2: "DescribeInstances answered in memory (0 ms)",
    eventToCordonMs: stats,
    apiRequestsToCordonAfterResolution: { max: Math.max(...requests), typical: summary(requests).p50 },
    targets: { p99UnderMs: 250, requestsAtMost: 3 },
    met: stats.p99 < 250 && Math.max(...requests) <= 3,
  };
}
