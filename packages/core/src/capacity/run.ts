/**
 * One run of the capacity manager: observe, plan, apply (or only report, in dry run), notify on
 * fallback start and end, and account for it in logs and metrics. A group that cannot be read,
 * planned or changed is reported and the others go ahead.
 */
import { METRICS } from "../constants";
import { errorMessage } from "../errors";
import type { Log, Metrics } from "../observability";
import type { CapacityWriter } from "./apply";
import { CAPACITY_METRICS } from "./constants";
import type { CapacityNotifier } from "./notify";
import type { StateSource } from "./observe";
import { planCapacity, type CapacityAction, type FallbackTransition, type GroupFailure, type GroupPlan } from "./planner";
import type { CapacityPolicy } from "./policy";
import { toSnapshot } from "./state";

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

/** applied: sent; dry-run: only reported; failed: the group's change did not go through (see failures). */
export type CapacityActionStatus = "applied" | "dry-run" | "failed";

export type CapacityActionReport = CapacityAction & { status: CapacityActionStatus };

export interface CapacityRunReport {
  at: string;
  dryRun: boolean;
  actions: CapacityActionReport[];
  failures: (GroupFailure & { stage: "plan" | "apply" })[];
  /** Fallback starts and ends that took effect (or would have, in dry run). */
  transitions: FallbackTransition[];
  groups: GroupPlan[];
  /** What was observed, as a snapshot `spot-manager plan-capacity --state` reads. */
  state: Record<string, unknown>;
}

/** Observes, plans and applies once (see the module comment). */
export async function runCapacity(deps: CapacityRunDeps, policy: CapacityPolicy, options: CapacityRunOptions): Promise<CapacityRunReport> {
  const { log, metrics } = deps;
  const now = deps.now();
  const at = new Date(now);
  const state = await deps.source.observe(policy, now);
  const plan = planCapacity(policy, state, at);
  const failures: CapacityRunReport["failures"] = plan.failures.map((failure) => ({ ...failure, stage: "plan" as const }));
  for (const failure of plan.failures) {
    log.error("capacity group not planned", { group: failure.group, error: failure.error });
    metrics.add(CAPACITY_METRICS.groupFailures, "Count", 1, { group: failure.group });
    // and once without the group: what the alarm watches (alarms cannot search over dimensions)
    metrics.add(CAPACITY_METRICS.groupFailures, "Count", 1);
  }

  const reports: CapacityActionReport[] = [];
  const failed = new Set<string>();
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
      continue;
    }
    for (const action of actions) log.info("capacity decision", { ...context, kind: action.kind, from: action.from, to: action.to, reason: action.reason, dryRun: options.dryRun });
    if (options.dryRun) {
      reports.push(...actions.map((action) => ({ ...action, status: "dry-run" as const })));
      continue;
    }
    const observed = state.groups[group.group];
    try {
      if (!observed) throw new Error("no observed state");
      await deps.writer.applyGroup(group, observed, actions);
      reports.push(...actions.map((action) => ({ ...action, status: "applied" as const })));
      for (const action of actions) metrics.add(CAPACITY_METRICS.actionsApplied, "Count", 1, { group: group.group, kind: action.kind });
    } catch (error) {
      failed.add(group.group);
      reports.push(...actions.map((action) => ({ ...action, status: "failed" as const })));
      failures.push({ group: group.group, error: errorMessage(error), stage: "apply" });
      log.error("capacity change failed", { group: group.group, error: errorMessage(error) });
      metrics.add(CAPACITY_METRICS.groupFailures, "Count", 1, { group: group.group });
      metrics.add(CAPACITY_METRICS.groupFailures, "Count", 1);
    }
  }

  const transitions = plan.transitions.filter((transition) => !failed.has(transition.onDemandGroup));
  for (const transition of transitions) {
    const fields = { group: transition.onDemandGroup, spotGroups: transition.spotGroups, extra: transition.extra, reason: transition.reason, dryRun: options.dryRun };
    log.info(transition.phase === "start" ? "spot fallback started" : "spot fallback ended", fields);
    if (options.dryRun) continue;
    metrics.add(CAPACITY_METRICS.fallbackTransitions, "Count", 1, { group: transition.onDemandGroup, phase: transition.phase });
    await deps.notifier.publish({ ...transition, cluster: options.clusterName, at: at.toISOString() });
  }

  log.info("capacity run finished", { actions: reports.length, failures: failures.length, dryRun: options.dryRun });
  return { at: at.toISOString(), dryRun: options.dryRun, actions: reports, failures, transitions, groups: plan.groups, state: toSnapshot(state, at) };
}
