/**
 * 50 spot nodes with 30 pods each reclaimed at once: the warnings arrive as five SQS batches of
 * ten, handled concurrently (as five Lambda containers would), with PodDisruptionBudgets on
 * every Deployment and on-demand capacity to take the pods.
 */
import { benchWorld, DEFAULT_FLOW_CONTROL, flowRejections, spotWarning, sqsBatch } from "./harness";
import { fleet } from "./seeds";
import { round } from "./stats";

const NODES = 50;
const PODS_PER_NODE = 30;
const WINDOW_SECONDS = 120;

export async function benchMassReclaim() {
  const { sources, receivers, sourceNodes } = fleet({
    sources: { count: NODES, podsEach: PODS_PER_NODE, maxPods: PODS_PER_NODE },
    receivers: { count: 16, maxPods: 110 },
    replicasPerDeployment: 50,
    pdb: { maxUnavailable: "20%" },
    terminationGracePeriodSeconds: 2,
  });
  const world = await benchWorld(sources, { policy: { podEvents: false } });
  try {
    await world.kube.seed(receivers);
    world.aws.addNodes(world.kube.list("nodes"), "bench");
    world.kube.stats.reset();
    const now = new Date();
    const warnings = sourceNodes.map((n) => spotWarning(n.instanceId, now));
    const started = Date.now();
    const batches = Array.from({ length: Math.ceil(warnings.length / 10) }, (_, i) => warnings.slice(i * 10, i * 10 + 10));
    const answers = await Promise.all(batches.map((b) => world.invoke(sqsBatch(b))));
    const failures = answers.reduce((n, a) => n + ("batchItemFailures" in a ? a.batchItemFailures.length : 0), 0);
    const spot = world.reports.filter((r) => r.kind === "spot-interruption");
    const cordoned = spot.map((r) => r.cordonedAt ?? Number.POSITIVE_INFINITY);
    const drained = spot.map((r) => r.drain?.finishedAt ?? Number.POSITIVE_INFINITY);
    const leftBehind = world.kube.list("pods").filter((p) => sourceNodes.some((n) => n.name === (p["spec"] as { nodeName?: string }).nodeName)).length;
    const allDrainedSeconds = round((Math.max(...drained) - started) / 1000, 2);
    return {
      nodes: NODES,
      podsPerNode: PODS_PER_NODE,
      pdb: "maxUnavailable 20% on every Deployment",
      allCordonedSeconds: round((Math.max(...cordoned) - started) / 1000, 2),
      allDrainedSeconds,
      apiRequestsPerNode: round(world.kube.stats.total / NODES, 1),
      flowControl: { ...DEFAULT_FLOW_CONTROL, rejected: flowRejections(world.kube) },
      share429: round((world.kube.stats.byStatus.get(429) ?? 0) / Math.max(1, world.kube.stats.total), 3),
      pdbRefusals: spot.reduce((n, r) => n + (r.drain?.blockedByPdb ?? 0), 0),
      deadlineMisses: spot.filter((r) => !r.deadlineMet).length,
      podsLeftOnReclaimedNodes: leftBehind,
      recordsReturnedToQueue: failures,
      targets: { fullyDrainedWithinSeconds: WINDOW_SECONDS },
      met: spot.length === NODES && leftBehind === 0 && allDrainedSeconds < WINDOW_SECONDS,
    };
  } finally {
    await world.stop();
  }
}
