/**
 * What must hold whatever the schedule did, watched on every change the cluster stores and
 * checked after every step:
 * - a node with an active interruption, termination or maintenance taint is never uncordoned or
 *   untainted (a stop or hibernate interruption whose instance runs again excepted);
 * - no pod is evicted or deleted, and no node tainted, because of an event that does not apply
 *   (foreign, stale, wrong state) or after its deadline (but by the deadline policy);
 * - invocations per event stay within the bound;
 * - each event id counts once in metrics, notifications, Events and the interruption count;
 * - a report says complete only when no evictable pod is left;
 * - nothing is lost: every record ends acted on, acknowledged with a logged reason, or in the DLQ.
 */
import { PublishCommand } from "@aws-sdk/client-sns";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { PROTECTIVE_TAINT_KEYS, taintValue, type Policy, type Recorder } from "@spot-manager/core";
import type { KubeLocal, KubeObject } from "@spot-manager/kube-local";
import type { AwsWorld } from "../simulate/aws-world";
import type { QueuedMessage } from "./run";
import type { Emission, Step } from "./schedule";

export interface Violation {
  seed?: number;
  step: number;
  at: string;
  invariant: string;
  detail: string;
}

interface Taint {
  key: string;
  value?: string;
  effect: string;
}

/** Deletions the deadline policy makes come a moment after the deadline. */
const DEADLINE_POLICY_SLACK_MS = 60_000;
/** An eviction already on the wire when the window closed still counts. */
const IN_FLIGHT_SLACK_MS = 5_000;

const SIGNAL_EVENT_REASONS: Record<string, string> = {
  SpotInterruption: "EC2 Spot Instance Interruption Warning",
  ASGLifecycleTermination: "EC2 Instance-terminate Lifecycle Action",
  InstanceStopping: "EC2 Instance State-change Notification",
  ScheduledMaintenance: "AWS Health Event",
};

const taintsOf = (node: KubeObject | undefined): Taint[] => ((node?.["spec"] as { taints?: Taint[] } | undefined)?.taints ?? []) as Taint[];
const unschedulable = (node: KubeObject | undefined) => Boolean((node?.["spec"] as { unschedulable?: boolean } | undefined)?.unschedulable);
const protective = (node: KubeObject | undefined) => taintsOf(node).filter((t) => PROTECTIVE_TAINT_KEYS.includes(t.key));
const podKey = (pod: KubeObject) => `${pod.metadata.namespace}/${pod.metadata.name}/${pod.metadata.uid}`;

export class Invariants {
  readonly violations: Violation[] = [];
  private step = 0;
  private readonly instanceOfNode = new Map<string, string>();
  private readonly lastNodes = new Map<string, KubeObject>();
  private readonly evictedPods = new Set<string>();
  private readonly deletionStarted = new Set<string>();
  private readonly acks: { message: QueuedMessage; from: number }[] = [];
  private notificationsSeen = 0;
  private readonly notified = new Map<string, { start: number; end: number }>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly kube: KubeLocal,
    private readonly aws: AwsWorld,
    private readonly recorder: Recorder,
    private readonly now: () => number,
    private readonly emissions: readonly Emission[],
    private readonly policy: Policy,
  ) {
    for (const node of kube.list("nodes")) {
      const instance = /\/(i-[0-9a-f]+)$/.exec(String((node["spec"] as { providerID?: string }).providerID ?? ""))?.[1];
      if (instance) this.instanceOfNode.set(node.metadata.name ?? "", instance);
      this.lastNodes.set(node.metadata.name ?? "", node);
    }
    this.unsubscribe = kube.store.subscribe((change) => {
      if (change.storage === "nodes" && change.type === "MODIFIED") this.nodeChanged(change.object);
      if (change.storage === "pods") this.podChanged(change.object, change.type);
    });
  }

  private violation(invariant: string, detail: string): void {
    this.violations.push({ step: this.step, at: new Date(this.now()).toISOString(), invariant, detail });
  }

  private emissionOfTaint(instance: string | undefined, value: string | undefined): Emission | undefined {
    return this.emissions.find((e) => e.instanceId === instance && taintValue(e.eventId) === value);
  }

  private nodeChanged(node: KubeObject): void {
    const name = node.metadata.name ?? "";
    const before = this.lastNodes.get(name);
    this.lastNodes.set(name, node);
    const instance = this.instanceOfNode.get(name);
    const now = this.now();
    for (const gone of protective(before).filter((t) => !taintsOf(node).some((n) => n.key === t.key && n.value === t.value))) {
      const emission = this.emissionOfTaint(instance, gone.value);
      const ec2 = instance ? this.aws.instances.get(instance) : undefined;
      const restarted = emission?.restorable === true && ec2?.state === "running" && (ec2.launchTime?.getTime() ?? 0) > emission.at;
      if (!restarted) this.violation("never untaint a node going away", `${name}: ${gone.key}=${gone.value ?? ""} removed while its instance is ${ec2?.state ?? "unknown"}`);
    }
    if (protective(node).length > 0 && unschedulable(before) && !unschedulable(node)) {
      this.violation("never uncordon a node going away", `${name} uncordoned while it carries ${protective(node).map((t) => `${t.key}=${t.value ?? ""}`).join(", ")}`);
    }
    for (const added of protective(node).filter((t) => !taintsOf(before).some((b) => b.key === t.key && b.value === t.value))) {
      const emission = this.emissionOfTaint(instance, added.value);
      if (!emission?.drainWindow) this.violation("no action on an event that does not apply", `${name}: ${added.key}=${added.value ?? ""} set for an event that does not apply`);
      else if (emission.deadline !== undefined && now > emission.deadline + IN_FLIGHT_SLACK_MS) {
        this.violation("nothing after the deadline but its policy", `${name}: ${added.key} set ${Math.round((now - emission.deadline) / 1000)} s after the deadline of event ${emission.eventId}`);
      }
    }
  }

  private podChanged(pod: KubeObject, type: string): void {
    const key = podKey(pod);
    const conditions = ((pod["status"] as { conditions?: { type: string; reason?: string }[] } | undefined)?.conditions ?? []);
    if (conditions.some((c) => c.type === "DisruptionTarget" && c.reason === "EvictionByEvictionAPI")) this.evictedPods.add(key);
    const starting = (type === "DELETED" || pod.metadata.deletionTimestamp !== undefined) && !this.deletionStarted.has(key);
    if (!starting) return;
    this.deletionStarted.add(key);
    const node = (pod["spec"] as { nodeName?: string } | undefined)?.nodeName ?? "";
    const instance = this.instanceOfNode.get(node);
    if (!instance || !this.isSpot(instance)) return;
    const now = this.now();
    const windows = this.emissions.filter((e) => e.instanceId === instance && e.drainWindow);
    const inside = windows.some((e) => now >= e.drainWindow![0] - IN_FLIGHT_SLACK_MS && now <= e.drainWindow![1] + DEADLINE_POLICY_SLACK_MS);
    if (!inside) {
      this.violation(
        windows.length === 0 ? "no action on an event that does not apply" : "nothing after the deadline but its policy",
        `${pod.metadata.namespace}/${pod.metadata.name} on ${node} began terminating at ${new Date(now).toISOString()} (windows: ${windows.map((e) => `${new Date(e.drainWindow![0]).toISOString()}..${new Date(e.drainWindow![1]).toISOString()}`).join(", ") || "none"})`,
      );
    }
  }

  private isSpot(instance: string): boolean {
    return this.aws.instances.get(instance)?.lifecycle === "spot";
  }

  ec2Changed(_instance: string): void {
    // the state is read where a taint goes away: nothing to keep here
  }

  /** A record the function acknowledged; `from` is where the log stood when its delivery began. */
  acknowledged(message: QueuedMessage, from: number): void {
    this.acks.push({ message, from });
  }

  deadLettered(_message: QueuedMessage): void {
    // in the dead-letter queue: not lost
  }

  /** Notifications sent by the deliveries just made: each event starts and ends once; "complete" means no pod is left. */
  afterDelivery(): void {
    const calls = this.aws.sns.commandCalls(PublishCommand);
    for (const call of calls.slice(this.notificationsSeen)) {
      const message = JSON.parse(call.args[0].input.Message ?? "{}") as { eventId?: string; phase?: "start" | "end"; node?: string; drain?: { complete?: boolean } };
      const counts = this.notified.get(message.eventId ?? "") ?? { start: 0, end: 0 };
      if (message.phase) counts[message.phase] += 1;
      this.notified.set(message.eventId ?? "", counts);
      if (message.phase && counts[message.phase] > 1) this.violation("each event counts once", `event ${message.eventId ?? ""}: ${counts[message.phase]} ${message.phase} notifications`);
      if (message.phase === "end" && message.drain?.complete === true && message.node && unschedulable(this.kube.get("nodes", undefined, message.node))) {
        const left = this.kube
          .list("pods")
          .filter((p) => (p["spec"] as { nodeName?: string }).nodeName === message.node)
          .filter((p) => !(p.metadata.ownerReferences ?? []).some((o) => o.kind === "DaemonSet") && p.metadata.annotations?.["kubernetes.io/config.mirror"] === undefined);
        if (left.length > 0) this.violation("complete only when no evictable pod is left", `${message.node} reported drained with ${left.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(", ")} on it`);
      }
    }
    this.notificationsSeen = calls.length;
  }

  /** Counts after every step: the interruption count, evictions, the signal's Events, invocations per event. */
  check(_step: Step, number: number): void {
    this.step = number;
    const applicableSpot = this.emissions.filter((e) => e.kind === "EC2 Spot Instance Interruption Warning" && e.drainWindow).length;
    const spotCount = this.recorder.total("SpotInterruptions");
    if (spotCount > applicableSpot) this.violation("each event counts once", `SpotInterruptions counted ${spotCount} for ${applicableSpot} spot warnings that apply`);
    const podsEvicted = this.recorder.total("PodsEvicted");
    if (podsEvicted > this.evictedPods.size) this.violation("each event counts once", `PodsEvicted counted ${podsEvicted}, pods evicted ${this.evictedPods.size}`);
    for (const [reason, detailType] of Object.entries(SIGNAL_EVENT_REASONS)) {
      for (const [node, instance] of this.instanceOfNode) {
        const events = this.kube.list("events").filter((e) => e["reason"] === reason && (e["involvedObject"] as { name?: string }).name === node);
        const applicable = this.emissions.filter((e) => e.instanceId === instance && e.kind === detailType && e.drainWindow).length;
        const recorded = events.reduce((n, e) => n + (typeof e["count"] === "number" ? e["count"] : 1), 0);
        if (recorded > applicable) this.violation("each event counts once", `${node}: ${recorded} ${reason} Events for ${applicable} events that apply`);
      }
    }
    const bound = this.policy.continuation.maxInvocations;
    if (this.maxInvocationsPerEvent() > bound) this.violation("invocations per event within the bound", `an event took ${this.maxInvocationsPerEvent()} invocations (bound ${bound})`);
  }

  /** The most invocations any event's drain took: the highest continuation scheduled, plus one. */
  maxInvocationsPerEvent(): number {
    let max = 0;
    for (const call of this.aws.sqs.commandCalls(SendMessageCommand)) {
      try {
        const body = JSON.parse(call.args[0].input.MessageBody ?? "{}") as { detail?: { action?: string; attempt?: number } };
        if (body.detail?.action === "continue-drain") max = Math.max(max, (body.detail.attempt ?? 0) + 1);
      } catch {
        // not a follow-up
      }
    }
    return Math.max(1, max);
  }

  /** Every acknowledged record has its report or its logged reason; the rest is in the queue or the DLQ. */
  finish(_queue: readonly QueuedMessage[], _acked: readonly QueuedMessage[]): void {
    this.unsubscribe();
    const accounted = new Set(["action finished", "event acknowledged without action"]);
    for (const { message, from } of this.acks) {
      const said = this.recorder.lines.slice(from).some((line) => {
        const extra = line.extra;
        if (line.message.startsWith("record sent to the dead-letter queue")) return extra["messageId"] === message.messageId;
        return accounted.has(line.message) && (extra["eventId"] === message.eventId || extra["eventId"] === message.messageId);
      });
      if (!said) this.violation("nothing is lost", `message ${message.messageId} (event ${message.eventId}) acknowledged without a report or a logged reason`);
    }
  }
}
