/**
 * Spot nodes with 30 pods each reclaimed at once: the warnings arrive as SQS batches, handled by
 * at most `concurrency` function containers at a time (the event source's maximum concurrency),
 * each container handling its batch's records side by side, against kube-local with
 * kube-apiserver's default in-flight limits. PodDisruptionBudgets on every Deployment, on-demand
 * capacity to take the pods.
 */
import { mapWithLimit } from "@spot-manager/core";
import { benchWorld, DEFAULT_FLOW_CONTROL, flowRejections, spotWarning, sqsBatch } from "./harness";
import { fleet } from "./seeds";
import { countBy, round } from "./stats";

const WINDOW_SECONDS = 120;

export interface MassReclaimSpec {
  nodes: number;
  podsPerNode: number;
  /** Function containers at once (the SQS event source's maximum concurrency). */
  concurrency: number;
  /** Records per SQS batch (more than 10 needs a batching window on the event source). */
  batchSize: number;
  receivers: number;
  targets: { allCordonedSeconds?: number; allDrainedSeconds: number; requestsPerNodeAtMost?: number };
}

export const MASS_RECLAIM_50: MassReclaimSpec = { nodes: 50, podsPerNode: 30, concurrency: 5, batchSize: 10, receivers: 16, targets: { allDrainedSeconds: WINDOW_SECONDS } };
/** The fleet the issue measures: 500 nodes x 30 pods, ten containers at once. */
export const MASS_RECLAIM_500: MassReclaimSpec = {
  nodes: 500,
  podsPerNode: 30,
  concurrency: 10,
  batchSize: 50,
  receivers: 150,
  targets: { allCordonedSeconds: 15, allDrainedSeconds: WINDOW_SECONDS, requestsPerNodeAtMost: 30 + 10 },
};

export async function benchMassReclaim(spec: MassReclaimSpec = MASS_RECLAIM_50) {
  const { sources, receivers, sourceNodes } = fleet({
    sources: { count: spec.nodes, podsEach: spec.podsPerNode, maxPods: spec.podsPerNode },
    receivers: { count: spec.receivers, maxPods: 110 },
    replicasPerDeployment: 50,
    pdb: { maxUnavailable: "20%" },
    terminationGracePeriodSeconds: 2,
  });
  const seeding = Date.now();
  const world = await benchWorld(sources, { policy: { podEvents: false } });
  try {
    await world.kube.seed(receivers);
    world.aws.addNodes(world.kube.list("nodes"), "bench");
    const seedSeconds = round((Date.now() - seeding) / 1000, 1);
    world.kube.stats.reset();
    const now = new Date();
    const warnings = sourceNodes.map((n) => spotWarning(n.instanceId, now));
    const started = Date.now();
    const batches = Array.from({ length: Math.ceil(warnings.length / spec.batchSize) }, (_, i) => warnings.slice(i * spec.batchSize, (i + 1) * spec.batchSize));
    // at most `concurrency` containers, each taking the next batch when it is done with one
    const free = Array.from({ length: spec.concurrency }, (_, i) => i);
    const answers = await mapWithLimit(batches, spec.concurrency, async (b) => {
      const container = free.shift() ?? 0;
      try {
        return await world.invoke(sqsBatch(b), container);
      } finally {
        free.push(container);
      }
    });
    const failures = answers.reduce((n, a) => n + ("batchItemFailures" in a ? a.batchItemFailures.length : 0), 0);
    const spot = world.reports.filter((r) => r.kind === "spot-interruption");
    const cordoned = spot.map((r) => r.cordonedAt ?? Number.POSITIVE_INFINITY);
    const drained = spot.map((r) => r.drain?.finishedAt ?? Number.POSITIVE_INFINITY);
    const onReclaimed = new Set(sourceNodes.map((n) => n.name));
    const leftBehind = world.kube.list("pods").filter((p) => onReclaimed.has((p["spec"] as { nodeName?: string }).nodeName ?? "")).length;
    // why the drains left what they left: the target counts drains "where PDBs allow"
    const leftReasons = countBy(spot.flatMap((r) => r.drain?.left ?? []), (left) => left.reason);
    const leftOnlyByBudgets = Object.keys(leftReasons).every((reason) => reason === "pdb-blocked");
    // why records went back to the queue, by the error the handler logged
    const retried = countBy(
      world.log.lines.filter((l) => l.message === "action left for retry"),
      (line) => `${String(line.extra["errorName"])}: ${String(line.extra["error"]).replace(/ip-[\w.-]+|i-[0-9a-f]{8,17}|[0-9a-f-]{36}|\d+(\.\d+)?/g, "#").slice(0, 120)}`,
    );
    // Kubernetes Events are best-effort: how many were given up, and why
    const eventsNotRecorded = countBy(
      world.log.lines.filter((l) => l.message === "kubernetes event not recorded"),
      (line) => `${String(line.extra["reason"])}: ${String(line.extra["error"]).replace(/\d+(\.\d+)?/g, "#").slice(0, 100)}`,
    );
    const allCordonedSeconds = round((Math.max(...cordoned) - started) / 1000, 2);
    const allDrainedSeconds = round((Math.max(...drained) - started) / 1000, 2);
    const requestsPerNode = round(world.kube.stats.total / spec.nodes, 1);
    const { targets } = spec;
    return {
      nodes: spec.nodes,
      podsPerNode: spec.podsPerNode,
      functionConcurrency: spec.concurrency,
      batchSize: spec.batchSize,
      pdb: "maxUnavailable 20% on every Deployment",
      seedSeconds,
      firstCordonedSeconds: round((Math.min(...cordoned) - started) / 1000, 2),
      medianCordonedSeconds: round(([...cordoned].sort((a, b) => a - b)[Math.floor(cordoned.length / 2)]! - started) / 1000, 2),
      allCordonedSeconds,
      allDrainedSeconds,
      apiRequestsPerNode: requestsPerNode,
      // where the requests went, per reclaimed node
      apiRequestsPerNodeByRoute: Object.fromEntries([...world.kube.stats.byRoute].sort(([, a], [, b]) => b - a).map(([route, n]) => [route, round(n / spec.nodes, 2)])),
      flowControl: { ...DEFAULT_FLOW_CONTROL, rejected: flowRejections(world.kube) },
      share429: round((world.kube.stats.byStatus.get(429) ?? 0) / Math.max(1, world.kube.stats.total), 3),
      pdbRefusals: spot.reduce((n, r) => n + (r.drain?.blockedByPdb ?? 0), 0),
      deadlineMisses: spot.filter((r) => !r.deadlineMet).length,
      podsLeftOnReclaimedNodes: leftBehind,
      podsLeftByReason: leftReasons,
      recordsReturnedToQueue: failures,
      recordsReturnedBecause: retried,
      eventsNotRecorded,
      targets,
      // every node handled, every drain over in time, and nothing left but what a budget kept
      met:
        spot.length === spec.nodes &&
        failures === 0 &&
        (leftBehind === 0 || leftOnlyByBudgets) &&
        allDrainedSeconds < targets.allDrainedSeconds &&
        (targets.allCordonedSeconds === undefined || allCordonedSeconds < targets.allCordonedSeconds) &&
        (targets.requestsPerNodeAtMost === undefined || requestsPerNode <= targets.requestsPerNodeAtMost),
    };
  } finally {
    await world.stop();
  }
}
