/**
 * One run of the capacity manager: observe, plan, apply (or only report, in dry run), notify on
 * fallback start and end, and account for it in logs and metrics. A group that cannot be read,
 * planned or changed is reported and the others go ahead.
 *
 * A fallback's start or end is published once the on-demand group's change went through, then
 * recorded on the group (spot-manager/fallback-announced): a change that failed midway delays the
 * notification to the run that completes it, and no run publishes one that was recorded.
 */
import { METRICS } from "../constants";
import { errorMessage } from "../errors";
import type { Log, Metrics } from "../observability";
import type { ActionOutcome, CallOutcome, CapacityWriter } from "./apply";
import { CAPACITY_METRICS, CAPACITY_TAGS } from "./constants";
import type { CapacityNotifier } from "./notify";
import type { StateSource } from "./observe";
import { planCapacity, type CapacityAction, type FallbackTransition, type GroupFailure, type GroupPlan } from "./planner";
import type { CapacityPolicy } from "./policy";
import { toSnapshot, type ObservedGroup } from "./state";

export interface CapacityRunDeps {
  source: StateSource;
  writer: CapacityWriter;
  notifier: CapacityNotifier;
  log: Log;
  metrics: Metrics;
  now: () => number;
}

export interface CapacityRunOptions {
  clusterName: string;
  /** Plan and report; send nothing and notify no one. */
  dryRun: boolean;
}

/**
 * applied: every call it needed went through; failed: a call was refused (see `calls`); not-sent:
 * an earlier action of its group failed, so it was not attempted; dry-run: only reported.
 */
export type CapacityActionStatus = ActionOutcome["status"] | "dry-run";

export type CapacityActionReport = CapacityAction & { status: CapacityActionStatus; calls?: CallOutcome[]; error?: string };

/**
 * published: sent to the topic and recorded on the group; waiting: the on-demand group's change
 * has not gone through yet, it is published once it has; publish-failed: the topic refused it, the
 * next run publishes it again; record-failed: published, but the mark could not be written, so the
 * next run publishes it again (with the same id); dry-run: only reported.
 */
export type TransitionStatus = "published" | "waiting" | "publish-failed" | "record-failed" | "dry-run";

export type TransitionReport = Omit<FallbackTransition, "record" | "since"> & { since: string; id: string; status: TransitionStatus; error?: string };

export interface CapacityRunReport {
  at: string;
  dryRun: boolean;
  actions: CapacityActionReport[];
  failures: (GroupFailure & { stage: "plan" | "apply" | "announce" })[];
  /** Fallback starts and ends due for publication, and what became of each. */
  transitions: TransitionReport[];
  groups: GroupPlan[];
  /** What was observed, as a snapshot `spot-manager plan-capacity --state` reads. */
  state: Record<string, unknown>;
}

/** The id a transition is published with: the same on every attempt, so a repeat can be recognized. */
export function transitionId(cluster: string, transition: FallbackTransition): string {
  return `${cluster}/${transition.onDemandGroup}/${transition.phase}/${transition.since.toISOString()}`;
}

/** Observes, plans and applies once (see the module comment). */
export async function runCapacity(deps: CapacityRunDeps, policy: CapacityPolicy, options: CapacityRunOptions): Promise<CapacityRunReport> {
  const { log, metrics } = deps;
  const now = deps.now();
  const at = new Date(now);
  const state = await deps.source.observe(policy, now);
  const plan = planCapacity(policy, state, at);
  const failures: CapacityRunReport["failures"] = plan.failures.map((failure) => ({ ...failure, stage: "plan" as const }));
  const countFailure = (group: string) => {
    metrics.add(CAPACITY_METRICS.groupFailures, "Count", 1, { group });
    // and once without the group: what the alarm watches (alarms cannot search over dimensions)
    metrics.add(CAPACITY_METRICS.groupFailures, "Count", 1);
  };
  for (const failure of plan.failures) {
    log.error("capacity group not planned", { group: failure.group, error: failure.error });
    countFailure(failure.group);
  }

  const reports: CapacityActionReport[] = [];
  /** Groups whose planned change went through completely this run (or needed none). */
  const inPlace = new Set<string>();
  for (const group of plan.groups) {
    const actions = plan.actions.filter((action) => action.group === group.group);
    metrics.add(METRICS.groupInService, "Count", group.observed.inService, { group: group.group, capacityType: group.capacityType });
    if (group.fallback?.role === "on-demand") metrics.add(CAPACITY_METRICS.fallbackExtra, "Count", group.fallback.extra, { group: group.group });
    const context = { group: group.group, schedule: group.schedule.entry, target: group.target, ...(group.fallback ? { fallback: group.fallback.phase, fallbackReason: group.fallback.reason } : {}) };
    if (group.busy) {
      log.info("capacity group left alone", { ...context, reason: group.busy });
      continue;
    }
    if (actions.length === 0) {
      log.info("capacity group in place", context);
      inPlace.add(group.group);
      continue;
    }
    for (const action of actions) log.info("capacity decision", { ...context, kind: action.kind, from: action.from, to: action.to, reason: action.reason, dryRun: options.dryRun });
    if (options.dryRun) {
      reports.push(...actions.map((action) => ({ ...action, status: "dry-run" as const })));
      continue;
    }
    const observed = state.groups[group.group] as ObservedGroup;
    const outcomes = await deps.writer.applyGroup(group, observed, actions);
    for (const outcome of outcomes) {
      reports.push({ ...outcome.action, status: outcome.status, calls: outcome.calls, ...(outcome.error ? { error: outcome.error } : {}) });
      if (outcome.status === "applied") metrics.add(CAPACITY_METRICS.actionsApplied, "Count", 1, { group: group.group, kind: outcome.action.kind });
    }
    const failed = outcomes.find((outcome) => outcome.status === "failed");
    if (!failed) {
      inPlace.add(group.group);
      continue;
    }
    const error = failed.error ?? "failed";
    failures.push({ group: group.group, error, stage: "apply" });
    log.error("capacity change failed", {
      group: group.group,
      error,
      calls: outcomes.flatMap((o) => o.calls),
      notSent: outcomes.filter((o) => o.status === "not-sent").map((o) => o.action.kind),
    });
    countFailure(group.group);
  }

  const transitions: TransitionReport[] = [];
  const blocked = new Set<string>();
  for (const transition of plan.transitions) {
    const { record: _record, since, ...rest } = transition;
    const id = transitionId(options.clusterName, transition);
    const report = (status: TransitionStatus, error?: string) => transitions.push({ ...rest, since: since.toISOString(), id, status, ...(error ? { error } : {}) });
    const group = transition.onDemandGroup;
    const fields = { group, spotGroups: transition.spotGroups, extra: transition.extra, since: since.toISOString(), id, reason: transition.reason, dryRun: options.dryRun };
    if (options.dryRun) {
      log.info(transition.phase === "start" ? "spot fallback starts" : "spot fallback ends", fields);
      report("dry-run");
      continue;
    }
    if (!inPlace.has(group) || blocked.has(group)) {
      // published once the change it announces went through, so it never claims more than happened
      log.info("spot fallback transition waits for its change", fields);
      report("waiting");
      blocked.add(group);
      continue;
    }
    try {
      await deps.notifier.publish({ phase: transition.phase, cluster: options.clusterName, onDemandGroup: group, spotGroups: transition.spotGroups, extra: transition.extra, reason: transition.reason, since: since.toISOString(), id, at: at.toISOString() });
    } catch (error) {
      log.error("spot fallback transition not published; the next run publishes it", { ...fields, error: errorMessage(error) });
      report("publish-failed", errorMessage(error));
      blocked.add(group);
      continue;
    }
    log.info(transition.phase === "start" ? "spot fallback started" : "spot fallback ended", fields);
    metrics.add(CAPACITY_METRICS.fallbackTransitions, "Count", 1, { group, phase: transition.phase });
    const groupPlan = plan.groups.find((g) => g.group === group) as GroupPlan;
    const [recorded] = await deps.writer.applyGroup(groupPlan, state.groups[group] as ObservedGroup, [transition.record]);
    if (recorded?.status === "applied") {
      report("published");
      continue;
    }
    const error = `the ${transition.phase} was published but ${CAPACITY_TAGS.announced} could not be written (${recorded?.error ?? "not sent"}); the next run publishes it again with id ${id}`;
    log.error("spot fallback transition not recorded", { ...fields, error });
    failures.push({ group, error, stage: "announce" });
    countFailure(group);
    report("record-failed", error);
    blocked.add(group);
  }

  log.info("capacity run finished", { actions: reports.length, failures: failures.length, dryRun: options.dryRun });
  return { at: at.toISOString(), dryRun: options.dryRun, actions: reports, failures, transitions, groups: plan.groups, state: toSnapshot(state, at) };
}
