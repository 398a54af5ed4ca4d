/** Cluster shapes for the benchmarks, built with kube-local's fixtures. */
import { deploymentFixture, emptySeed, nodeFixture, type ClusterSeed } from "@spot-manager/kube-local";

export function instanceId(prefix: number, n: number): string {
  return `i-0${prefix.toString(16)}${n.toString(16).padStart(14, "0")}`;
}

export function nodeName(prefix: string, n: number): string {
  return `ip-10-${prefix}-${Math.floor(n / 250)}-${(n % 250) + 1}.us-west-2.compute.internal`;
}

interface Fleet {
  /** Nodes that hold the pods at the start. */
  sources: { count: number; podsEach: number; maxPods: number };
  /** Nodes that take the replacements (added after the pods are placed). */
  receivers: { count: number; maxPods: number };
  /** Pods per Deployment; each Deployment gets a PDB when `pdb` is set. */
  replicasPerDeployment: number;
  pdb?: { maxUnavailable: number | string };
  terminationGracePeriodSeconds: number;
}

/** Places `podsEach` pods on every source node, then adds the receivers: seed the two in that order. */
export function fleet(spec: Fleet): { sources: ClusterSeed; receivers: ClusterSeed; sourceNodes: { name: string; instanceId: string }[] } {
  const sources = emptySeed();
  sources.namespaces.push("bench");
  const sourceNodes = Array.from({ length: spec.sources.count }, (_, n) => ({ name: nodeName("20", n), instanceId: instanceId(2, n) }));
  for (const node of sourceNodes) {
    sources.nodes.push(
      nodeFixture({ name: node.name, instanceId: node.instanceId, zone: "us-west-2a", instanceType: "m6i.2xlarge", capacityType: "SPOT", nodegroup: "spot", internalIp: "10.20.0.1", allocatable: { pods: String(spec.sources.maxPods), cpu: "64", memory: "256Gi" } }),
    );
  }
  const total = spec.sources.count * spec.sources.podsEach;
  for (let d = 0; d * spec.replicasPerDeployment < total; d += 1) {
    const replicas = Math.min(spec.replicasPerDeployment, total - d * spec.replicasPerDeployment);
    const { deployment, pdb } = deploymentFixture({
      namespace: "bench",
      name: `app-${d}`,
      replicas,
      terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds,
      requests: { cpu: "10m", memory: "16Mi" },
      ...(spec.pdb ? { pdb: spec.pdb } : {}),
    });
    sources.deployments.push(deployment);
    if (pdb) sources.pdbs.push(pdb);
  }
  const receivers = emptySeed();
  for (let n = 0; n < spec.receivers.count; n += 1) {
    receivers.nodes.push(
      nodeFixture({ name: nodeName("30", n), instanceId: instanceId(3, n), zone: "us-west-2b", instanceType: "m6i.4xlarge", capacityType: "ON_DEMAND", nodegroup: "base", internalIp: "10.30.0.1", allocatable: { pods: String(spec.receivers.maxPods), cpu: "64", memory: "256Gi" } }),
    );
  }
  return { sources, receivers, sourceNodes };
}
