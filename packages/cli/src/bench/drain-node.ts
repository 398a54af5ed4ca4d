/**
 * One node with 110 pods (no PodDisruptionBudget in the way) drained by spot-manager, and the
 * same node on an identical cluster drained by `kubectl drain`, side by side.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startKubeLocal, type KubeLocal } from "@spot-manager/kube-local";
import { benchWorld, spotWarning } from "./harness";
import { fleet } from "./seeds";
import { round } from "./stats";

const run = promisify(execFile);
const PODS = 110;
const GRACE_SECONDS = 2;

function shape() {
  return fleet({
    sources: { count: 1, podsEach: PODS, maxPods: PODS },
    receivers: { count: 2, maxPods: 110 },
    replicasPerDeployment: 10,
    terminationGracePeriodSeconds: GRACE_SECONDS,
  });
}

function podsLeft(kube: KubeLocal, node: string): number {
  return kube.list("pods").filter((p) => (p["spec"] as { nodeName?: string }).nodeName === node).length;
}

async function kubectlDrain(): Promise<{ seconds: number; requests: number } | { skipped: string }> {
  const available = await run("kubectl", ["version", "--client"]).then(
    () => true,
    () => false,
  );
  if (!available) return { skipped: "kubectl not on PATH" };
  const { sources, receivers, sourceNodes } = shape();
  const kube = await startKubeLocal({ simulation: { timeScale: 1, podStartupSeconds: 0.5 } });
  const dir = await mkdtemp(join(tmpdir(), "spot-manager-bench-"));
  try {
    await kube.seed(sources);
    await kube.seed(receivers);
    const config = join(dir, "kubeconfig");
    await kube.writeKubeconfig(config);
    const node = sourceNodes[0]!.name;
    kube.stats.reset();
    const started = performance.now();
    await run("kubectl", ["--kubeconfig", config, "drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--force", "--timeout=300s"], { maxBuffer: 16 * 1024 * 1024 });
    const seconds = (performance.now() - started) / 1000;
    if (podsLeft(kube, node) !== 0) throw new Error("kubectl drain left pods behind");
    return { seconds: round(seconds, 2), requests: kube.stats.total };
  } finally {
    await kube.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function benchDrain110() {
  const { sources, receivers, sourceNodes } = shape();
  const world = await benchWorld(sources, { policy: { podEvents: false } });
  let ours: { seconds: number; requests: number; evicted: number };
  try {
    await world.kube.seed(receivers);
    world.aws.addNodes(world.kube.list("nodes"), "bench");
    const node = sourceNodes[0]!;
    world.kube.stats.reset();
    await world.invoke(spotWarning(node.instanceId));
    const report = world.reports[world.reports.length - 1];
    const drain = report?.drain;
    if (!drain?.complete || podsLeft(world.kube, node.name) !== 0) throw new Error(`drain incomplete: ${JSON.stringify(report?.steps)}`);
    ours = { seconds: round((drain.finishedAt - drain.startedAt) / 1000, 2), requests: drain.apiRequests, evicted: drain.evicted.length };
  } finally {
    await world.stop();
  }
  const kubectl = await kubectlDrain();
  return {
    pods: PODS,
    podTerminationGracePeriodSeconds: GRACE_SECONDS,
    spotManager: { drainSeconds: ours.seconds, apiRequests: ours.requests, evicted: ours.evicted },
    kubectlDrain: { ...kubectl, ...("seconds" in kubectl ? { note: "kubectl applies its own client-side rate limit, as it would against any cluster (kubectl -v=4 shows the waits)" } : {}) },
    ...("seconds" in kubectl ? { ratioSpotManagerToKubectl: round(ours.seconds / kubectl.seconds, 2) } : {}),
    targets: { drainUnderSeconds: 5, noSlowerThanKubectl: true },
    met: ours.seconds < 5 && (!("seconds" in kubectl) || ours.seconds <= kubectl.seconds),
  };
}
