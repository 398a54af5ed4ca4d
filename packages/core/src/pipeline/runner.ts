/**
 * The actions every signal's playbook is made of: resolve the instance within a time budget,
 * protect the node (taint, cordon and the ledger entry, in one guarded patch), drain it within the
 * event's deadline and the function's, hand an unfinished drain to a bounded chain of follow-ups,
 * and report what happened (Kubernetes Events, notifications, outcome events, metrics) — once per
 * event, and nothing at all in a dry run.
 */
import { ANNOTATIONS, EVENT_REASONS, METRICS, type TaintEffect, type TaintPurpose } from "../constants";
import { allSettledOrThrow, KeyedMutex } from "../concurrency";
import { drainNode, type DrainHold, type DrainReport } from "../drain/drain";
import { ClusterRoom } from "../drain/room";
import { BudgetGate } from "../drain/budget-gate";
import { NodeNotFoundError, SkipError } from "../errors";
import type { FollowUpAction } from "../events/types";
import { changeNode, type NodeChangeResult, type NodePlanner } from "../kube/node-state";
import type { Node } from "../kube/types";
import { drainFinishedEvent, lifecycleActionCompletedEvent, nodeProtectedEvent, replacementRequestedEvent, type OutcomeSubject } from "../outcomes/interruption";
import type { PublishSummary } from "../outcomes/publisher";
import type { OutcomeEvent, ReplacementRequest } from "../outcomes/types";
import type { LifecycleResult } from "../aws/lifecycle";
import type { DrainPolicyConfig } from "../policy/policy";
import { replacementComing, Replacements, type ReplacementReport, type ReplacementTrigger } from "../replacement/replacement";
import { resolveTarget, type Target } from "../resolve/resolve-target";
import type { Action } from "./action";
import type { ActionReport, PipelineDeps } from "./context";
import { ledgerEntry, ledgerHas, ledgerWith } from "./ledger";
import { describeTaint, taintFor, taintValue } from "./taints";

/** How long before the function's time is up every Event write is over. */
const EVENTS_END_BEFORE_LIMIT_MS = 2_000;

export interface Protection {
  purpose: TaintPurpose;
  taint: boolean;
  effect: TaintEffect;
  cordon: boolean;
}

export interface DrainPlan {
  /** Epoch ms the event gives: the drain must be over by then. */
  until: number;
  /** The instant that counts as the deadline in reports (instance gone, maintenance start). */
  eventDeadline: number;
  policy: DrainPolicyConfig;
  /** Pods with nowhere else to run stay while replacement capacity boots. */
  hold?: DrainHold;
}

/** A replacement request under way beside the drain, and the hold it puts on the drain. */
export interface ReplacementInFlight {
  outcome: Promise<ReplacementReport | undefined>;
  hold?: DrainHold;
}

export const iso = (ms: number) => new Date(ms).toISOString();

/** Unwinds an action whose drain goes on in a follow-up; the record itself is done. */
export class DrainContinues extends Error {
  override readonly name = "DrainContinues";
}

/** The node group (EKS managed) or Auto Scaling group an instance belongs to. */
export function capacityGroupOf(target: Target): string | undefined {
  return target.instance.tags["eks:nodegroup-name"] ?? target.instance.autoScalingGroup;
}

/** Seconds before the n-th continuation (n from 1): never 0, doubling, capped. */
export function continuationDelaySeconds(attempt: number, policy: { firstDelaySeconds: number; maxDelaySeconds: number }): number {
  return Math.max(1, Math.min(policy.maxDelaySeconds, policy.firstDelaySeconds * 2 ** Math.max(0, attempt - 1)));
}

export class ActionRunner {
  private readonly replacements: Replacements;

  constructor(
    readonly deps: PipelineDeps,
    /** Changes to one node from records handled side by side go one after another, not into conflicts. */
    private readonly nodeLocks = new KeyedMutex(),
    /** Room on the cluster's nodes, one snapshot shared by every drain of this container. */
    private readonly room = new ClusterRoom(deps.kube, { now: deps.now, refreshMs: deps.policy.replacement.roomCheckSeconds * 1000 }),
    /** Evictions budgets refuse, paced per controller across every drain of this container. */
    private readonly budgets = new BudgetGate(),
  ) {
    this.replacements = new Replacements(this);
  }

  /** Another runner over the same node locks and room snapshot, with other dependencies (a drill's marked metrics). */
  sibling(deps: PipelineDeps): ActionRunner {
    return new ActionRunner(deps, this.nodeLocks, this.room, this.budgets);
  }

  get dryRun(): boolean {
    return this.deps.policy.dryRun;
  }

  enabled(action: Action, enabled: boolean): void {
    if (!enabled) throw new SkipError("disabled-by-policy", `${action.event.kind} handling is disabled by policy`);
  }

  /**
   * Finds the instance and its node. Reads may take half of the time left before `by` (when the
   * protection must be in place), so a slow API still leaves the other half for the cordon.
   */
  async resolve(action: Action, by = action.invocation.deadline): Promise<Target> {
    const now = this.deps.now();
    const budget = now + Math.max(2_000, (Math.min(by, action.invocation.deadline) - now) / 2);
    const target = await resolveTarget({ ...this.deps, kube: action.kube.within(budget) }, action.event.instanceId);
    if (target.node) action.bindNode(target.node);
    action.group = capacityGroupOf(target);
    return target;
  }

  requireNode(action: Action, target: Target): Node {
    if (!target.node) throw new NodeNotFoundError(action.event.instanceId, target.lookup);
    return target.node;
  }

  /**
   * Changes a node, one change per node at a time within this container; across containers the
   * resourceVersion guard does it. Uncontended, the change goes straight from the node just read
   * (the fast path to a cordon); a change that had to wait re-reads the node first.
   */
  changeNode(action: Action, node: Node, planner: NodePlanner, by?: number): Promise<NodeChangeResult> {
    const name = node.metadata?.name ?? "";
    const kube = by === undefined ? action.kube : action.kube.within(by);
    const stale = this.nodeLocks.busy(name);
    return this.nodeLocks.run(name, async () => {
      const current = stale ? ((await kube.getNode(name)) ?? node) : node;
      return changeNode(kube, current, planner, { now: () => new Date(this.deps.now()) });
    });
  }

  /**
   * Taints, cordons and writes the event into the node's ledger, in one guarded patch. The
   * delivery whose patch adds the ledger entry is the first; any other one that is not a
   * redelivery of an unfinished receive is a duplicate and changes nothing more (SkipError).
   */
  async protect(action: Action, node: Node, protection: Protection, by?: number): Promise<Node> {
    const { policy } = this.deps;
    const taint = protection.taint ? taintFor(policy.taintStyle, protection.purpose, action.event.eventId, protection.effect) : undefined;
    if (taint) action.step(`taint ${describeTaint(taint)}`);
    if (protection.cordon) action.step(node.spec?.unschedulable ? "cordon (already cordoned)" : "cordon");
    const entry = ledgerEntry(action.phase, action.event.eventId, action.attempt);
    if (this.dryRun) {
      action.firstDelivery = !ledgerHas(node, entry);
      return node;
    }
    const requestsBefore = this.deps.kube.gateway.requests;
    let claimed = false;
    let cordoning = false;
    const result = await this.changeNode(
      action,
      node,
      (current) => {
        claimed = !ledgerHas(current, entry);
        cordoning = protection.cordon && !current.spec?.unschedulable;
        return {
          ...(taint ? { addTaints: [taint] } : {}),
          ...(protection.cordon ? { unschedulable: true } : {}),
          annotations: {
            [ANNOTATIONS.ledger]: ledgerWith(current, entry),
            ...(cordoning ? { [ANNOTATIONS.action]: `${action.event.kind}/${taintValue(action.event.eventId)}` } : {}),
          },
        };
      },
      by,
    );
    action.firstDelivery = claimed && result.changed;
    action.protection = { ...(taint ? { taint } : {}), cordoned: protection.cordon };
    if (protection.cordon) {
      action.report.cordonedAt = this.deps.now();
      // every attempt counts, retries included
      action.report.requestsToCordon = this.deps.kube.gateway.requests - requestsBefore;
      if (cordoning && result.changed) this.deps.metrics.add(METRICS.nodesCordoned, "Count", 1, { kind: action.event.kind });
    }
    if (!action.firstDelivery && !action.redelivery) {
      throw new SkipError("duplicate", `event ${action.event.eventId} (invocation ${action.attempt + 1}) was already acted on node ${node.metadata?.name ?? ""} (found in its ledger); this delivery changes nothing`);
    }
    return result.node;
  }

  /**
   * Asks for the node's replacement capacity beside the drain (never instead of it): the request
   * runs while the drain starts; pods with nowhere else to run are held on the node until room
   * appears, until `holdUntil`, or at once when it turns out no replacement is coming. Undefined
   * when the policy asks for no replacement on this signal; a continuation asks nothing again.
   */
  startReplacement(action: Action, target: Target, node: Node, trigger: ReplacementTrigger, holdUntil?: number): ReplacementInFlight | undefined {
    if (action.continuation || !this.replacements.applies(trigger)) return undefined;
    let settled: ReplacementReport | undefined;
    let done = false;
    const outcome = this.replacements.request(action, target, node, trigger).then((report) => {
      settled = report;
      done = true;
      action.report.replacement = report;
      return report;
    });
    const policy = this.deps.policy.replacement;
    if (holdUntil === undefined || !policy.holdUnplaceablePods || this.dryRun) return { outcome };
    const name = node.metadata?.name ?? "";
    const hold: DrainHold = {
      until: holdUntil,
      pollMs: policy.roomCheckSeconds * 1000,
      admit: (pod) => this.room.admit(pod, name, holdUntil),
      released: () => done && !replacementComing(settled),
    };
    return { outcome, hold };
  }

  async nodeEvent(action: Action, node: Node, reason: string, message: string, type: "Normal" | "Warning" = "Normal"): Promise<void> {
    if (this.dryRun) return;
    await this.deps.recorder.onNode(node, reason, action.event.drill ? `Drill: ${message}` : message, type, { until: this.eventsUntil(action) });
  }

  /**
   * Events are written in the background, and the handler waits for them before it answers: each
   * may take until shortly before the function's own time is up (the hand-over's Events are written
   * inside the time the function keeps for itself at its end).
   */
  private eventsUntil(action: Action): number {
    return action.invocation.deadline - EVENTS_END_BEFORE_LIMIT_MS;
  }

  /**
   * The start is told once per event (first delivery only), with the Node Protected outcome event
   * beside it; the end by whichever invocation finishes the work.
   */
  async notify(action: Action, phase: "start" | "end", extra: Record<string, unknown> = {}): Promise<void> {
    if (this.dryRun || (phase === "start" && !action.reportsStart)) return;
    const protection = action.protection;
    const protectedNode = phase === "start" && action.report.node && protection && (protection.taint || protection.cordoned);
    await allSettledOrThrow([
      this.publishNotification(action, phase, extra),
      protectedNode ? this.publishOutcome(nodeProtectedEvent({ ...this.subject(action), node: action.report.node as string }, protection)) : undefined,
    ]);
  }

  private async publishNotification(action: Action, phase: "start" | "end", extra: Record<string, unknown>): Promise<void> {
    await this.deps.notifier.publish({
      phase,
      cluster: this.deps.clusterName,
      kind: action.event.kind,
      eventId: action.event.eventId,
      instanceId: action.event.instanceId,
      ...(action.report.node ? { node: action.report.node } : {}),
      eventTime: action.event.time.toISOString(),
      ...(action.report.deadline ? { deadline: iso(action.report.deadline) } : {}),
      steps: action.report.steps,
      ...(phase === "end" ? { invocations: action.report.invocations } : {}),
      drill: action.event.drill === true,
      ...extra,
    });
  }

  /** Who an outcome event of this action is about. */
  private subject(action: Action): OutcomeSubject {
    return { cluster: this.deps.clusterName, event: action.event, ...(action.report.node ? { node: action.report.node } : {}), ...(action.group ? { group: action.group } : {}) };
  }

  private async publishOutcome(event: OutcomeEvent | undefined): Promise<PublishSummary | undefined> {
    if (this.dryRun || !event) return undefined;
    return this.deps.outcomes.publish([event]);
  }

  /**
   * Reports replacement capacity asked for because of this event, as a Replacement Requested
   * outcome event. Call it once per event — after the request went through, on the delivery that
   * reports the start (`action.reportsStart`) — never for a request only planned: a dry run
   * publishes nothing. Publishing never fails the action.
   */
  async replacementRequested(action: Action, request: ReplacementRequest): Promise<PublishSummary | undefined> {
    return this.publishOutcome(replacementRequestedEvent(this.subject(action), request));
  }

  /**
   * Completes the event's lifecycle action. Only the call that completed it counts it and publishes
   * Lifecycle Action Completed; one that finds it over (a duplicate, a timeout) reports nothing.
   * Nothing is sent in a dry run.
   */
  async completeLifecycle(action: Action, result: LifecycleResult, why: string, drain?: DrainReport): Promise<"completed" | "already-over" | undefined> {
    const lifecycle = action.event.lifecycle;
    if (this.dryRun || !lifecycle) return undefined;
    const completion = await this.deps.lifecycle.complete(lifecycle, action.event.instanceId, result);
    action.log.info("lifecycle action completed", { result, completion, why });
    if (completion !== "completed") return completion;
    this.deps.metrics.add(METRICS.lifecycleActionsCompleted, "Count", 1, { kind: action.event.kind, result });
    await this.publishOutcome(lifecycleActionCompletedEvent(this.subject(action), { result, why, ...(drain ? { drainComplete: drain.complete } : {}) }));
    return completion;
  }

  /** Publishes Drain Finished for a drain that is over (complete, or ended with pods left). */
  private async drainFinished(action: Action, node: string, report: DrainReport, deadline: number): Promise<void> {
    await this.publishOutcome(drainFinishedEvent({ ...this.subject(action), node }, { report, deadline, invocations: action.attempt + 1 }));
  }

  /** Counts the invocations an event took, once its work is over. */
  settled(action: Action): void {
    if (!this.dryRun) this.deps.metrics.add(METRICS.invocationsPerEvent, "Count", action.attempt + 1, { kind: action.event.kind });
  }

  /**
   * Drains within the event's deadline and the function's. A drain the function's time limit cut
   * short while pods can still move goes on in a follow-up, a few seconds later and a little
   * later each time, at most `continuation.maxInvocations` invocations in all.
   */
  async drain(action: Action, node: Node, plan: DrainPlan): Promise<DrainReport> {
    const { deps } = this;
    const log = action.bindNode(node);
    const lambdaLimit = action.invocation.deadline - deps.policy.lambdaReserveSeconds * 1000;
    const limitedByLambda = lambdaLimit < plan.until;
    const deadline = Math.min(plan.until, lambdaLimit);
    const policy = limitedByLambda ? { ...plan.policy, atDeadline: "leave" as const } : plan.policy;
    action.step(`drain before ${iso(deadline)}${policy.atDeadline === "delete" ? " (delete what is left then)" : ""}`);
    // the other records of the batch cordon their nodes before this one's evictions begin
    await action.invocation.cordonFirst?.beforeDrain();
    const name = node.metadata?.name ?? "";
    if (!action.continuation) await this.nodeEvent(action, node, EVENT_REASONS.drainStarted, `Draining ${name} for ${action.event.kind} ${action.event.eventId}; deadline ${iso(plan.eventDeadline)}`);
    const report = await drainNode({ kube: action.kube, now: deps.now, sleep: deps.sleep, random: deps.random, log, budgets: this.budgets }, { node: name, deadline, policy, dryRun: this.dryRun, ...(plan.hold ? { hold: plan.hold } : {}) });
    action.report.drain = report;
    if (report.held.length > 0) {
      deps.metrics.add(METRICS.podsHeldForRoom, "Count", report.held.length, { kind: action.event.kind });
      log.info("pods held until room appeared", { held: report.held.map((h) => `${h.pod.namespace}/${h.pod.name}: ${h.seconds} s, released by ${h.releasedBy}`) });
    }
    if (this.dryRun) {
      action.step(`evict ${report.remaining.length} pods: ${report.remaining.map((p) => `${p.namespace}/${p.name}`).join(", ") || "none"}`);
      return report;
    }
    const seconds = (report.finishedAt - report.startedAt) / 1000;
    const secondsLeft = (plan.eventDeadline - report.finishedAt) / 1000;
    action.report.secondsLeft = secondsLeft;
    action.report.deadlineMet = report.complete && report.finishedAt <= plan.eventDeadline;
    const dims = { kind: action.event.kind };
    deps.metrics.add(METRICS.podsEvicted, "Count", report.evicted.length, dims);
    deps.metrics.add(METRICS.podsForceDeleted, "Count", report.forceDeleted.length, dims);
    deps.metrics.add(METRICS.evictionsBlockedByPdb, "Count", report.blockedByPdb, dims);
    deps.metrics.add(METRICS.drainSeconds, "Seconds", seconds, dims);
    log.info("drain finished", {
      evicted: report.evicted.length,
      forceDeleted: report.forceDeleted.length,
      blockedByPdb: report.blockedByPdb,
      left: report.left.map((l) => `${l.pod.namespace}/${l.pod.name}: ${l.why}`),
      seconds,
      secondsLeft,
      apiRequests: report.apiRequests,
    });
    await this.podEvents(action, name, report);
    if (report.complete) {
      deps.metrics.add(METRICS.secondsLeftAtFinish, "Seconds", secondsLeft, dims);
      await this.nodeEvent(action, node, EVENT_REASONS.drainSucceeded, `Drained ${name}: ${report.evicted.length} pods evicted, ${report.forceDeleted.length} deleted, ${secondsLeft.toFixed(1)} s before the deadline`);
      await this.drainFinished(action, name, report, plan.eventDeadline);
      return report;
    }
    const outOfTime = limitedByLambda && deps.now() >= lambdaLimit - 1_000;
    if (outOfTime && report.retryable.length > 0) {
      const invocations = action.attempt + 1;
      const delaySeconds = continuationDelaySeconds(invocations, deps.policy.continuation);
      const due = deps.now() + delaySeconds * 1000;
      if (invocations < deps.policy.continuation.maxInvocations && due < plan.until) {
        await this.nodeEvent(
          action,
          node,
          EVENT_REASONS.drainIncomplete,
          `Drain of ${name} continues in invocation ${invocations + 1} (in ${delaySeconds} s): ${report.retryable.length} pods still to move, ${report.blockedByPdb} evictions refused by PodDisruptionBudgets`,
          "Warning",
        );
        // a fresh message, not a redelivery: a long drain must not use up the queue's receive count
        await this.scheduleFollowUp(action, "continue-drain", new Date(due), action.attempt + 1);
        throw new DrainContinues(`drain of ${name} unfinished at the function's time limit (${report.retryable.length} pods left); it continues in invocation ${invocations + 1}`);
      }
      log.warn("drain not continued", { invocations, maxInvocations: deps.policy.continuation.maxInvocations, due: iso(due), until: iso(plan.until) });
    }
    deps.metrics.add(METRICS.podsLeft, "Count", report.left.length, dims);
    deps.metrics.add(METRICS.deadlineMisses, "Count", 1, dims);
    // and once without the kind: what the alarm watches (alarms cannot search over dimensions)
    deps.metrics.add(METRICS.deadlineMisses, "Count", 1);
    const why = report.left
      .slice(0, 10)
      .map((l) => `${l.pod.namespace}/${l.pod.name} (${l.why})`)
      .join("; ");
    const more = report.left.length > 10 ? `; and ${report.left.length - 10} more` : "";
    const past = deps.now() >= plan.until;
    await this.nodeEvent(
      action,
      node,
      past ? EVENT_REASONS.deadlineMissed : EVENT_REASONS.drainIncomplete,
      `${past ? `Drain of ${name} missed its deadline ${iso(plan.eventDeadline)}` : `Drain of ${name} ended incomplete`}: ${report.left.length} pods left: ${why}${more}`,
      "Warning",
    );
    await this.drainFinished(action, name, report, plan.eventDeadline);
    return report;
  }

  private async podEvents(action: Action, node: string, report: DrainReport): Promise<void> {
    const { deps } = this;
    if (!deps.policy.podEvents) return;
    const until = this.eventsUntil(action);
    for (const pod of report.evicted) await deps.recorder.onPod(pod, EVENT_REASONS.evicted, `Evicted by spot-manager: ${action.event.kind} of ${action.event.instanceId} (node ${node}, event ${action.event.eventId})`, "Normal", { until });
    for (const pod of report.forceDeleted) await deps.recorder.onPod(pod, EVENT_REASONS.forceDeleted, `Deleted with grace 0 at the ${action.event.kind} deadline of node ${node}`, "Warning", { until });
  }

  /**
   * An event that arrives after its deadline starts nothing: no taint, no cordon, no eviction.
   * Only the deadline policy applies to what is left — deleted with grace 0 under `delete`,
   * acknowledged as it is under `leave`.
   */
  async applyDeadlinePolicy(action: Action, node: Node, plan: DrainPlan): Promise<ActionReport> {
    if (plan.policy.atDeadline !== "delete") {
      throw new SkipError("stale-event", `received after its deadline ${iso(plan.until)}; the deadline policy leaves what is on the node`);
    }
    action.step("past the deadline: delete what is left (the deadline policy)");
    const name = node.metadata?.name ?? "";
    const report = await drainNode(
      { kube: action.kube, now: this.deps.now, sleep: this.deps.sleep, random: this.deps.random, log: action.bindNode(node) },
      { node: name, deadline: this.deps.now(), policy: plan.policy, dryRun: this.dryRun },
    );
    action.report.drain = report;
    if (!this.dryRun && report.forceDeleted.length > 0) {
      this.deps.metrics.add(METRICS.podsForceDeleted, "Count", report.forceDeleted.length, { kind: action.event.kind });
      await this.podEvents(action, name, report);
      // a late delivery that deleted something ends a drain too; one that found nothing left reports nothing
      await this.drainFinished(action, name, report, plan.eventDeadline);
    }
    return action.finish("done", `received after its deadline: ${report.forceDeleted.length} pods deleted, ${report.left.length} left`);
  }

  /** What a notification says of a drain: what moved, and each pod left with why. */
  drainSummary(report: DrainReport | undefined): Record<string, unknown> {
    if (!report) return {};
    return {
      drain: {
        evicted: report.evicted.length,
        forceDeleted: report.forceDeleted.length,
        blockedByPdb: report.blockedByPdb,
        remaining: report.remaining.map((p) => `${p.namespace}/${p.name}`),
        left: report.left.map((l) => ({ pod: `${l.pod.namespace}/${l.pod.name}`, reason: l.reason, why: l.why })),
        failed: report.failed.map((f) => `${f.pod.namespace}/${f.pod.name}: ${f.message}`),
        refused: report.refused.map((r) => `${r.pod.namespace}/${r.pod.name}: ${r.reason}`),
        seconds: (report.finishedAt - report.startedAt) / 1000,
        complete: report.complete,
      },
    };
  }

  async scheduleFollowUp(action: Action, kind: FollowUpAction, due: Date, attempt = 0): Promise<void> {
    action.step(`follow up (${kind}) at ${due.toISOString()}`);
    if (this.dryRun) return;
    const via = await this.deps.followUps.schedule({ action: kind, event: action.event, due, attempt });
    action.log.info("follow-up scheduled", { followUp: kind, due: due.toISOString(), attempt, ...via });
  }

  /**
   * Keeps the lifecycle hook alive while `work` runs: a heartbeat when the drain starts, one per
   * interval, and one at the hand-over to a continuation (which therefore sends none at its start).
   */
  async withHeartbeats<T>(action: Action, work: () => Promise<T>): Promise<T> {
    const lifecycle = action.event.lifecycle;
    if (!lifecycle || this.dryRun) return work();
    const interval = this.deps.policy.asgTerminate.heartbeatIntervalSeconds * 1000;
    if (!action.continuation) await this.deps.lifecycle.heartbeat(lifecycle, action.event.instanceId);
    // a heartbeat under way when the work ends is waited for: it must not run on into the next invocation
    const beating = new Set<Promise<unknown>>();
    const timer = setInterval(() => {
      const beat = this.deps.lifecycle
        .heartbeat(lifecycle, action.event.instanceId)
        .catch((error: unknown) => action.log.warn("lifecycle heartbeat failed", { error: (error as Error).message }))
        .finally(() => beating.delete(beat));
      beating.add(beat);
    }, interval);
    try {
      return await work();
    } catch (error) {
      // the drain goes on in a follow-up: give the hook a fresh timeout for the hand-over
      if (error instanceof DrainContinues) await this.deps.lifecycle.heartbeat(lifecycle, action.event.instanceId).catch(() => undefined);
      throw error;
    } finally {
      clearInterval(timer);
      await Promise.all(beating);
    }
  }

  /** Runs a playbook; a drain handed to a follow-up ends it as `continuing`. */
  async continuing(action: Action, run: () => Promise<ActionReport>): Promise<ActionReport> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof DrainContinues) return action.finish("continuing", error.message);
      throw error;
    }
  }
}
