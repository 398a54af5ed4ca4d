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

/** Resources in use on each node, counting every pod bound there that has not finished. */
export function nodeLoads(pods: readonly Pod[]): Map<string, NodeLoad> {
  const loads = new Map<string, NodeLoad>();
  for (const pod of pods) {
    const nodeName = pod.spec?.nodeName;
    const phase = podPhase(pod);
    if (!nodeName || phase === "Succeeded" || phase === "Failed") continue;
    const load = loads.get(nodeName) ?? { pods: 0, cpu: 0, memory: 0 };
    load.pods += 1;
    load.cpu += podRequest(pod, "cpu");
    load.memory += podRequest(pod, "memory");
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
  const allocatable = node.status?.allocatable ?? {};
  const used = load ?? { pods: 0, cpu: 0, memory: 0 };
  const maxPods = parseQuantity(allocatable["pods"] ?? "110");
  if (used.pods + 1 > maxPods) return "Too many pods";
  if (allocatable["cpu"] !== undefined && used.cpu + podRequest(pod, "cpu") > parseQuantity(allocatable["cpu"]) + 1e-9) return "Insufficient cpu";
  if (allocatable["memory"] !== undefined && used.memory + podRequest(pod, "memory") > parseQuantity(allocatable["memory"])) return "Insufficient memory";
  return undefined;
}

/** Picks the node for a pod, or explains why there is none. */
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
  const score = (node: Node) => [untoleratedTaints(pod, node, ["PreferNoSchedule"]).length, loads.get(node.metadata.name ?? "")?.pods ?? 0];
  feasible.sort((a, b) => {
    const [ta, la] = score(a);
    const [tb, lb] = score(b);
    return ta! - tb! || la! - lb! || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
  });
  return { node: feasible[0]!, reasons: [] };
}

/** The PodScheduled=False message kube-scheduler writes when nothing fits. */
export function unschedulableMessage(nodeCount: number, reasons: string[]): string {
  return `0/${nodeCount} nodes are available: ${reasons.join(", ")}. preemption: 0/${nodeCount} nodes are available: ${nodeCount} Preemption is not helpful for scheduling.`;
}

export function isActiveOn(pod: Pod, nodeName: string): boolean {
  return pod.spec?.nodeName === nodeName && isPodActive(pod);
}
