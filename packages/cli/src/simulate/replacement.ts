/**
 * The replacement comparison: one spot reclaim played twice on the same cluster, models and seed —
 * once as a cluster-autoscaler-only setup handles it today (spot-manager drains; the group and CA
 * bring capacity back), once with replacement capacity requested at the warning — and measured
 * the same way: seconds pods spent Pending, the 95th percentile of that wait, the time until
 * every pod runs again, and the nodes beyond the count before.
 *
 * The cluster: two on-demand nodes (managed node group base-on-demand) and three spot nodes
 * (managed node group spot-general, capacity rebalancing on as EKS sets it), the spot ones full:
 * when one goes, its pods fit nowhere else until new capacity joins. Around kube-local run the
 * models of FakeFleet (groups keeping desired, launches booting into Ready nodes, EC2 reclaiming
 * the instance at the warning's deadline) and ClusterAutoscaler (scans, scale-up, scale-down).
 */
import { DescribeAutoScalingGroupsCommand, DescribeAutoScalingInstancesCommand, DescribeScalingActivitiesCommand } from "@aws-sdk/client-auto-scaling";
import { DescribeInstancesCommand } from "@aws-sdk/client-ec2";
import { DescribeNodegroupCommand } from "@aws-sdk/client-eks";
import { parseCapacityPolicy, parsePolicy, Recorder, type ActionReport, type CapacityPolicyInput, type PolicyInput } from "@spot-manager/core";
import {
  daemonSetFixture,
  DEMO_INTERRUPTED_INSTANCE,
  DEMO_INTERRUPTED_NODE,
  deploymentFixture,
  emptySeed,
  LIFECYCLE_LABEL,
  nodeFixture,
  SPOT_TAINT_KEY,
  startKubeLocal,
  type ClusterSeed,
  type NodeFixture,
  type WorkloadFixture,
} from "@spot-manager/kube-local";
import { createInterruptionHandler } from "../../../../functions/interruption";
import { createInterruptionRuntime } from "../../../../functions/lib/interruption-runtime";
import { AwsWorld } from "./aws-world";
import { ScaledClock } from "./clock";
import { ClusterAutoscaler, type AutoscalerEvent } from "./cluster-autoscaler";
import { FakeFleet, type FleetEvent, type GroupTemplate } from "./fleet";
import { PendingTimeline, type PendingFigures, type TimelinePoint } from "./replacement-timeline";
import { TimelineRecorder, type Timeline } from "./timeline";
import { nodeState, progressLog, SIM_CLUSTER, sqsBatch, type ScenarioRun } from "./run";
import { sample, type Scenario } from "./scenarios";
import { SimScheduler } from "./scheduler";

/** Every timing the models use; all configurable, defaults from the systems they stand for. */
export interface ReplacementModels {
  /** A launched instance's node is Ready this long after the launch. */
  bootSeconds: number;
  /** cluster-autoscaler's --scan-interval. */
  autoscalerScanSeconds: number;
  /** --scale-down-unneeded-time. */
  scaleDownUnneededSeconds: number;
  /** --scale-down-delay-after-add. */
  scaleDownDelayAfterAddSeconds: number;
  /** --max-node-provision-time. */
  maxNodeProvisionSeconds: number;
  /** How long an Auto Scaling group takes to notice a terminated member (and replace it). */
  groupReplacesAfterSeconds: number;
  /** From the instance's end until its Node object is gone. */
  nodeGoneAfterSeconds: number;
  /** kubelet: from binding until the pod runs. */
  podStartupSeconds: number;
  /** The run ends here at the latest (simulated seconds after the warning). */
  horizonSeconds: number;
}

export const DEFAULT_MODELS: ReplacementModels = {
  bootSeconds: 90,
  autoscalerScanSeconds: 10,
  scaleDownUnneededSeconds: 600,
  scaleDownDelayAfterAddSeconds: 600,
  maxNodeProvisionSeconds: 900,
  groupReplacesAfterSeconds: 10,
  nodeGoneAfterSeconds: 5,
  podStartupSeconds: 3,
  horizonSeconds: 1800,
};

/** The pending-pod-seconds ratio replacement at the warning must stay within. */
export const TARGET_PENDING_RATIO = 0.5;

export const REPLACEMENT_SCENARIO = "replacement";
export const REPLACEMENT_ORIGIN = "2024-05-14T18:21:08Z";
const WARNING_FILE = "spot-interruption-warning.json";

const SPOT_ASG = "eks-spot-general-6ec7a2f0-1c1e-4a48-9a52-3c2b9f1d0e11";
const ON_DEMAND_ASG = "eks-base-on-demand-5ec7a2f0-1c1e-4a48-9a52-3c2b9f1d0e11";
const spotTaint = { key: SPOT_TAINT_KEY, value: "spot", effect: "PreferNoSchedule" as const };

const SPOT_TEMPLATE: GroupTemplate = { instanceType: "m5.xlarge", zones: ["us-west-2a", "us-west-2b", "us-west-2c"], capacityType: "SPOT", taints: [spotTaint] };
const ON_DEMAND_TEMPLATE: GroupTemplate = { instanceType: "m6i.xlarge", zones: ["us-west-2a", "us-west-2b"], capacityType: "ON_DEMAND" };

const SPOT_NODES: NodeFixture[] = [
  { name: DEMO_INTERRUPTED_NODE, instanceId: DEMO_INTERRUPTED_INSTANCE, zone: "us-west-2a", instanceType: "m5.xlarge", capacityType: "SPOT", nodegroup: "spot-general", internalIp: "10.0.1.21", taints: [spotTaint] },
  { name: "ip-10-0-2-22.us-west-2.compute.internal", instanceId: "i-0b2c3d4e5f6a70022", zone: "us-west-2b", instanceType: "m5.xlarge", capacityType: "SPOT", nodegroup: "spot-general", internalIp: "10.0.2.22", taints: [spotTaint] },
  { name: "ip-10-0-3-23.us-west-2.compute.internal", instanceId: "i-0c3d4e5f6a7b80023", zone: "us-west-2c", instanceType: "m5.xlarge", capacityType: "SPOT", nodegroup: "spot-general", internalIp: "10.0.3.23", taints: [spotTaint] },
];
const ON_DEMAND_NODES: NodeFixture[] = [
  { name: "ip-10-0-1-11.us-west-2.compute.internal", instanceId: "i-0a1b2c3d4e5f60011", zone: "us-west-2a", instanceType: "m6i.xlarge", capacityType: "ON_DEMAND", nodegroup: "base-on-demand", internalIp: "10.0.1.11" },
  { name: "ip-10-0-2-12.us-west-2.compute.internal", instanceId: "i-0a1b2c3d4e5f60012", zone: "us-west-2b", instanceType: "m6i.xlarge", capacityType: "ON_DEMAND", nodegroup: "base-on-demand", internalIp: "10.0.2.12" },
];

/** Full spot nodes: per node three web pods (1 CPU, PDB maxUnavailable 1) and a worker (700m) of 3920m allocatable. */
export function replacementSeed(): ClusterSeed {
  const seed = emptySeed();
  seed.namespaces.push("default", "kube-system", "shop");
  seed.nodes.push(...[...ON_DEMAND_NODES, ...SPOT_NODES].map(nodeFixture));
  const onSpot = { nodeSelector: { [LIFECYCLE_LABEL]: "spot" }, tolerations: [{ key: SPOT_TAINT_KEY, operator: "Exists" as const }] };
  const workloads: WorkloadFixture[] = [
    { namespace: "kube-system", name: "coredns", replicas: 2, nodeSelector: { [LIFECYCLE_LABEL]: "on-demand" }, requests: { cpu: "100m", memory: "70Mi" }, pdb: { maxUnavailable: 1 } },
    { namespace: "shop", name: "web", replicas: 9, ...onSpot, requests: { cpu: "1", memory: "1Gi" }, pdb: { maxUnavailable: 1 }, terminationGracePeriodSeconds: 10 },
    { namespace: "shop", name: "worker", replicas: 3, ...onSpot, requests: { cpu: "700m", memory: "512Mi" }, terminationGracePeriodSeconds: 10 },
  ];
  for (const workload of workloads) {
    const { deployment, pdb } = deploymentFixture(workload);
    seed.deployments.push(deployment);
    if (pdb) seed.pdbs.push(pdb);
  }
  seed.daemonSets.push(daemonSetFixture({ namespace: "kube-system", name: "aws-node", image: "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.19.2", tolerations: [{ operator: "Exists" }] }));
  return seed;
}

/** The capacity policy of the two node groups: spot first, the on-demand group as its fallback. */
export const REPLACEMENT_CAPACITY_POLICY: CapacityPolicyInput = {
  groups: {
    "base-on-demand": { type: "managed-node-group", capacityType: "on-demand", default: { min: 2, max: 4 } },
    "spot-general": { type: "managed-node-group", capacityType: "spot", default: { min: 0, max: 6 } },
  },
  fallbacks: [{ onDemandGroup: "base-on-demand", spotGroups: ["spot-general"], maxExtra: 2 }],
};

/** Deterministic numbers from a seed (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ReplacementRunReport extends PendingFigures {
  /** What the handler reported about replacement capacity (absent when it asked for none). */
  replacement?: ActionReport["replacement"];
  /** Pods kept on the doomed node until room appeared. */
  podsHeld: number;
  deadlineMet: boolean | null;
  /** Simulated seconds the run covered. */
  endedAtSeconds: number;
  autoscaler: (Omit<AutoscalerEvent, "at"> & { atSeconds: number })[];
  fleet: (Omit<FleetEvent, "at"> & { atSeconds: number })[];
  /** Pods Pending and Running, and Ready nodes, over time (a point per change). */
  timeline: TimelinePoint[];
}

export interface ReplacementComparison {
  seed: number;
  reclaim: { node: string; instanceId: string; warningAt: string; reclaimedAtSeconds: number };
  models: ReplacementModels;
  caOnly: ReplacementRunReport;
  replacementAtWarning: ReplacementRunReport;
  target: { maxPendingPodSecondsRatio: number; ratio: number | null; met: boolean };
}

export interface ComparisonOptions {
  timeScale: number;
  seed?: number;
  models?: Partial<ReplacementModels>;
  /** Applied to both runs (a dry run, say); replacement itself is switched per run. */
  policy?: PolicyInput;
  progress: (line: string) => void;
}

interface OneRun {
  run: ScenarioRun;
  figures: ReplacementRunReport;
}

const rel = (origin: number) => (ms: number) => Number(((ms - origin) / 1000).toFixed(1));

/** One play of the reclaim: `replacement` switches replacement capacity at the warning on or off. */
async function playOnce(scenario: Scenario, options: ComparisonOptions, models: ReplacementModels, replacement: boolean): Promise<OneRun> {
  const started = Date.now();
  const seed = options.seed ?? 1;
  const origin = Date.parse(REPLACEMENT_ORIGIN);
  const clock = new ScaledClock(origin, options.timeScale);
  const scheduler = new SimScheduler(clock);
  const kube = await startKubeLocal({ seed: replacementSeed(), simulation: { timeScale: options.timeScale, podStartupSeconds: models.podStartupSeconds } });
  const aws = new AwsWorld({ models: "when-available" });
  aws.addNodes(kube.list("nodes"), SIM_CLUSTER);
  const random = seededRandom(seed);
  const label = replacement ? "replacement at the warning" : "cluster-autoscaler only";
  const print = (line: string) => options.progress(`[${label}] ${line}`);
  const sink = new Recorder();
  const reports: ActionReport[] = [];
  const fleet = new FakeFleet(aws, kube, {
    clusterName: SIM_CLUSTER,
    scheduler,
    bootSeconds: models.bootSeconds,
    replaceAfterSeconds: models.groupReplacesAfterSeconds,
    nodeGoneAfterSeconds: models.nodeGoneAfterSeconds,
  });
  fleet.addGroup({ name: SPOT_ASG, nodegroup: "spot-general", min: 0, max: 6, capacityRebalance: true, template: SPOT_TEMPLATE }, SPOT_NODES.map((n) => n.name));
  fleet.addGroup({ name: ON_DEMAND_ASG, nodegroup: "base-on-demand", min: 2, max: 4, template: ON_DEMAND_TEMPLATE }, ON_DEMAND_NODES.map((n) => n.name));
  const autoscaler = new ClusterAutoscaler(aws, kube, fleet, scheduler, {
    groups: [SPOT_ASG, ON_DEMAND_ASG],
    scanIntervalSeconds: models.autoscalerScanSeconds,
    // CA's loop runs on its own phase: the same in both runs, from the seed
    firstScanAfterSeconds: Number((random() * models.autoscalerScanSeconds).toFixed(1)),
    scaleDownUnneededSeconds: models.scaleDownUnneededSeconds,
    scaleDownDelayAfterAddSeconds: models.scaleDownDelayAfterAddSeconds,
    maxNodeProvisionSeconds: models.maxNodeProvisionSeconds,
  });
  const timeline = new PendingTimeline(kube, clock.now, origin);
  // lanes per node for the picture (`simulate --html`), one run per side of the comparison
  const picture = new TimelineRecorder(kube, clock.now, origin);
  let pictureTimeline: Timeline | undefined;
  try {
    const runtime = await createInterruptionRuntime({
      config: {
        clusterName: SIM_CLUSTER,
        region: "us-west-2",
        policy: parsePolicy({ ...options.policy, replacement: { ...(options.policy?.replacement ?? {}), enabled: replacement } }),
        capacityPolicy: parseCapacityPolicy(REPLACEMENT_CAPACITY_POLICY),
        topicArn: "arn:aws:sns:us-west-2:123456789012:spot-manager-notifications",
        queueUrl: "https://sqs.us-west-2.amazonaws.com/123456789012/spot-manager-interruptions",
        functionName: "spot-manager-interruption",
      },
      clients: aws.clients,
      log: progressLog(clock, origin, print, sink),
      metrics: sink,
      kubeEndpoint: { server: kube.url, ...(kube.caPem ? { caPem: kube.caPem } : {}), token: async () => kube.token },
      now: clock.now,
      sleep: clock.sleep,
      random,
      onReport: (report) => reports.push(report),
    });
    const handler = createInterruptionHandler(async () => runtime);
    await warmUp(aws);
    clock.start();
    picture.start();
    timeline.begin();
    autoscaler.start();
    const reclaimAt = origin + 120_000;
    fleet.reclaimAt(DEMO_INTERRUPTED_INSTANCE, reclaimAt);
    print(`[t+   0.0s] ${scenario.steps[0]?.label ?? "EC2 Spot Instance Interruption Warning"}`);
    let handled = false;
    let batchFailures = 0;
    const handling = handler(sqsBatch([sample(WARNING_FILE)]), { getRemainingTimeInMillis: () => 900_000, awsRequestId: `sim-${replacement ? "replacement" : "ca-only"}` }).then((response) => {
      batchFailures += "batchItemFailures" in response ? response.batchItemFailures.length : 0;
      handled = true;
    });
    await settle({ kube, fleet, autoscaler, scheduler, timeline, handled: () => handled, reclaimAt, horizon: origin + models.horizonSeconds * 1000 });
    await handling;
    timeline.end();
    pictureTimeline = picture.finish(label, reports);
    const action = reports.find((r) => r.kind === "spot-interruption");
    const toRel = rel(origin);
    const touched = [...new Set(reports.map((r) => r.node).filter((n): n is string => Boolean(n)))];
    const run: ScenarioRun = {
      scenario,
      origin,
      reports,
      nodes: touched.filter((n) => kube.get("nodes", undefined, n)).map((n) => nodeState(kube, n)),
      notifications: aws.notifications(),
      lifecycleCompletions: [],
      kubeRequests: kube.stats.total,
      kubernetesEvents: kube.list("events").length,
      batchFailures,
      wallSeconds: (Date.now() - started) / 1000,
      timeline: pictureTimeline,
    };
    const figures: ReplacementRunReport = {
      ...timeline.figures(),
      ...(action?.replacement ? { replacement: action.replacement } : {}),
      podsHeld: action?.drain?.held.length ?? 0,
      deadlineMet: action?.deadlineMet ?? null,
      endedAtSeconds: toRel(clock.now()),
      autoscaler: autoscaler.history.map(({ at, ...e }) => ({ atSeconds: toRel(at), ...e })),
      fleet: fleet.history.map(({ at, ...e }) => ({ atSeconds: toRel(at), ...e })),
      timeline: timeline.timeline(),
    };
    print(`[t+${String(figures.endedAtSeconds).padStart(6)}s] ended: ${figures.pendingPodSeconds} pending pod-seconds, p95 ${figures.p95PendingSeconds} s, peak ${figures.peakExtraNodes} extra node(s), ${figures.nodesAtEnd} nodes at the end`);
    return { run, figures };
  } finally {
    if (!pictureTimeline) picture.finish(label, reports);
    autoscaler.stop();
    fleet.stop();
    scheduler.stop();
    aws.restore();
    await kube.stop();
  }
}

interface SettleParts {
  kube: Awaited<ReturnType<typeof startKubeLocal>>;
  fleet: FakeFleet;
  autoscaler: ClusterAutoscaler;
  scheduler: SimScheduler;
  timeline: PendingTimeline;
  handled: () => boolean;
  reclaimAt: number;
  horizon: number;
}

/**
 * Lets the models run until nothing is left to happen: the handler is done, the instance
 * reclaimed, no pod waits or terminates, no instance boots, and neither the groups nor
 * cluster-autoscaler have anything due. Quiet stretches (cluster-autoscaler's scale-down delay)
 * are jumped over; the horizon ends the run in any case.
 */
async function settle(parts: SettleParts): Promise<void> {
  const { kube, fleet, autoscaler, scheduler, timeline } = parts;
  // the scans counted when nothing was due: one more scan must find nothing before the run ends
  let quietAtScan: number | undefined;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = scheduler.now();
    if (now >= parts.horizon) return;
    const terminating = kube.list("pods").some((p) => p.metadata.deletionTimestamp);
    const booting = [...fleet.instances.values()].some((i) => i.lifecycleState === "Pending");
    if (!parts.handled() || now < parts.reclaimAt || terminating || booting || timeline.pendingNow() > 0) {
      quietAtScan = undefined;
      continue;
    }
    await kube.idle();
    const next = [scheduler.nextOneOff(), autoscaler.nextScaleDown(), autoscaler.nextGiveUp()].filter((t): t is number => t !== undefined);
    if (next.length === 0) {
      if (quietAtScan !== undefined && autoscaler.scans > quietAtScan) return;
      if (quietAtScan === undefined) {
        quietAtScan = autoscaler.scans;
        scheduler.fastForward(Math.min(now + autoscaler.scanIntervalMs, parts.horizon));
      }
      continue;
    }
    quietAtScan = undefined;
    const to = Math.min(...next, parts.horizon);
    if (to > now + 1_000) scheduler.fastForward(to);
  }
}

/** Reads every service the run talks to once before the clock starts, so loading AWS's API models costs no simulated time. */
async function warmUp(aws: AwsWorld): Promise<void> {
  await Promise.all([
    aws.clients.autoscaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [DEMO_INTERRUPTED_INSTANCE] })),
    aws.clients.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [SPOT_ASG] })),
    aws.clients.autoscaling.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: SPOT_ASG, MaxRecords: 1 })),
    aws.clients.eks.send(new DescribeNodegroupCommand({ clusterName: SIM_CLUSTER, nodegroupName: "base-on-demand" })),
    aws.clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: [DEMO_INTERRUPTED_INSTANCE] })),
  ]);
}

/** Plays the reclaim twice and compares. */
export async function runReplacementComparison(scenario: Scenario, options: ComparisonOptions): Promise<{ run: ScenarioRun; runs: ScenarioRun[]; comparison: ReplacementComparison }> {
  const models = { ...DEFAULT_MODELS, ...options.models };
  const caOnly = await playOnce(scenario, options, models, false);
  const withReplacement = await playOnce(scenario, options, models, true);
  const baseline = caOnly.figures.pendingPodSeconds;
  const ratio = baseline > 0 ? Number((withReplacement.figures.pendingPodSeconds / baseline).toFixed(3)) : null;
  return {
    run: withReplacement.run,
    runs: [caOnly.run, withReplacement.run],
    comparison: {
      seed: options.seed ?? 1,
      reclaim: { node: DEMO_INTERRUPTED_NODE, instanceId: DEMO_INTERRUPTED_INSTANCE, warningAt: REPLACEMENT_ORIGIN, reclaimedAtSeconds: 120 },
      models,
      caOnly: caOnly.figures,
      replacementAtWarning: withReplacement.figures,
      target: { maxPendingPodSecondsRatio: TARGET_PENDING_RATIO, ratio, met: ratio !== null && ratio <= TARGET_PENDING_RATIO },
    },
  };
}
