/**
 * What a simulation run looked like over time, for the picture (`simulate --html`): a lane per node
 * with what happened to it, and the count of workload pods Pending and Running. Recorded by
 * watching kube-local (every stored change, and every API request it answers) on the simulated
 * clock, then completed from the handler's action reports (signals, drains, deadlines). Times are
 * simulated seconds since the scenario's origin (the first event's time).
 *
 * A scenario may play several runs (a baseline and a variant, for instance): each run has its own
 * Timeline with its own label, and the page draws them on one time axis.
 */
import type { ActionReport } from "@spot-manager/core";
import type { KubeLocal, KubeObject, RequestRecord } from "@spot-manager/kube-local";

export type LaneMarkKind =
  /** The handler took up an event about the node's instance. */
  | "signal"
  /** The handler took up a follow-up it had scheduled (continue a drain, remove a taint...). */
  | "follow-up"
  | "taint"
  | "untaint"
  | "cordon"
  | "uncordon"
  /** The Eviction API accepted an eviction of a pod of the node. */
  | "eviction"
  /** The Eviction API refused: a PodDisruptionBudget allows no disruption now (429 with a DisruptionBudget cause). */
  | "pdb-refusal"
  /** An eviction failed for a reason worth another try (throttling, a server error). */
  | "eviction-retry"
  /** An eviction the API refused for good (RBAC, a webhook, several budgets). */
  | "eviction-refused"
  /** A pod deleted through the API (the deadline policy's grace-0 delete). */
  | "force-delete"
  | "drain-finished"
  | "not-ready"
  | "ready"
  | "joined"
  | "gone";

export interface LaneMark {
  /** Simulated seconds since the origin. */
  at: number;
  kind: LaneMarkKind;
  /** What happened, in words (shown on hover). */
  text: string;
  /** namespace/name, for marks about one pod. */
  pod?: string;
  /** A few words drawn beside the mark (the signal's kind). */
  label?: string;
  /** key:effect, for taint marks. */
  taint?: string;
  /** For drain-finished: no pod that had to leave is left. */
  complete?: boolean;
}

/** When the node's instance goes (or its maintenance starts), for one event, and whether the drain made it. */
export interface DeadlineMark {
  at: number;
  eventId: string;
  kind: string;
  /** undefined when no drain was measured against it (a dry run, a drain not started). */
  met?: boolean;
  drainFinishedAt?: number;
  podsLeft: number;
  secondsLeft?: number;
}

export interface NodeLane {
  node: string;
  instanceId?: string;
  capacityType?: string;
  nodeGroup?: string;
  /** Set when the node registered during the run. */
  joinedAt?: number;
  /** Set when the node object was deleted during the run. */
  goneAt?: number;
  marks: LaneMark[];
  deadlines: DeadlineMark[];
}

/** Workload pods (DaemonSet and static pods aside) by state, from this instant until the next sample. */
export interface PodCounts {
  at: number;
  pending: number;
  /** Running and not being deleted. */
  running: number;
  /** Being deleted (graceful termination under way). */
  terminating: number;
}

/** An action with no node to draw it on (an event for an unknown instance, for instance). */
export interface UnplacedAction {
  at: number;
  kind: string;
  instanceId: string;
  outcome: string;
  reason?: string;
}

export interface Timeline {
  /** Which run this is ("as played", "without replacement", ...). */
  label: string;
  /** The scenario's origin, ISO 8601: second 0 of the axis. */
  origin: string;
  /** Simulated seconds since the origin at which the run ended. */
  end: number;
  /** Spans the run jumped over without waiting (between scenario steps): nothing happened in them. */
  skipped: { from: number; to: number }[];
  lanes: NodeLane[];
  pods: PodCounts[];
  unplaced: UnplacedAction[];
}

type PodState = "pending" | "running" | "terminating" | "finished";

interface NodeView {
  taints: Map<string, string>;
  unschedulable: boolean;
  ready: boolean | undefined;
}

interface NodeShape {
  spec?: { unschedulable?: boolean; taints?: { key: string; value?: string; effect: string }[]; providerID?: string };
  status?: { conditions?: { type: string; status: string }[] };
}

interface PodShape {
  spec?: { nodeName?: string };
  status?: { phase?: string };
}

const MIRROR_ANNOTATION = "kubernetes.io/config.mirror";
const CORDON_TAINT = "node.kubernetes.io/unschedulable";
const round = (seconds: number) => Math.round(seconds * 1000) / 1000;

function podKey(obj: { metadata: { namespace?: string | undefined; name?: string | undefined } }): string {
  return `${obj.metadata.namespace ?? ""}/${obj.metadata.name ?? ""}`;
}

/** Workload pods only: DaemonSet pods come and go with their nodes, static pods belong to the node. */
function counted(pod: KubeObject): boolean {
  if (pod.metadata.annotations?.[MIRROR_ANNOTATION] !== undefined) return false;
  return !(pod.metadata.ownerReferences ?? []).some((o) => o.controller === true && o.kind === "DaemonSet");
}

function podState(pod: KubeObject): PodState {
  if (pod.metadata.deletionTimestamp) return "terminating";
  const phase = (pod as PodShape).status?.phase ?? "Pending";
  if (phase === "Running") return "running";
  if (phase === "Pending") return "pending";
  return "finished";
}

function nodeView(node: KubeObject): NodeView {
  const shape = node as NodeShape;
  const ready = shape.status?.conditions?.find((c) => c.type === "Ready");
  return {
    taints: new Map((shape.spec?.taints ?? []).filter((t) => t.key !== CORDON_TAINT).map((t) => [`${t.key}:${t.effect}`, t.value ?? ""])),
    unschedulable: Boolean(shape.spec?.unschedulable),
    ready: ready ? ready.status === "True" : undefined,
  };
}

function instanceOf(node: KubeObject): string | undefined {
  return /\/(i-[0-9a-f]+)$/.exec((node as NodeShape).spec?.providerID ?? "")?.[1];
}

const describeTaint = (key: string, value: string) => {
  const [name, effect] = [key.slice(0, key.lastIndexOf(":")), key.slice(key.lastIndexOf(":") + 1)];
  return `${name}${value ? `=${value}` : ""}:${effect}`;
};

/**
 * Watches a kube-local cluster from `start()` until `finish()`: node changes become lane marks,
 * eviction and delete requests become pod marks on the pod's node, pod changes move the counts.
 */
export class TimelineRecorder {
  private readonly lanes = new Map<string, NodeLane>();
  private readonly views = new Map<string, NodeView>();
  private readonly podNodes = new Map<string, string>();
  private readonly podStates = new Map<string, PodState>();
  private readonly counts = { pending: 0, running: 0, terminating: 0 };
  private readonly samples: PodCounts[] = [];
  private readonly skipped: { from: number; to: number }[] = [];
  private readonly stops: (() => void)[] = [];

  constructor(
    private readonly kube: KubeLocal,
    /** The simulated clock, epoch ms. */
    private readonly now: () => number,
    /** Epoch ms of second 0. */
    private readonly origin: number,
  ) {}

  private seconds(ms = this.now()): number {
    return round((ms - this.origin) / 1000);
  }

  /** Takes the cluster as it is now as the starting state (no marks), then follows every change. */
  start(): void {
    for (const node of this.kube.store.list("nodes")) this.addLane(node);
    for (const pod of this.kube.store.list("pods")) this.trackPod(pod);
    this.sample();
    this.stops.push(this.kube.store.subscribe((change) => this.onChange(change.type, change.storage, change.object)));
    this.stops.push(this.kube.stats.subscribe((request) => this.onRequest(request)));
  }

  /** The clock jumped from `fromMs` to `toMs` without waiting. */
  skip(fromMs: number, toMs: number): void {
    if (toMs > fromMs) this.skipped.push({ from: this.seconds(fromMs), to: this.seconds(toMs) });
  }

  /** Stops watching and returns the timeline, completed from the action reports of the run. */
  finish(label: string, reports: readonly ActionReport[]): Timeline {
    for (const stop of this.stops.splice(0)) stop();
    const end = this.seconds();
    const unplaced: UnplacedAction[] = [];
    const byInstance = new Map([...this.lanes.values()].filter((l) => l.instanceId).map((l) => [l.instanceId as string, l]));
    for (const report of reports) {
      const lane = (report.node ? this.lanes.get(report.node) : undefined) ?? byInstance.get(report.instanceId);
      if (!lane) {
        unplaced.push({ at: this.seconds(report.startedAt), kind: report.kind, instanceId: report.instanceId, outcome: report.outcome, ...(report.reason ? { reason: report.reason } : {}) });
        continue;
      }
      this.placeReport(lane, report);
    }
    this.sample();
    const lanes = [...this.lanes.values()];
    for (const lane of lanes) lane.marks.sort((a, b) => a.at - b.at);
    return {
      label,
      origin: new Date(this.origin).toISOString(),
      end: Math.max(end, ...lanes.flatMap((l) => [...l.marks.map((m) => m.at), ...l.deadlines.map((d) => d.drainFinishedAt ?? 0)])),
      skipped: this.skipped,
      lanes,
      pods: this.samples,
      unplaced,
    };
  }

  private placeReport(lane: NodeLane, report: ActionReport): void {
    const followUp = report.kind.startsWith("follow-up:");
    const words = `${report.kind}: ${report.outcome}${report.reason ? ` (${report.reason})` : ""}${report.steps.length ? ` — ${report.steps.join("; ")}` : ""}`;
    lane.marks.push({ at: this.seconds(report.startedAt), kind: followUp ? "follow-up" : "signal", text: words, label: report.kind });
    const drain = report.drain;
    if (drain && !drain.dryRun) {
      const forced = new Set(drain.forceDeleted.map((p) => `${p.namespace}/${p.name}`));
      for (const mark of lane.marks) if (mark.kind === "force-delete" && mark.pod && forced.has(mark.pod)) mark.text = `${mark.pod} deleted with grace 0 at the deadline`;
      // an answer the drain took as final (several budgets, for instance) is a refusal, not a retry
      const failed = new Map(drain.failed.map((f) => [`${f.pod.namespace}/${f.pod.name}`, f.message]));
      for (const mark of lane.marks) {
        if (mark.kind === "eviction-retry" && mark.pod && failed.has(mark.pod) && mark.at <= this.seconds(drain.finishedAt)) {
          mark.kind = "eviction-refused";
          mark.text = `eviction of ${mark.pod} refused: ${failed.get(mark.pod) ?? ""}`;
        }
      }
      lane.marks.push({
        at: this.seconds(drain.finishedAt),
        kind: "drain-finished",
        complete: drain.complete,
        text: drain.complete
          ? `drain finished: ${drain.evicted.length} evicted, ${drain.forceDeleted.length} deleted, nothing left`
          : `drain stopped with ${drain.left.length} pod(s) left: ${drain.left.map((l) => `${l.pod.namespace}/${l.pod.name} (${l.why})`).join("; ")}`,
      });
    }
    if (report.deadline !== undefined && report.outcome !== "skipped") {
      const deadline: DeadlineMark = {
        at: this.seconds(report.deadline),
        eventId: report.eventId,
        kind: report.kind,
        podsLeft: drain?.left.length ?? 0,
        ...(report.deadlineMet !== undefined ? { met: report.deadlineMet } : {}),
        ...(drain && !drain.dryRun ? { drainFinishedAt: this.seconds(drain.finishedAt) } : {}),
        ...(report.secondsLeft !== undefined ? { secondsLeft: round(report.secondsLeft) } : {}),
      };
      // a drain continued over several invocations: the last word on the event's deadline counts
      const earlier = lane.deadlines.findIndex((d) => d.eventId === report.eventId && d.at === deadline.at);
      if (earlier >= 0) lane.deadlines[earlier] = { ...lane.deadlines[earlier], ...deadline };
      else lane.deadlines.push(deadline);
    }
  }

  private addLane(node: KubeObject, joinedAt?: number): NodeLane {
    const name = node.metadata.name ?? "";
    const labels = node.metadata.labels ?? {};
    const instanceId = instanceOf(node);
    const capacityType = labels["eks.amazonaws.com/capacityType"] ?? labels["karpenter.sh/capacity-type"];
    const nodeGroup = labels["eks.amazonaws.com/nodegroup"];
    const lane: NodeLane = {
      node: name,
      ...(instanceId ? { instanceId } : {}),
      ...(capacityType ? { capacityType } : {}),
      ...(nodeGroup ? { nodeGroup } : {}),
      ...(joinedAt !== undefined ? { joinedAt } : {}),
      marks: [],
      deadlines: [],
    };
    this.lanes.set(name, lane);
    this.views.set(name, nodeView(node));
    return lane;
  }

  private onChange(type: "ADDED" | "MODIFIED" | "DELETED", storage: string, object: KubeObject): void {
    if (storage === "nodes") this.onNode(type, object);
    else if (storage === "pods") {
      this.trackPod(type === "DELETED" ? undefined : object, podKey(object));
      this.sample();
    }
  }

  private onNode(type: "ADDED" | "MODIFIED" | "DELETED", node: KubeObject): void {
    const name = node.metadata.name ?? "";
    const at = this.seconds();
    let lane = this.lanes.get(name);
    if (!lane) {
      lane = this.addLane(node, at);
      lane.marks.push({ at, kind: "joined", text: `node ${name} registered` });
      return;
    }
    if (type === "ADDED") {
      // registered again under the same name: the lane goes on
      delete lane.goneAt;
      lane.joinedAt = at;
      this.views.set(name, nodeView(node));
      lane.marks.push({ at, kind: "joined", text: `node ${name} registered again` });
      return;
    }
    if (type === "DELETED") {
      lane.goneAt = at;
      lane.marks.push({ at, kind: "gone", text: `node ${name} deleted` });
      return;
    }
    const before = this.views.get(name) as NodeView;
    const after = nodeView(node);
    this.views.set(name, after);
    for (const [key, value] of after.taints) {
      if (before.taints.get(key) !== value) lane.marks.push({ at, kind: "taint", taint: key, text: `taint ${describeTaint(key, value)} added` });
    }
    for (const [key, value] of before.taints) {
      if (!after.taints.has(key)) lane.marks.push({ at, kind: "untaint", taint: key, text: `taint ${describeTaint(key, value)} removed` });
    }
    if (after.unschedulable !== before.unschedulable) lane.marks.push({ at, kind: after.unschedulable ? "cordon" : "uncordon", text: after.unschedulable ? "cordoned (unschedulable)" : "uncordoned" });
    if (after.ready !== before.ready && after.ready !== undefined) lane.marks.push({ at, kind: after.ready ? "ready" : "not-ready", text: after.ready ? "node Ready" : "node not Ready" });
  }

  /** Follows one pod (undefined: deleted): where it runs, and its state in the counts. */
  private trackPod(pod: KubeObject | undefined, key = pod ? podKey(pod) : ""): void {
    const nodeName = (pod as PodShape | undefined)?.spec?.nodeName;
    if (nodeName) this.podNodes.set(key, nodeName);
    const before = this.podStates.get(key);
    const after = pod && counted(pod) ? podState(pod) : undefined;
    if (before === after) return;
    if (before && before !== "finished") this.counts[before] -= 1;
    if (after && after !== "finished") this.counts[after] += 1;
    if (after) this.podStates.set(key, after);
    else this.podStates.delete(key);
  }

  private sample(): void {
    const at = this.seconds();
    const last = this.samples.at(-1);
    const next = { at, ...this.counts };
    if (last && last.pending === next.pending && last.running === next.running && last.terminating === next.terminating) return;
    if (last && last.at === at) this.samples[this.samples.length - 1] = next;
    else this.samples.push(next);
  }

  private onRequest(request: RequestRecord): void {
    if (!request.name || request.namespace === undefined) return;
    const pod = `${request.namespace}/${request.name}`;
    if (request.resource === "pods/eviction") {
      const mark = this.evictionMark(request, pod);
      if (mark) this.markPod(pod, mark);
    } else if (request.resource === "pods" && request.verb === "delete" && request.status < 300) {
      this.markPod(pod, { kind: "force-delete", text: `${pod} deleted through the API` });
    }
  }

  private evictionMark(request: RequestRecord, pod: string): Omit<LaneMark, "at"> | undefined {
    const { status } = request;
    if (status === 200 || status === 201) return { kind: "eviction", text: `${pod} evicted` };
    // 404: the pod was already gone, which the drain counts as moved; nothing happened on the node
    if (status === 404) return undefined;
    if (status === 429 && request.causes?.includes("DisruptionBudget")) return { kind: "pdb-refusal", text: `eviction of ${pod} refused by its PodDisruptionBudget (429)` };
    if (status === 429 || status >= 500 || status === 409) return { kind: "eviction-retry", text: `eviction of ${pod} failed (HTTP ${status}${request.reason ? ` ${request.reason}` : ""}); tried again` };
    return { kind: "eviction-refused", text: `eviction of ${pod} refused (HTTP ${status}${request.reason ? ` ${request.reason}` : ""})` };
  }

  private markPod(pod: string, mark: Omit<LaneMark, "at">): void {
    const lane = this.lanes.get(this.podNodes.get(pod) ?? "");
    if (lane) lane.marks.push({ at: this.seconds(), pod, ...mark });
  }
}

/** Sum over workload pods of the seconds each spent Pending, from the samples (each holds until the next). */
export function pendingPodSeconds(timeline: Timeline): number {
  let total = 0;
  timeline.pods.forEach((sample, i) => {
    const until = timeline.pods[i + 1]?.at ?? timeline.end;
    total += sample.pending * Math.max(0, until - sample.at - skippedWithin(timeline, sample.at, until));
  });
  return round(total);
}

function skippedWithin(timeline: Timeline, from: number, to: number): number {
  return timeline.skipped.reduce((sum, gap) => sum + Math.max(0, Math.min(to, gap.to) - Math.max(from, gap.from)), 0);
}
