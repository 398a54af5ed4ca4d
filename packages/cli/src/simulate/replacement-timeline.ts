/**
 * Watches kube-local's store while a reclaim plays out and keeps, on the simulation's clock, when
 * each workload pod was Pending and when it ran, and how many nodes were Ready: the figures of
 * the replacement comparison (pending pod-seconds, their 95th percentile, the time until every
 * pod runs again, the nodes beyond the count before) and a timeline to draw them from.
 *
 * Workload pods are those a controller other than a DaemonSet owns, and bare pods; DaemonSet and
 * mirror pods follow their nodes and are left out. A pod is Pending from its creation (or the
 * start, for one already waiting) until it first runs, is deleted, or the run ends.
 */
import type { KubeLocal } from "@spot-manager/kube-local";

export interface TimelinePoint {
  /** Seconds since the start (the warning). */
  atSeconds: number;
  pending: number;
  running: number;
  /** Ready nodes, and how many more than before the start. */
  nodes: number;
  extraNodes: number;
}

export interface PendingFigures {
  /** Workload pods that were Pending at some moment after the start. */
  podsPending: number;
  /** Sum over those pods of the seconds each spent Pending. */
  pendingPodSeconds: number;
  p95PendingSeconds: number;
  maxPendingSeconds: number;
  /** Seconds from the start until no workload pod was Pending any more and all ran (null: not by the end). */
  secondsUntilAllRunning: number | null;
  /** Pods still Pending at the end. */
  pendingAtEnd: number;
  nodesBefore: number;
  nodesAtEnd: number;
  /** The most Ready nodes beyond the count before, at any moment. */
  peakExtraNodes: number;
  /** Node-seconds beyond the count before (how long capacity stayed above where it began). */
  extraNodeSeconds: number;
  /** Seconds of the last moment the node count was above where it began (null: never). */
  lastExtraNodeAtSeconds: number | null;
}

interface PodTrack {
  name: string;
  pendingSince?: number;
  pendingMs: number;
  everPending: boolean;
  running: boolean;
}

interface StoredLike {
  metadata: { uid?: string; name?: string; namespace?: string; deletionTimestamp?: string; ownerReferences?: { kind: string; controller?: boolean }[]; annotations?: Record<string, string> };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

const workload = (obj: StoredLike) =>
  !obj.metadata.ownerReferences?.some((o) => o.controller && (o.kind === "DaemonSet" || o.kind === "Node")) && obj.metadata.annotations?.["kubernetes.io/config.mirror"] === undefined;
const phaseOf = (obj: StoredLike) => obj.status?.phase ?? "Pending";
const readyNode = (obj: StoredLike) => !obj.metadata.deletionTimestamp && (obj.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

const round = (n: number, digits = 1) => Number(n.toFixed(digits));

export class PendingTimeline {
  private readonly pods = new Map<string, PodTrack>();
  private readonly readyNodes = new Set<string>();
  private readonly points: TimelinePoint[] = [];
  private unsubscribe: (() => void) | undefined;
  private nodesBefore = 0;
  private peakExtra = 0;
  private extraMs = 0;
  private lastChange: number;
  private lastExtraAt: number | null = null;
  private lastPendingEnd: number | null = null;
  private endedAt: number | undefined;

  constructor(
    private readonly kube: KubeLocal,
    private readonly now: () => number,
    private readonly start: number,
  ) {
    this.lastChange = start;
  }

  /** Takes stock of the cluster as it is, then follows every change. */
  begin(): void {
    for (const node of this.kube.store.peekAll("nodes") as unknown as StoredLike[]) if (readyNode(node)) this.readyNodes.add(node.metadata.name ?? "");
    this.nodesBefore = this.readyNodes.size;
    for (const pod of this.kube.store.peekAll("pods") as unknown as StoredLike[]) this.onPod(pod, false);
    // the stock taken is the cluster at the start, whatever set-up time the clock has seen since
    this.point(this.start);
    this.unsubscribe = this.kube.store.subscribe((change) => {
      if (this.endedAt !== undefined) return;
      const obj = change.object as unknown as StoredLike;
      if (change.storage === "pods") this.onPod(obj, change.type === "DELETED");
      else if (change.storage === "nodes") this.onNode(obj, change.type === "DELETED");
      else return;
      this.point();
    });
  }

  /** Stops following; Pending time is counted up to now. */
  end(): void {
    if (this.endedAt !== undefined) return;
    this.accountNodes(this.now());
    this.endedAt = this.now();
    this.unsubscribe?.();
    this.point();
  }

  /** Pods Pending right now. */
  pendingNow(): number {
    return [...this.pods.values()].filter((t) => t.pendingSince !== undefined).length;
  }

  /** Ready nodes beyond the count before, right now. */
  extraNow(): number {
    return this.readyNodes.size - this.nodesBefore;
  }

  timeline(): TimelinePoint[] {
    return this.points;
  }

  figures(): PendingFigures {
    const end = this.endedAt ?? this.now();
    const waits: number[] = [];
    let total = 0;
    let pendingAtEnd = 0;
    for (const track of this.pods.values()) {
      if (!track.everPending) continue;
      const ms = track.pendingMs + (track.pendingSince !== undefined ? end - track.pendingSince : 0);
      if (track.pendingSince !== undefined) pendingAtEnd += 1;
      waits.push(ms / 1000);
      total += ms / 1000;
    }
    const rel = (ms: number) => round((ms - this.start) / 1000);
    return {
      podsPending: waits.length,
      pendingPodSeconds: round(total),
      p95PendingSeconds: round(percentile(waits, 95)),
      maxPendingSeconds: round(waits.length ? Math.max(...waits) : 0),
      secondsUntilAllRunning: pendingAtEnd > 0 ? null : this.lastPendingEnd === null ? 0 : rel(this.lastPendingEnd),
      pendingAtEnd,
      nodesBefore: this.nodesBefore,
      nodesAtEnd: this.readyNodes.size,
      peakExtraNodes: this.peakExtra,
      extraNodeSeconds: round(this.extraMs / 1000),
      lastExtraNodeAtSeconds: this.lastExtraAt === null ? null : rel(this.lastExtraAt),
    };
  }

  private onPod(obj: StoredLike, deleted: boolean): void {
    if (!workload(obj)) return;
    const uid = obj.metadata.uid ?? "";
    const now = Math.max(this.start, this.now());
    let track = this.pods.get(uid);
    if (!track) {
      if (deleted) return;
      track = { name: `${obj.metadata.namespace ?? ""}/${obj.metadata.name ?? ""}`, pendingMs: 0, everPending: false, running: false };
      this.pods.set(uid, track);
    }
    const waitingNow = !deleted && !track.running && phaseOf(obj) === "Pending" && !obj.metadata.deletionTimestamp;
    if (!deleted && phaseOf(obj) === "Running") track.running = true;
    if (waitingNow && track.pendingSince === undefined) {
      track.pendingSince = now;
      track.everPending = true;
    } else if (!waitingNow && track.pendingSince !== undefined) {
      track.pendingMs += now - track.pendingSince;
      delete track.pendingSince;
      if (this.pendingNow() === 0) this.lastPendingEnd = now;
    }
    // a pod that never waited is of no further interest once gone; one that waited keeps its count
    if (deleted && !track.everPending) this.pods.delete(uid);
  }

  private onNode(obj: StoredLike, deleted: boolean): void {
    const now = this.now();
    this.accountNodes(now);
    const name = obj.metadata.name ?? "";
    if (!deleted && readyNode(obj)) this.readyNodes.add(name);
    else this.readyNodes.delete(name);
    const extra = this.readyNodes.size - this.nodesBefore;
    this.peakExtra = Math.max(this.peakExtra, extra);
    if (extra > 0) this.lastExtraAt = now;
  }

  /** Adds the extra node-seconds since the last node change. */
  private accountNodes(now: number): void {
    const extra = this.readyNodes.size - this.nodesBefore;
    if (extra > 0) {
      this.extraMs += extra * (now - this.lastChange);
      this.lastExtraAt = now;
    }
    this.lastChange = now;
  }

  private point(now = this.now()): void {
    const at = round((Math.max(this.start, now) - this.start) / 1000);
    const pending = this.pendingNow();
    const running = [...this.kube.store.peekAll("pods")].filter((p) => {
      const o = p as unknown as StoredLike;
      return workload(o) && phaseOf(o) === "Running" && !o.metadata.deletionTimestamp;
    }).length;
    const point = { atSeconds: at, pending, running, nodes: this.readyNodes.size, extraNodes: this.readyNodes.size - this.nodesBefore };
    const last = this.points[this.points.length - 1];
    if (last && last.pending === point.pending && last.running === point.running && last.nodes === point.nodes) return;
    if (last && last.atSeconds === point.atSeconds) this.points[this.points.length - 1] = point;
    else this.points.push(point);
  }
}
