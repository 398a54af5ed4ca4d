/**
 * The interruption pipeline: parse -> resolve -> decide -> act -> record, for one normalized event
 * or follow-up. Every step is idempotent (the taint with the event id is the state), so a
 * redelivered event finishes the work and never repeats harm.
 */
import { ANNOTATIONS, EVENT_REASONS, METRICS, OUT_OF_SERVICE_TAINT, type TaintEffect, type TaintPurpose } from "../constants";
import { drainNode, type DrainReport } from "../drain/drain";
import { NodeNotFoundError, SkipError, UnknownInstanceError } from "../errors";
import type { FollowUp, FollowUpAction, InterruptionEvent } from "../events/types";
import { KeyedMutex, mapWithLimit } from "../concurrency";
import { changeNode, hasTaint, type NodeChange, type NodeChangeResult } from "../kube/node-state";
import type { Node } from "../kube/types";
import type { Log } from "../observability";
import type { DrainPolicyConfig } from "../policy/policy";
import { resolveTarget, type Target } from "../resolve/resolve-target";
import { contextualLog, type ActionReport, type Invocation, type PipelineDeps } from "./context";
import { describeTaint, taintFor, taintKey, taintValue } from "./taints";

interface Protection {
  purpose: TaintPurpose;
  taint: boolean;
  effect: TaintEffect;
  cordon: boolean;
}

interface DrainPlan {
  /** Epoch ms the event gives: the drain must be over by then. */
  until: number;
  /** The instant that counts as the deadline in reports (instance gone, maintenance start). */
  eventDeadline: number;
  policy: DrainPolicyConfig;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The node group (EKS managed) or Auto Scaling group an instance belongs to. */
function capacityGroupOf(target: Target): string | undefined {
  return target.instance.tags["eks:nodegroup-name"] ?? target.instance.autoScalingGroup;
}

/** Unwinds an action whose drain goes on in a follow-up; the record itself is done. */
class DrainContinues extends Error {
  override readonly name = "DrainContinues";
}

/** Runs one action with its own report, log context and accounting. */
class Action {
  readonly report: ActionReport;
  readonly log: Log;
  private readonly requestsAtStart: number;

  constructor(
    readonly deps: PipelineDeps,
    readonly event: InterruptionEvent,
    readonly invocation: Invocation,
    kind: string,
    /** A drain picked up again after an earlier invocation ran out of time: no second start. */
    readonly continuation = false,
    readonly attempt = 0,
  ) {
    this.requestsAtStart = deps.kube.gateway.requests;
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
      ...(event.deadline ? { deadline: event.deadline.getTime() } : {}),
    };
    this.log = contextualLog(deps.log, { eventId: event.eventId, instanceId: event.instanceId, kind });
  }

  get dryRun(): boolean {
    return this.deps.policy.dryRun;
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

export class InterruptionPipeline {
  /** Changes to one node from records handled side by side go one after another, not into conflicts. */
  private readonly nodeLocks = new KeyedMutex();

  constructor(private readonly deps: PipelineDeps) {}

  /**
   * Changes a node, one change per node at a time. Uncontended, the change goes straight from the
   * node just read (the fast path to a cordon); a change that had to wait re-reads the node first.
   */
  private changeNodeSerialized(node: Node, change: NodeChange): Promise<NodeChangeResult> {
    const name = node.metadata?.name ?? "";
    const stale = this.nodeLocks.busy(name);
    return this.nodeLocks.run(name, async () => {
      const current = stale ? ((await this.deps.kube.getNode(name)) ?? node) : node;
      return changeNode(this.deps.kube, current, change, { now: () => new Date(this.deps.now()) });
    });
  }

  /** Acts on one normalized event; throws SkipError (acknowledge) or RetryError (back to the queue). */
  async handleEvent(event: InterruptionEvent, invocation: Invocation): Promise<ActionReport> {
    const { metrics } = this.deps;
    metrics.add(METRICS.eventsReceived, "Count", 1, { kind: event.kind });
    const action = new Action(this.deps, event, invocation, event.kind);
    action.log.info("event received", { time: event.time.toISOString(), deadline: event.deadline?.toISOString() });
    return this.continuing(action, () => this.byKind(action));
  }

  private byKind(action: Action): Promise<ActionReport> {
    switch (action.event.kind) {
      case "spot-interruption":
        return this.spotInterruption(action);
      case "rebalance-recommendation":
        return this.rebalance(action);
      case "asg-terminate":
        return this.asgTerminate(action);
      case "asg-launch":
        return this.asgLaunch(action);
      case "state-change":
        return this.stateChange(action);
      case "scheduled-change":
        return action.continuation ? this.maintenanceDrain(action) : this.scheduledChange(action);
    }
  }

  /** Runs an action; a drain handed to a follow-up ends it as `continuing`. */
  private async continuing(action: Action, run: () => Promise<ActionReport>): Promise<ActionReport> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof DrainContinues) return action.finish("continuing", error.message);
      throw error;
    }
  }

  /** Acts on a follow-up the pipeline scheduled earlier. */
  async handleFollowUp(followUp: FollowUp, invocation: Invocation): Promise<ActionReport> {
    const action = new Action(this.deps, followUp.event, invocation, `follow-up:${followUp.action}`, followUp.action === "continue-drain", followUp.attempt);
    if (followUp.due.getTime() > this.deps.now() + 1_000) {
      // arrived early (a hop of a long wait): put it back until due
      await this.scheduleFollowUp(action, followUp.action, followUp.due, followUp.attempt);
      return action.finish("scheduled", `not due until ${followUp.due.toISOString()}`);
    }
    switch (followUp.action) {
      case "remove-rebalance-taint":
        return this.removeRebalanceTaint(action);
      case "drain-for-maintenance":
        return this.continuing(action, () => this.maintenanceDrain(action));
      case "check-launch-ready":
        return this.asgLaunch(action, followUp.attempt);
      case "continue-drain":
        return this.continuing(action, () => this.byKind(action));
    }
  }

  private enabled(action: Action, enabled: boolean): void {
    if (!enabled) throw new SkipError("disabled-by-policy", `${action.event.kind} handling is disabled by policy`);
  }

  private async resolve(action: Action): Promise<Target> {
    const target = await resolveTarget(this.deps, action.event.instanceId);
    if (target.node) action.bindNode(target.node);
    return target;
  }

  private requireNode(action: Action, target: Target): Node {
    if (!target.node) throw new NodeNotFoundError(action.event.instanceId, target.lookup);
    return target.node;
  }

  /** Taints and cordons in one request; reports how many requests it took after resolution. */
  private async protect(action: Action, node: Node, protection: Protection): Promise<Node> {
    const { policy } = this.deps;
    const taint = protection.taint ? taintFor(policy.taintStyle, protection.purpose, action.event.eventId, protection.effect) : undefined;
    if (taint) action.step(`taint ${describeTaint(taint)}`);
    const cordonNow = protection.cordon && !node.spec?.unschedulable;
    if (protection.cordon) action.step(node.spec?.unschedulable ? "cordon (already cordoned)" : "cordon");
    if (this.dryRun) return node;
    const requestsBefore = this.deps.kube.gateway.requests;
    const change: NodeChange = {
      ...(taint ? { addTaints: [taint] } : {}),
      ...(protection.cordon ? { unschedulable: true } : {}),
      ...(cordonNow ? { annotations: { [ANNOTATIONS.action]: `${action.event.kind}/${taintValue(action.event.eventId)}` } } : {}),
    };
    const result = await this.changeNodeSerialized(node, change);
    if (protection.cordon) {
      action.report.cordonedAt = this.deps.now();
      // every attempt counts, retries included
      action.report.requestsToCordon = this.deps.kube.gateway.requests - requestsBefore;
      if (cordonNow && result.changed) this.deps.metrics.add(METRICS.nodesCordoned, "Count", 1, { kind: action.event.kind });
    }
    return result.node;
  }

  private get dryRun(): boolean {
    return this.deps.policy.dryRun;
  }

  private async notify(action: Action, phase: "start" | "end", extra: Record<string, unknown> = {}): Promise<void> {
    if (this.dryRun || (phase === "start" && action.continuation)) return;
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
      ...extra,
    });
  }

  private async nodeEvent(action: Action, node: Node, reason: string, message: string, type: "Normal" | "Warning" = "Normal"): Promise<void> {
    if (this.dryRun) return;
    await this.deps.recorder.onNode(node, reason, message, type);
  }

  /** Drains within the event's deadline and the invocation's; unfinished work returns to the queue. */
  private async drain(action: Action, node: Node, plan: DrainPlan): Promise<DrainReport> {
    const { deps } = this;
    const log = action.bindNode(node);
    const lambdaLimit = action.invocation.deadline - deps.policy.lambdaReserveSeconds * 1000;
    const limitedByLambda = lambdaLimit < plan.until;
    const deadline = Math.min(plan.until, lambdaLimit);
    const policy = limitedByLambda ? { ...plan.policy, atDeadline: "leave" as const } : plan.policy;
    action.step(`drain before ${iso(deadline)}${policy.atDeadline === "delete" ? " (delete what is left then)" : ""}`);
    const name = node.metadata?.name ?? "";
    if (!this.dryRun) await this.nodeEvent(action, node, EVENT_REASONS.drainStarted, `Draining ${name} for ${action.event.kind} ${action.event.eventId}; deadline ${iso(plan.eventDeadline)}`);
    const report = await drainNode(
      { kube: deps.kube, now: deps.now, sleep: deps.sleep, random: deps.random, log },
      { node: name, deadline, policy, dryRun: this.dryRun },
    );
    action.report.drain = report;
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
      remaining: report.remaining.length,
      failed: report.failed.length,
      seconds,
      secondsLeft,
      apiRequests: report.apiRequests,
    });
    if (deps.policy.podEvents) {
      const notes = [
        ...report.evicted.map((pod) => () => deps.recorder.onPod(pod, EVENT_REASONS.evicted, `Evicted by spot-manager: ${action.event.kind} of ${action.event.instanceId} (node ${name}, event ${action.event.eventId})`)),
        ...report.forceDeleted.map((pod) => () => deps.recorder.onPod(pod, EVENT_REASONS.forceDeleted, `Deleted with grace 0 at the ${action.event.kind} deadline of node ${name}`, "Warning")),
      ];
      await mapWithLimit(notes, 16, (write) => write());
    }
    if (report.complete) {
      deps.metrics.add(METRICS.secondsLeftAtFinish, "Seconds", secondsLeft, dims);
      await this.nodeEvent(action, node, EVENT_REASONS.drainSucceeded, `Drained ${name}: ${report.evicted.length} pods evicted, ${report.forceDeleted.length} deleted, ${secondsLeft.toFixed(1)} s before the deadline`);
      return report;
    }
    if (limitedByLambda && deps.now() < plan.until) {
      await this.nodeEvent(action, node, EVENT_REASONS.drainIncomplete, `Drain of ${name} continues: ${report.remaining.length} pods still to move, ${report.blockedByPdb} evictions refused by PodDisruptionBudgets`, "Warning");
      // a fresh message, not a redelivery: a long drain must not use up the queue's receive count
      await this.scheduleFollowUp(action, "continue-drain", new Date(deps.now()), action.attempt + 1);
      throw new DrainContinues(`drain of ${name} unfinished at the function's time limit (${report.remaining.length} pods left); it continues in a follow-up`);
    }
    deps.metrics.add(METRICS.deadlineMisses, "Count", 1, dims);
    // and once without the kind: what the alarm watches (alarms cannot search over dimensions)
    deps.metrics.add(METRICS.deadlineMisses, "Count", 1);
    await this.nodeEvent(
      action,
      node,
      EVENT_REASONS.deadlineMissed,
      `Drain of ${name} missed its deadline ${iso(plan.eventDeadline)}: ${report.remaining.length} pods left, ${report.failed.length} failed, ${report.refused.length} refused by policy, ${report.blockedByPdb} evictions refused by PodDisruptionBudgets`,
      "Warning",
    );
    return report;
  }

  private drainSummary(report: DrainReport | undefined): Record<string, unknown> {
    if (!report) return {};
    return {
      drain: {
        evicted: report.evicted.length,
        forceDeleted: report.forceDeleted.length,
        blockedByPdb: report.blockedByPdb,
        remaining: report.remaining.map((p) => `${p.namespace}/${p.name}`),
        failed: report.failed.map((f) => `${f.pod.namespace}/${f.pod.name}: ${f.message}`),
        refused: report.refused.map((r) => `${r.pod.namespace}/${r.pod.name}: ${r.reason}`),
        seconds: (report.finishedAt - report.startedAt) / 1000,
        complete: report.complete,
      },
    };
  }

  private async scheduleFollowUp(action: Action, kind: FollowUpAction, due: Date, attempt = 0): Promise<void> {
    action.step(`follow up (${kind}) at ${due.toISOString()}`);
    if (this.dryRun) return;
    const via = await this.deps.followUps.schedule({ action: kind, event: action.event, due, attempt });
    action.log.info("follow-up scheduled", { followUp: kind, due: due.toISOString(), ...via });
  }

  // --- per kind -------------------------------------------------------------------------------

  private async spotInterruption(action: Action): Promise<ActionReport> {
    const policy = this.deps.policy.spotInterruption;
    this.enabled(action, policy.enabled);
    const target = await this.resolve(action);
    let node = this.requireNode(action, target);
    const eventDeadline = (action.event.deadline ?? action.event.time).getTime();
    const seenBefore = hasTaint(node, taintKey(this.deps.policy.taintStyle, "spotInterruption"), taintValue(action.event.eventId));
    node = await this.protect(action, node, { purpose: "spotInterruption", taint: policy.taint, effect: policy.taintEffect, cordon: policy.cordon });
    // the capacity manager acts on this count: once per interruption, never for a redelivery, a continuation or a dry run
    const group = capacityGroupOf(target);
    if (group && !this.dryRun && !action.continuation && !seenBefore) this.deps.metrics.add(METRICS.spotInterruptions, "Count", 1, { group });
    await this.nodeEvent(action, node, EVENT_REASONS.spotInterruption, `Spot interruption warning (${action.event.spotAction ?? "terminate"}) for ${action.event.instanceId}; capacity is reclaimed at ${iso(eventDeadline)}`, "Warning");
    await this.notify(action, "start");
    const report = policy.drain
      ? await this.drain(action, node, { until: eventDeadline - policy.safetyMarginSeconds * 1000, eventDeadline, policy: policy.drainPolicy })
      : undefined;
    await this.notify(action, "end", { outcome: "done", ...this.drainSummary(report), deadlineMet: action.report.deadlineMet, secondsLeft: action.report.secondsLeft });
    return action.finish("done");
  }

  private async rebalance(action: Action): Promise<ActionReport> {
    const policy = this.deps.policy.rebalanceRecommendation;
    this.enabled(action, policy.enabled);
    const target = await this.resolve(action);
    let node = this.requireNode(action, target);
    node = await this.protect(action, node, { purpose: "rebalance", taint: policy.taint, effect: policy.taintEffect, cordon: policy.cordon });
    await this.nodeEvent(action, node, EVENT_REASONS.rebalanceRecommendation, `Rebalance recommendation for ${action.event.instanceId}: elevated risk of interruption`);
    await this.notify(action, "start");
    let report: DrainReport | undefined;
    if (policy.drain) {
      const until = action.invocation.deadline;
      report = await this.drain(action, node, { until, eventDeadline: until, policy: policy.drainPolicy });
    }
    if (policy.taint && policy.removeTaintAfterSeconds > 0) {
      await this.scheduleFollowUp(action, "remove-rebalance-taint", new Date(action.event.time.getTime() + policy.removeTaintAfterSeconds * 1000));
    }
    await this.notify(action, "end", { outcome: "done", ...this.drainSummary(report) });
    return action.finish("done");
  }

  private async removeRebalanceTaint(action: Action): Promise<ActionReport> {
    const { policy } = this.deps;
    const target = await this.resolve(action);
    const node = this.requireNode(action, target);
    if (hasTaint(node, taintKey(policy.taintStyle, "spotInterruption"))) {
      action.step("keep the rebalance taint: an interruption followed");
      return action.finish("skipped", "an interruption followed the recommendation");
    }
    const key = taintKey(policy.taintStyle, "rebalance");
    const value = taintValue(action.event.eventId);
    if (!hasTaint(node, key, value)) return action.finish("skipped", "the taint of this recommendation is no longer there");
    action.step(`remove taint ${key}=${value}`);
    // uncordon only what this recommendation cordoned, and only while nothing else needs the cordon
    const otherPurposes = (["spotInterruption", "asgTermination", "scheduledMaintenance", "instanceStopping"] as const).map((p) => taintKey(policy.taintStyle, p));
    const weCordoned = node.metadata?.annotations?.[ANNOTATIONS.action] === `rebalance-recommendation/${value}` && !otherPurposes.some((k) => hasTaint(node, k));
    if (weCordoned) action.step("uncordon");
    if (!this.dryRun) {
      const result = await this.changeNodeSerialized(node, {
        removeTaints: [{ key, onlyIfValue: value }],
        ...(weCordoned ? { unschedulable: false, annotations: { [ANNOTATIONS.action]: null } } : {}),
      });
      await this.nodeEvent(action, result.node, EVENT_REASONS.taintRemoved, `No interruption followed the rebalance recommendation ${action.event.eventId}; taint ${key} removed`);
    }
    return action.finish("done");
  }

  private async asgTerminate(action: Action): Promise<ActionReport> {
    const policy = this.deps.policy.asgTerminate;
    this.enabled(action, policy.enabled);
    const lifecycle = action.event.lifecycle;
    if (!lifecycle) throw new SkipError("malformed-event", "lifecycle action without hook details");
    const target = await this.resolve(action);
    let report: DrainReport | undefined;
    if (target.node) {
      let node = await this.protect(action, target.node, { purpose: "asgTermination", taint: policy.taint, effect: policy.taintEffect, cordon: policy.cordon });
      await this.nodeEvent(action, node, EVENT_REASONS.asgTermination, `Auto Scaling group ${lifecycle.asgName} is terminating ${action.event.instanceId} (hook ${lifecycle.hookName})`, "Warning");
      await this.notify(action, "start");
      if (policy.drain) {
        const until = action.event.time.getTime() + policy.maxDrainSeconds * 1000;
        report = await this.withHeartbeats(action, () => this.drain(action, node, { until, eventDeadline: until, policy: policy.drainPolicy }));
        node = (await this.deps.kube.getNode(node.metadata?.name ?? "")) ?? node;
      }
    } else {
      action.log.info("no node for the instance: nothing to drain", { lookup: target.lookup });
      action.step("nothing to drain (no node)");
    }
    action.step(`complete lifecycle action ${policy.result}`);
    if (!this.dryRun) {
      const completion = await this.deps.lifecycle.complete(lifecycle, action.event.instanceId, policy.result);
      this.deps.metrics.add(METRICS.lifecycleActionsCompleted, "Count", 1, { kind: action.event.kind, result: policy.result });
      action.log.info("lifecycle action completed", { result: policy.result, completion });
    }
    await this.notify(action, "end", { outcome: "done", lifecycleResult: policy.result, ...this.drainSummary(report) });
    return action.finish("done");
  }

  /** Keeps the lifecycle hook alive while `work` runs. */
  private async withHeartbeats<T>(action: Action, work: () => Promise<T>): Promise<T> {
    const lifecycle = action.event.lifecycle;
    if (!lifecycle || this.dryRun) return work();
    const interval = this.deps.policy.asgTerminate.heartbeatIntervalSeconds * 1000;
    await this.deps.lifecycle.heartbeat(lifecycle, action.event.instanceId);
    const timer = setInterval(() => {
      this.deps.lifecycle.heartbeat(lifecycle, action.event.instanceId).catch((error: unknown) => action.log.warn("lifecycle heartbeat failed", { error: (error as Error).message }));
    }, interval);
    try {
      return await work();
    } catch (error) {
      // the drain goes on in a follow-up: give the hook a fresh timeout for the hand-over
      if (error instanceof DrainContinues) await this.deps.lifecycle.heartbeat(lifecycle, action.event.instanceId).catch(() => undefined);
      throw error;
    } finally {
      clearInterval(timer);
    }
  }

  private async asgLaunch(action: Action, attempt = 0): Promise<ActionReport> {
    const policy = this.deps.policy.asgLaunch;
    this.enabled(action, policy.enabled);
    const lifecycle = action.event.lifecycle;
    if (!lifecycle) throw new SkipError("malformed-event", "lifecycle action without hook details");
    // right after launch EC2 may not describe the instance yet: that is "not registered", not unknown
    const target = await this.resolve(action).catch((error: unknown) => {
      if (error instanceof UnknownInstanceError) return undefined;
      throw error;
    });
    const ready = (target?.node?.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
    const timedOut = this.deps.now() >= action.event.time.getTime() + policy.readyTimeoutSeconds * 1000;
    if (!ready && !timedOut) {
      await this.scheduleFollowUp(action, "check-launch-ready", new Date(this.deps.now() + policy.checkIntervalSeconds * 1000), attempt + 1);
      return action.finish("scheduled", target?.node ? "node not Ready yet" : "node not registered yet");
    }
    const result = ready ? "CONTINUE" : policy.onTimeout;
    action.step(`complete lifecycle action ${result}${ready ? " (node Ready)" : ` (not Ready after ${policy.readyTimeoutSeconds} s)`}`);
    if (!this.dryRun) {
      await this.deps.lifecycle.complete(lifecycle, action.event.instanceId, result);
      this.deps.metrics.add(METRICS.lifecycleActionsCompleted, "Count", 1, { kind: action.event.kind, result });
      if (target?.node) await this.nodeEvent(action, target.node, EVENT_REASONS.asgLaunch, `Launch lifecycle action of ${lifecycle.asgName} completed: ${result}`);
    }
    return action.finish("done");
  }

  private async stateChange(action: Action): Promise<ActionReport> {
    const policy = this.deps.policy.stateChange;
    this.enabled(action, policy.enabled);
    const state = action.event.state;
    if (state === "terminated") return this.terminated(action);
    if (!state || !(policy.drainOn as string[]).includes(state)) {
      throw new SkipError("not-applicable", `instance state ${state ?? "unknown"} needs no action`);
    }
    const target = await this.resolve(action);
    let node = this.requireNode(action, target);
    node = await this.protect(action, node, { purpose: "instanceStopping", taint: policy.taint, effect: policy.taintEffect, cordon: policy.cordon });
    await this.nodeEvent(action, node, EVENT_REASONS.instanceStopping, `Instance ${action.event.instanceId} is ${state}`, "Warning");
    await this.notify(action, "start");
    const until = action.event.time.getTime() + policy.drainSeconds * 1000;
    action.report.deadline = until;
    const report = policy.drain ? await this.drain(action, node, { until, eventDeadline: until, policy: policy.drainPolicy }) : undefined;
    await this.notify(action, "end", { outcome: "done", ...this.drainSummary(report) });
    return action.finish("done");
  }

  private async terminated(action: Action): Promise<ActionReport> {
    const target = await this.resolve(action).catch((error: unknown) => {
      // a terminated instance may already be unknown to EC2: there is nothing left to act on
      if (error instanceof SkipError && error.reason === "unknown-instance") return undefined;
      throw error;
    });
    const node = target?.node;
    if (!node) {
      action.step("record (no node left)");
      return action.finish("done", "instance terminated; no node left");
    }
    action.step("record");
    await this.nodeEvent(action, node, EVENT_REASONS.instanceTerminated, `Instance ${action.event.instanceId} is terminated`);
    if (this.deps.policy.stateChange.outOfServiceTaint) {
      action.step(`taint ${describeTaint(OUT_OF_SERVICE_TAINT)}`);
      if (!this.dryRun) {
        const result = await this.changeNodeSerialized(node, { addTaints: [OUT_OF_SERVICE_TAINT] });
        if (result.changed) await this.nodeEvent(action, result.node, EVENT_REASONS.outOfService, `Instance ${action.event.instanceId} is gone: node marked out of service so its pods can move`, "Warning");
      }
    }
    return action.finish("done");
  }

  private async scheduledChange(action: Action): Promise<ActionReport> {
    const policy = this.deps.policy.scheduledChange;
    this.enabled(action, policy.enabled);
    const target = await this.resolve(action);
    let node = this.requireNode(action, target);
    node = await this.protect(action, node, { purpose: "scheduledMaintenance", taint: policy.taint, effect: policy.taintEffect, cordon: policy.cordon });
    const start = action.event.scheduled?.startTime ?? action.event.deadline ?? action.event.time;
    await this.nodeEvent(action, node, EVENT_REASONS.scheduledMaintenance, `${action.event.scheduled?.eventTypeCode ?? "Scheduled maintenance"} for ${action.event.instanceId} starts ${start.toISOString()}`, "Warning");
    await this.notify(action, "start", { maintenanceStart: start.toISOString() });
    if (!policy.drain) return action.finish("done");
    const due = new Date(start.getTime() - policy.leadSeconds * 1000);
    if (due.getTime() > this.deps.now() + 1_000) {
      await this.scheduleFollowUp(action, "drain-for-maintenance", due);
      return action.finish("scheduled", `drain scheduled for ${due.toISOString()}`);
    }
    const report = await this.drain(action, node, this.maintenancePlan(start));
    await this.notify(action, "end", { outcome: "done", ...this.drainSummary(report) });
    return action.finish("done");
  }

  private maintenancePlan(start: Date): DrainPlan {
    // a start already past still gets a short, bounded drain
    const until = Math.max(start.getTime(), this.deps.now() + 60_000);
    return { until, eventDeadline: until, policy: this.deps.policy.scheduledChange.drainPolicy };
  }

  private async maintenanceDrain(action: Action): Promise<ActionReport> {
    const policy = this.deps.policy.scheduledChange;
    this.enabled(action, policy.enabled);
    if (!policy.drain) throw new SkipError("disabled-by-policy", "draining for scheduled maintenance is disabled by policy");
    const target = await this.resolve(action);
    let node = this.requireNode(action, target);
    node = await this.protect(action, node, { purpose: "scheduledMaintenance", taint: policy.taint, effect: policy.taintEffect, cordon: policy.cordon });
    const start = action.event.scheduled?.startTime ?? action.event.deadline ?? new Date(this.deps.now());
    const report = await this.drain(action, node, this.maintenancePlan(start));
    await this.notify(action, "end", { outcome: "done", ...this.drainSummary(report) });
    return action.finish("done");
  }
}

