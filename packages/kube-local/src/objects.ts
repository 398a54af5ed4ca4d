/** Small readers over pods and nodes, shared by eviction, PDB status, the scheduler and tables. */
import type { V1Node, V1Pod, V1Taint, V1Toleration } from "@kubernetes/client-node";
import type { KubeObject, OwnerReference, Wire } from "./wire";

export type Pod = Wire<V1Pod> & KubeObject;
export type Node = Wire<V1Node> & KubeObject;

export const MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror";

export function asPod(obj: KubeObject): Pod {
  return obj as Pod;
}
export function asNode(obj: KubeObject): Node {
  return obj as Node;
}

export function isTerminating(obj: KubeObject): boolean {
  return Boolean(obj.metadata.deletionTimestamp);
}

export function podPhase(pod: Pod): string {
  return pod.status?.phase ?? "Pending";
}

export function isPodReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

export function isNodeReady(node: Node): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/** Active as the ReplicaSet controller counts: not terminal, not being deleted. */
export function isPodActive(pod: Pod): boolean {
  const phase = podPhase(pod);
  return phase !== "Succeeded" && phase !== "Failed" && !isTerminating(pod);
}

export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((o) => o.controller === true);
}

export function isMirrorPod(pod: Pod): boolean {
  return pod.metadata.annotations?.[MIRROR_POD_ANNOTATION] !== undefined;
}

/** Toleration matching as in k8s.io/api core/v1 toleration.go. */
export function toleratesTaint(tolerations: readonly Wire<V1Toleration>[], taint: Wire<V1Taint>): boolean {
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.key === undefined || t.key === "") {
      // an empty key with Exists matches every taint
      return t.operator === "Exists";
    }
    if (t.key !== taint.key) return false;
    const operator = t.operator ?? "Equal";
    if (operator === "Exists") return true;
    return (t.value ?? "") === (taint.value ?? "");
  });
}

export function untoleratedTaints(pod: Pod, node: Node, effects: readonly string[]): Wire<V1Taint>[] {
  const tolerations = pod.spec?.tolerations ?? [];
  return (node.spec?.taints ?? []).filter((taint) => effects.includes(taint.effect) && !toleratesTaint(tolerations, taint));
}

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** Parses a resource.Quantity (`250m`, `1.5Gi`, `2e3`) to a number of base units; NaN when malformed. */
export function parseQuantity(value: string | number | undefined): number {
  if (value === undefined) return 0;
  if (typeof value === "number") return value;
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/.exec(value.trim());
  if (!match) return Number.NaN;
  const base = Number(match[1]);
  if (match[2]) return base * 10 ** Number(match[2].slice(1));
  const suffix = match[3] ?? "";
  return base * (BINARY[suffix] ?? DECIMAL[suffix] ?? Number.NaN);
}

/** Sum of container requests for one resource name (cpu, memory), as the scheduler counts them. */
export function podRequest(pod: Pod, resourceName: string): number {
  const containers = pod.spec?.containers ?? [];
  const regular = containers.reduce((sum, c) => sum + parseQuantity(c.resources?.requests?.[resourceName]), 0);
  const init = Math.max(0, ...(pod.spec?.initContainers ?? []).map((c) => parseQuantity(c.resources?.requests?.[resourceName])));
  return Math.max(regular, init);
}

/** `5m`, `3h12m`, `2d` as kubectl prints ages. */
export function humanDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return `${minutes}m${seconds % 60 ? `${seconds % 60}s` : ""}`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return `${hours}h${minutes % 60 ? `${minutes % 60}m` : ""}`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (days < 8) return `${days}d${hours % 24 ? `${hours % 24}h` : ""}`;
  return `${days}d`;
}

/** RFC 3339 with second precision, as metav1.Time serializes. */
export function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
