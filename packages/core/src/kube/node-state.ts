/**
 * Changing a node's taints and schedulability safely: the change is computed from the node as
 * read, sent as one merge patch carrying that resourceVersion, and recomputed after a conflict —
 * a change given as a plan is planned again from the node as it now is, so its guard (never
 * uncordon a node another signal holds, say) is checked against what another writer just did.
 * A change that is already in place sends nothing.
 */
import { RetryError } from "../errors";
import type { KubeApi } from "./api";
import type { Node, Taint } from "./types";

export interface NodeChange {
  /** Taints to be present (replacing any with the same key and effect). */
  addTaints?: Taint[];
  /** Taint keys to remove, unless `keepIfValue` says the taint belongs to someone else. */
  removeTaints?: { key: string; onlyIfValue?: string }[];
  unschedulable?: boolean;
  annotations?: Record<string, string | null>;
}

/** A change, or the reason to make none, decided from the node as it is. */
export type NodePlan = NodeChange | { abort: string };
export type NodePlanner = NodeChange | ((node: Node) => NodePlan);

export interface NodeChangeResult {
  node: Node;
  /** True when this call's own patch made the change; false when the node already was as asked (or the plan aborted). */
  changed: boolean;
  /** Kubernetes API requests used (GETs after conflicts and PATCHes). */
  requests: number;
  /** Why the plan made no change, when it decided so. */
  aborted?: string;
}

export function taintsOf(node: Node): Taint[] {
  return (node.spec?.taints ?? []) as Taint[];
}

export function hasTaint(node: Node, key: string, value?: string): boolean {
  return taintsOf(node).some((t) => t.key === key && (value === undefined || (t.value ?? "") === value));
}

function desiredTaints(node: Node, change: NodeChange, now: Date): Taint[] {
  let taints = taintsOf(node).filter(
    (t) => !(change.removeTaints ?? []).some((r) => r.key === t.key && (r.onlyIfValue === undefined || r.onlyIfValue === (t.value ?? ""))),
  );
  for (const wanted of change.addTaints ?? []) {
    const existing = taints.find((t) => t.key === wanted.key && t.effect === wanted.effect);
    if (existing && (existing.value ?? "") === (wanted.value ?? "")) continue;
    taints = taints.filter((t) => !(t.key === wanted.key && t.effect === wanted.effect));
    taints.push({ ...wanted, ...(wanted.effect === "NoExecute" ? { timeAdded: now.toISOString().replace(/\.\d{3}Z$/, "Z") } : {}) });
  }
  return taints;
}

function patchFor(node: Node, change: NodeChange, now: Date): Record<string, unknown> | undefined {
  const spec: Record<string, unknown> = {};
  const taints = desiredTaints(node, change, now);
  if (JSON.stringify(taints) !== JSON.stringify(taintsOf(node))) spec["taints"] = taints.length ? taints : null;
  if (change.unschedulable !== undefined && Boolean(node.spec?.unschedulable) !== change.unschedulable) spec["unschedulable"] = change.unschedulable ? true : null;
  const annotations: Record<string, string | null> = {};
  for (const [key, value] of Object.entries(change.annotations ?? {})) {
    const current = node.metadata?.annotations?.[key];
    if ((value === null && current !== undefined) || (value !== null && current !== value)) annotations[key] = value;
  }
  if (Object.keys(spec).length === 0 && Object.keys(annotations).length === 0) return undefined;
  return {
    metadata: { resourceVersion: node.metadata?.resourceVersion, ...(Object.keys(annotations).length ? { annotations } : {}) },
    ...(Object.keys(spec).length ? { spec } : {}),
  };
}

export interface ChangeOptions {
  now?: () => Date;
  maxConflicts?: number;
  /** Pause between a conflict and the next read; jittered so competing writers fall apart. */
  conflictBackoff?: (conflicts: number) => Promise<void>;
}

const defaultBackoff = (conflicts: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.random() * Math.min(1_000, 50 * 2 ** conflicts)));

/** Applies a change (or a plan, decided again after every conflict) to a node already read; returns the node as it now is. */
export async function changeNode(api: KubeApi, node: Node, planner: NodePlanner, options: ChangeOptions = {}): Promise<NodeChangeResult> {
  const now = options.now ?? (() => new Date());
  const maxConflicts = options.maxConflicts ?? 10;
  const backoff = options.conflictBackoff ?? defaultBackoff;
  let current = node;
  let requests = 0;
  const name = node.metadata?.name ?? "";
  for (let conflicts = 0; ; ) {
    const change = typeof planner === "function" ? planner(current) : planner;
    if ("abort" in change) return { node: current, changed: false, requests, aborted: change.abort };
    const patch = patchFor(current, change, now());
    // after a conflict another writer may have made this very change: then this one changed nothing
    if (!patch) return { node: current, changed: false, requests };
    requests += 1;
    const answer = await api.patchNode(name, patch, "merge");
    if (answer.result === "ok") return { node: answer.node, changed: true, requests };
    if (answer.result === "not-found") throw new RetryError(`node ${name} disappeared while being changed`, 1);
    conflicts += 1;
    if (conflicts >= maxConflicts) throw new RetryError(`node ${name} kept changing under us (${conflicts} conflicts)`, 1);
    await backoff(conflicts);
    requests += 1;
    const fresh = await api.getNode(name);
    if (!fresh) throw new RetryError(`node ${name} disappeared while being changed`, 1);
    current = fresh;
  }
}
