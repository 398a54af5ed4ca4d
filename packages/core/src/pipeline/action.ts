/** One action on one event (or follow-up): its report, its log context, its time budget and its accounting. */
import type { InterruptionEvent } from "../events/types";
import type { KubeApi } from "../kube/api";
import type { Node, Taint } from "../kube/types";
import type { Log } from "../observability";
import { contextualLog, type ActionReport, type Invocation, type PipelineDeps } from "./context";

export class Action {
  readonly report: ActionReport;
  readonly log: Log;
  /** The Kubernetes API, every request bounded by the function's own limit. */
  readonly kube: KubeApi;
  /**
   * Whether this delivery is the first to act on the event (its ledger entry was written by this
   * invocation); undefined until the node is protected. Only the first counts, notifies and records.
   */
  firstDelivery: boolean | undefined;
  /** The node group or Auto Scaling group of the instance, once resolved. */
  group: string | undefined;
  /** What protecting the node put on it for this event (the taint, the cordon), once protected. */
  protection: { taint?: Taint; cordoned: boolean } | undefined;
  private readonly requestsAtStart: number;

  constructor(
    readonly deps: PipelineDeps,
    readonly event: InterruptionEvent,
    readonly invocation: Invocation,
    kind: string,
    /** Which invocation of this event's work this is: 0 for the event itself, n for its n-th continuation. */
    readonly attempt = 0,
    /** The part of the event's work this is, as the node's ledger names it: the kind, or the kind and a follow-up. */
    readonly phase: string = event.kind,
  ) {
    this.requestsAtStart = deps.kube.gateway.requests;
    this.kube = deps.kube.within(invocation.deadline);
    this.report = {
      eventId: event.eventId,
      kind,
      instanceId: event.instanceId,
      outcome: "done",
      steps: [],
      startedAt: deps.now(),
      finishedAt: 0,
      kubeRequests: 0,
      dryRun: deps.policy.dryRun,
      invocations: attempt + 1,
      ...(event.deadline ? { deadline: event.deadline.getTime() } : {}),
    };
    this.log = contextualLog(deps.log, { eventId: event.eventId, instanceId: event.instanceId, kind, ...(attempt > 0 ? { invocation: attempt + 1 } : {}) });
  }

  get dryRun(): boolean {
    return this.deps.policy.dryRun;
  }

  /** A drain picked up again after an earlier invocation ran out of time: no second start. */
  get continuation(): boolean {
    return this.attempt > 0;
  }

  /** The queue delivered this very message before, and that receive did not finish: resume its work. */
  get redelivery(): boolean {
    return (this.invocation.receiveCount ?? 1) > 1;
  }

  /** Whether this invocation reports the start of the event (counts, notifications, the signal's Event). */
  get reportsStart(): boolean {
    return !this.dryRun && !this.continuation && this.firstDelivery === true;
  }

  step(description: string): void {
    this.report.steps.push(this.dryRun ? `would ${description}` : description);
  }

  /** The log, bound to the node once it is known. */
  bindNode(node: Node): Log {
    this.report.node = node.metadata?.name ?? "";
    return contextualLog(this.log, { node: this.report.node });
  }

  finish(outcome: ActionReport["outcome"], reason?: string): ActionReport {
    this.report.outcome = this.dryRun && outcome === "done" ? "dry-run" : outcome;
    if (reason) this.report.reason = reason;
    this.report.finishedAt = this.deps.now();
    this.report.kubeRequests = this.deps.kube.gateway.requests - this.requestsAtStart;
    return this.report;
  }
}
