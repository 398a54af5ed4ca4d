/**
 * The node lifecycle controller's taints (pkg/controller/nodelifecycle): a cordoned node carries
 * node.kubernetes.io/unschedulable:NoSchedule, a node whose Ready condition is False or Unknown
 * carries not-ready or unreachable (NoSchedule and NoExecute), and the pressure conditions their
 * NoSchedule taints. The controller owns only those taints and leaves every other taint alone.
 */
import type { V1Taint } from "@kubernetes/client-node";
import { isDeepStrictEqual } from "node:util";
import { ApiError } from "../errors";
import { asNode, timestamp, type Node } from "../objects";
import type { Registry } from "../registry";
import { RESOURCES } from "../resources";
import type { StoredChange } from "../store";
import { clone, type Wire } from "../wire";
import { QueuedController } from "./work-queue";

const NODES = RESOURCES.find((r) => r.plural === "nodes" && r.group === "")!;
type Taint = Wire<V1Taint>;

export const UNSCHEDULABLE_TAINT_KEY = "node.kubernetes.io/unschedulable";
export const NOT_READY_TAINT_KEY = "node.kubernetes.io/not-ready";
export const UNREACHABLE_TAINT_KEY = "node.kubernetes.io/unreachable";

/** nodeConditionToTaintKeyStatusMap: the condition status that brings each NoSchedule taint. */
const CONDITION_TAINTS: Record<string, Record<string, string>> = {
  Ready: { False: NOT_READY_TAINT_KEY, Unknown: UNREACHABLE_TAINT_KEY },
  MemoryPressure: { True: "node.kubernetes.io/memory-pressure" },
  DiskPressure: { True: "node.kubernetes.io/disk-pressure" },
  NetworkUnavailable: { True: "node.kubernetes.io/network-unavailable" },
  PIDPressure: { True: "node.kubernetes.io/pid-pressure" },
};
const NO_SCHEDULE_KEYS = new Set([UNSCHEDULABLE_TAINT_KEY, ...Object.values(CONDITION_TAINTS).flatMap((m) => Object.values(m))]);
const NO_EXECUTE_KEYS = new Set([NOT_READY_TAINT_KEY, UNREACHABLE_TAINT_KEY]);

export interface NodeLifecycleOptions {
  /** Milliseconds from a node change to the taint update; default 0. */
  syncDelayMs?: number;
}

/** The taints the controller wants on a node, given its conditions and spec.unschedulable. */
export function controllerTaints(node: Node, now: Date): Taint[] {
  const taints: Taint[] = [];
  const conditions = node.status?.conditions ?? [];
  for (const condition of conditions) {
    const key = CONDITION_TAINTS[condition.type]?.[condition.status];
    if (key) taints.push({ key, effect: "NoSchedule" });
  }
  if (node.spec?.unschedulable) taints.push({ key: UNSCHEDULABLE_TAINT_KEY, effect: "NoSchedule" });
  const ready = conditions.find((c) => c.type === "Ready")?.status;
  const noExecute = ready === "False" ? NOT_READY_TAINT_KEY : ready === "Unknown" ? UNREACHABLE_TAINT_KEY : undefined;
  if (noExecute) {
    const existing = node.spec?.taints?.find((t) => t.key === noExecute && t.effect === "NoExecute");
    taints.push({ key: noExecute, effect: "NoExecute", timeAdded: existing?.timeAdded ?? timestamp(now) });
  }
  return taints;
}

const managed = (t: Taint) => (t.effect === "NoSchedule" && NO_SCHEDULE_KEYS.has(t.key)) || (t.effect === "NoExecute" && NO_EXECUTE_KEYS.has(t.key));
const sameTaint = (a: Taint, b: Taint) => a.key === b.key && a.effect === b.effect;

/** The node's taints with the controller's set brought up to date; others keep their order. */
export function reconcileTaints(current: readonly Taint[], wanted: readonly Taint[]): Taint[] {
  const kept = current.filter((t) => !managed(t) || wanted.some((w) => sameTaint(w, t)));
  const added = wanted.filter((w) => !kept.some((t) => sameTaint(t, w)));
  return [...kept, ...added];
}

export class NodeLifecycleController extends QueuedController {
  private readonly syncDelayMs: number;

  constructor(
    private readonly registry: Registry,
    options: NodeLifecycleOptions = {},
  ) {
    super();
    this.syncDelayMs = options.syncDelayMs ?? 0;
  }

  start(): void {
    for (const node of this.registry.store.peekAll(NODES.storage)) this.queue.add(node.metadata.name ?? "", this.syncDelayMs);
  }

  onChange(change: StoredChange): void {
    if (change.storage === NODES.storage && change.type !== "DELETED") this.queue.add(change.object.metadata.name ?? "", this.syncDelayMs);
  }

  protected sync(name: string): void {
    const stored = this.registry.store.peek(NODES.storage, undefined, name);
    if (!stored) return;
    const node = asNode(stored);
    const current = node.spec?.taints ?? [];
    const next = reconcileTaints(current, controllerTaints(node, this.registry.now()));
    if (isDeepStrictEqual(next, current)) return;
    const body = clone(stored) as Node;
    body.spec = { ...body.spec, taints: next };
    if (next.length === 0) delete body.spec.taints;
    try {
      this.registry.update(NODES, undefined, name, body);
    } catch (error) {
      // a write raced ours: the change it made queues the node again
      if (error instanceof ApiError && (error.code === 409 || error.code === 404)) return;
      throw error;
    }
  }
}
