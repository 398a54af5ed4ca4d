/**
 * Where a pod may run and where it should: the scheduler's filters (unschedulable, taints,
 * nodeSelector, required node affinity, resources) and a simple score (untolerated
 * PreferNoSchedule taints, then the least loaded node). Pure, so seeding places pods the same way.
 */
import type { V1NodeSelectorRequirement } from "@kubernetes/client-node";
import { isPodActive, parseQuantity, podPhase, podRequest, toleratesTaint, untoleratedTaints, type Node, type Pod } from "../objects";
import type { Wire } from "../wire";

export interface NodeLoad {
  pods: number;
  cpu: number;
  memory: number;
}

export interface Placement {
  node?: Node;
  /** Why no node fits, in the scheduler's words, when none does. */
  reasons: string[];
}

const UNSCHEDULABLE_TAINT = { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" };

function matchesRequirement(req: Wire<V1NodeSelectorRequirement>, value: string | undefined): boolean {
  const values = req.values ?? [];
  switch (req.operator) {
    case "In":
      return value !== undefined && values.includes(value);
    case "NotIn":
      return value === undefined || !values.includes(value);
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
    case "Gt":
      return value !== undefined && Number(value) > Number(values[0]);
    case "Lt":
      return value !== undefined && Number(value) < Number(values[0]);
    default:
      return false;
  }
}

export function matchesNodeSelectorAndAffinity(pod: Pod, node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [key, value] of Object.entries(pod.spec?.nodeSelector ?? {})) if (labels[key] !== value) return false;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms || terms.length === 0) return true;
  return terms.some(
    (term) =>
      (term.matchExpressions ?? []).every((req) => matchesRequirement(req, labels[req.key])) &&
      (term.matchFields ?? []).every((req) => matchesRequirement(req, req.key === "metadata.name" ? node.metadata.name : undefined)),
  );
}

/**
 * What a pod asks of its node, read once per stored snapshot: the scheduler looks at every pod
 * for every node it weighs, and stored objects are never changed in place.
 */
const requestsByPod = new WeakMap<Pod, { cpu: number; memory: number }>();
export function podRequests(pod: Pod): { cpu: number; memory: number } {
  let requests = requestsByPod.get(pod);
  if (!requests) {
    requests = { cpu: podRequest(pod, "cpu"), memory: podRequest(pod, "memory") };
    requestsByPod.set(pod, requests);
  }
  return requests;
}

/** A node's allocatable pods, cpu and memory (undefined when it does not say), read once per stored snapshot. */
const capacityByNode = new WeakMap<Node, { pods: number; cpu: number | undefined; memory: number | undefined }>();
function capacityOf(node: Node): { pods: number; cpu: number | undefined; memory: number | undefined } {
  let capacity = capacityByNode.get(node);
  if (!capacity) {
    const allocatable = node.status?.allocatable ?? {};
    capacity = {
      pods: parseQuantity(allocatable["pods"] ?? "110"),
      cpu: allocatable["cpu"] !== undefined ? parseQuantity(allocatable["cpu"]) : undefined,
      memory: allocatable["memory"] !== undefined ? parseQuantity(allocatable["memory"]) : undefined,
    };
    capacityByNode.set(node, capacity);
  }
  return capacity;
}

/** Whether a pod still holds its node's resources: bound there and not finished. */
export function holdsNode(pod: Pod): boolean {
  const phase = podPhase(pod);
  return Boolean(pod.spec?.nodeName) && phase !== "Succeeded" && phase !== "Failed";
}

/** Resources in use on each node, counting every pod bound there that has not finished. */
export function nodeLoads(pods: Iterable<Pod>): Map<string, NodeLoad> {
  const loads = new Map<string, NodeLoad>();
  for (const pod of pods) {
    if (!holdsNode(pod)) continue;
    const nodeName = pod.spec?.nodeName ?? "";
    const load = loads.get(nodeName) ?? { pods: 0, cpu: 0, memory: 0 };
    const requests = podRequests(pod);
    load.pods += 1;
    load.cpu += requests.cpu;
    load.memory += requests.memory;
    loads.set(nodeName, load);
  }
  return loads;
}

/** The reason a node is filtered out for this pod, or undefined when it fits. */
export function unfitReason(pod: Pod, node: Node, load: NodeLoad | undefined): string | undefined {
  // a cordoned node behaves as if tainted node.kubernetes.io/unschedulable:NoSchedule
  if (node.spec?.unschedulable && !toleratesTaint(pod.spec?.tolerations ?? [], UNSCHEDULABLE_TAINT)) return "node(s) were unschedulable";
  const hard = untoleratedTaints(pod, node, ["NoSchedule", "NoExecute"]);
  if (hard.length > 0) {
    const t = hard[0]!;
    return `node(s) had untolerated taint {${t.key}: ${t.value ?? ""}}`;
  }
  if (!matchesNodeSelectorAndAffinity(pod, node)) return "node(s) didn't match Pod's node affinity/selector";
  const capacity = capacityOf(node);
  const used = load ?? { pods: 0, cpu: 0, memory: 0 };
  const requests = podRequests(pod);
  if (used.pods + 1 > capacity.pods) return "Too many pods";
  if (capacity.cpu !== undefined && used.cpu + requests.cpu > capacity.cpu + 1e-9) return "Insufficient cpu";
  if (capacity.memory !== undefined && used.memory + requests.memory > capacity.memory) return "Insufficient memory";
  return undefined;
}

/** Picks the node for a pod, or explains why there is none; of equally scored nodes, the first in `nodes` (the scheduler passes them by name). */
export function place(pod: Pod, nodes: readonly Node[], loads: Map<string, NodeLoad>): Placement {
  const reasons = new Map<string, number>();
  const feasible: Node[] = [];
  for (const node of nodes) {
    const reason = unfitReason(pod, node, loads.get(node.metadata.name ?? ""));
    if (reason) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    else feasible.push(node);
  }
  if (feasible.length === 0) {
    return { reasons: [...reasons.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([reason, n]) => `${n} ${reason}`) };
  }
  // the best scored: fewest untolerated PreferNoSchedule taints, then the fewest pods
  let best: { node: Node; taints: number; pods: number } | undefined;
  for (const node of feasible) {
    const taints = untoleratedTaints(pod, node, ["PreferNoSchedule"]).length;
    const pods = loads.get(node.metadata.name ?? "")?.pods ?? 0;
    if (!best || taints < best.taints || (taints === best.taints && pods < best.pods)) best = { node, taints, pods };
  }
  return { node: best!.node, reasons: [] };
}

/** The PodScheduled=False message kube-scheduler writes when nothing fits. */
export function unschedulableMessage(nodeCount: number, reasons: string[]): string {
  return `0/${nodeCount} nodes are available: ${reasons.join(", ")}. preemption: 0/${nodeCount} nodes are available: ${nodeCount} Preemption is not helpful for scheduling.`;
}

export function isActiveOn(pod: Pod, nodeName: string): boolean {
  return pod.spec?.nodeName === nodeName && isPodActive(pod);
}
