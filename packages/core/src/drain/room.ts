/**
 * Whether a pod would find room on another node right now, as kube-scheduler's filters judge it:
 * a Ready, schedulable node whose NoSchedule/NoExecute taints the pod tolerates, whose labels
 * match its nodeSelector and required node affinity, with its CPU, memory and pod-count requests
 * free. Pods already waiting to be scheduled are placed first (they claim room before a pod this
 * drain holds), and room admitted to a held pod stays reserved for a few seconds, until the pod
 * that replaces it shows up as such a pending pod. Pod affinity, topology spread and volumes are
 * not judged: this decides only when a held pod is let go, never whether it may go.
 *
 * One snapshot (a list of nodes and one of pods) serves every drain of the container for
 * `refreshMs`, so many held pods cost two requests per refresh, not two each.
 */
import { allSettledOrThrow } from "../concurrency";
import type { KubeApi } from "../kube/api";
import type { Node, Pod } from "../kube/types";

interface Capacity {
  cpu: number;
  memory: number;
  pods: number;
}

interface Candidate {
  name: string;
  node: Node;
  free: Capacity;
}

interface Reservation {
  node: string;
  need: Capacity;
  until: number;
}

export interface RoomOptions {
  now: () => number;
  /** How long one snapshot serves. */
  refreshMs: number;
  /** How long room admitted to a pod stays reserved for it. */
  reserveMs?: number;
}

/** A Kubernetes quantity ("250m", "1.5", "256Mi", "1G", "2e3") as a number of base units. */
export function parseQuantity(text: string | number | undefined): number {
  if (text === undefined) return 0;
  if (typeof text === "number") return text;
  const match = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(text.trim());
  if (!match) return 0;
  const value = Number(match[1]);
  const factor: Record<string, number> = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
    Pi: 1024 ** 5,
    Ei: 1024 ** 6,
  };
  return value * (match[2] ? (factor[match[2]] ?? 1) : 1);
}

/** What a pod asks for: the sum of its containers' requests (init containers run before, one at a time: their largest counts). */
export function podRequests(pod: Pod): Capacity {
  const sum = (kind: "cpu" | "memory") => (pod.spec?.containers ?? []).reduce((n, c) => n + parseQuantity(c.resources?.requests?.[kind]), 0);
  const init = (kind: "cpu" | "memory") => Math.max(0, ...(pod.spec?.initContainers ?? []).map((c) => parseQuantity(c.resources?.requests?.[kind])));
  return { cpu: Math.max(sum("cpu"), init("cpu")), memory: Math.max(sum("memory"), init("memory")), pods: 1 };
}

function tolerates(pod: Pod, taint: { key: string; value?: string | undefined; effect: string }): boolean {
  return (pod.spec?.tolerations ?? []).some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === "Exists") return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? "") === (taint.value ?? "");
  });
}

function matches(operator: string, values: string[], value: string | undefined): boolean {
  switch (operator) {
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

/** Whether the node's labels, taints and state admit the pod (resources aside). */
export function admits(node: Node, pod: Pod): boolean {
  if (node.metadata?.deletionTimestamp || node.spec?.unschedulable) return false;
  const ready = (node.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
  if (!ready) return false;
  if ((node.spec?.taints ?? []).some((t) => (t.effect === "NoSchedule" || t.effect === "NoExecute") && !tolerates(pod, t))) return false;
  const labels = node.metadata?.labels ?? {};
  if (Object.entries(pod.spec?.nodeSelector ?? {}).some(([k, v]) => labels[k] !== v)) return false;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  if (terms.length === 0) return true;
  return terms.some(
    (term) =>
      (term.matchExpressions ?? []).every((r) => matches(r.operator, r.values ?? [], labels[r.key])) &&
      (term.matchFields ?? []).every((r) => matches(r.operator, r.values ?? [], r.key === "metadata.name" ? node.metadata?.name : undefined)),
  );
}

const fits = (free: Capacity, need: Capacity) => free.cpu + 1e-9 >= need.cpu && free.memory >= need.memory && free.pods >= need.pods;
const minus = (a: Capacity, b: Capacity): Capacity => ({ cpu: a.cpu - b.cpu, memory: a.memory - b.memory, pods: a.pods - b.pods });

/** Pods that hold room on their node: bound, not finished. */
function holdsRoom(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return Boolean(pod.spec?.nodeName) && phase !== "Succeeded" && phase !== "Failed";
}

/** Pods the scheduler still has to place. */
function waiting(pod: Pod): boolean {
  return !pod.spec?.nodeName && !pod.metadata?.deletionTimestamp && (pod.status?.phase ?? "Pending") === "Pending";
}

export class ClusterRoom {
  private snapshot: { at: number; candidates: Candidate[] } | undefined;
  private loading: Promise<void> | undefined;
  private reservations: Reservation[] = [];

  constructor(
    private readonly kube: KubeApi,
    private readonly options: RoomOptions,
  ) {}

  /**
   * Whether the pod would find room on a node other than `from` now; when it would, that room is
   * reserved for it. Reads at most one fresh snapshot.
   */
  async admit(pod: Pod, from: string, deadline?: number): Promise<boolean> {
    await this.refresh(deadline);
    const now = this.options.now();
    this.reservations = this.reservations.filter((r) => r.until > now);
    const need = podRequests(pod);
    for (const candidate of this.snapshot?.candidates ?? []) {
      if (candidate.name === from || !admits(candidate.node, pod)) continue;
      const reserved = this.reservations.filter((r) => r.node === candidate.name).reduce((sum, r) => minus(sum, r.need), candidate.free);
      if (!fits(reserved, need)) continue;
      this.reservations.push({ node: candidate.name, need, until: now + (this.options.reserveMs ?? Math.max(5_000, this.options.refreshMs * 2)) });
      return true;
    }
    return false;
  }

  private async refresh(deadline?: number): Promise<void> {
    const now = this.options.now();
    if (this.snapshot && now - this.snapshot.at < this.options.refreshMs) return;
    this.loading ??= this.load(deadline).finally(() => {
      this.loading = undefined;
    });
    await this.loading;
  }

  private async load(deadline?: number): Promise<void> {
    // both lists are over before a failure of either is told: no list pages on after the drain stopped waiting
    const [nodes, pods] = await allSettledOrThrow([this.kube.listNodes({}, deadline), this.kube.listPods({}, deadline)]);
    const used = new Map<string, Capacity>();
    for (const pod of pods.filter(holdsRoom)) {
      const name = pod.spec?.nodeName ?? "";
      used.set(name, minus(used.get(name) ?? { cpu: 0, memory: 0, pods: 0 }, podRequests(pod)));
    }
    const candidates: Candidate[] = nodes.map((node) => {
      const allocatable = node.status?.allocatable ?? {};
      const total = { cpu: parseQuantity(allocatable["cpu"]), memory: parseQuantity(allocatable["memory"]), pods: parseQuantity(allocatable["pods"] ?? "110") };
      const taken = used.get(node.metadata?.name ?? "") ?? { cpu: 0, memory: 0, pods: 0 };
      return { name: node.metadata?.name ?? "", node, free: { cpu: total.cpu + taken.cpu, memory: total.memory + taken.memory, pods: total.pods + taken.pods } };
    });
    // pods already waiting claim room first, as the scheduler will give it to them
    for (const pod of pods.filter(waiting)) {
      const need = podRequests(pod);
      const home = candidates.find((c) => admits(c.node, pod) && fits(c.free, need));
      if (home) home.free = minus(home.free, need);
    }
    this.snapshot = { at: this.options.now(), candidates };
  }
}
