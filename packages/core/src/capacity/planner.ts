/**
 * The capacity planner: (policy, observed state, now) -> the actions that bring every group to
 * its schedule and fallback, each with its reason. Pure and idempotent: a group already where it
 * should be gets no action. A group whose state is missing or bad is reported and skipped; the
 * others are planned.
 *
 * Per group: the schedule entry in force sets min and max; an on-demand group covering for spot
 * gets the fallback's extra on its min (and max, where the floor passes it). `desired` belongs to
 * Cluster Autoscaler and the HPA: it is only moved into the new bounds, and raised (never lowered)
 * to the floor a window names when that window opens, once per opening (recorded in the
 * spot-manager/window tag, even when desired was already above the floor).
 *
 * Actions of a group are listed in the order they must be applied: the fallback memory first (so a
 * failed change is retried from the recorded intent), then min/max/desired, then the window mark
 * (only once the desired it records was set).
 *
 * Fallback transitions are what is still to be published: a start whose fallback is recorded but
 * not yet announced (spot-manager/fallback-announced), an end whose start was announced. The run
 * publishes them once the on-demand group's change went through, then records each with the tag
 * action it carries; until then every plan lists them again, so none is lost or sent twice.
 */
import { errorMessage } from "../errors";
import { BROKEN_NODEGROUP_STATES, BUSY_NODEGROUP_STATES, CAPACITY_TAGS } from "./constants";
import { GroupStateError } from "./errors";
import { decideFallback, holdFallback, spotHealth, type FallbackDecision, type FallbackPhase } from "./fallback";
import { announcedValue, fallbackTagsOf, memoryTags, readAnnounced, readMemory, sameTags, type FallbackMemory } from "./memory";
import type { Bounds, CapacityPolicy, FallbackRule, GroupPolicy, GroupType } from "./policy";
import { resolveSchedule, type ScheduleEntry } from "./schedule";
import type { ObservedGroup, ObservedState } from "./state";
import { formatWall } from "./zone";

export type ScalingKind = "min" | "max" | "desired";

export interface ScalingAction {
  group: string;
  kind: ScalingKind;
  from: number;
  to: number;
  reason: string;
}

/** Tags to write (`to`) and remove (keys of `from` missing in `to`). */
export interface TagsAction {
  group: string;
  kind: "tags";
  from: Record<string, string>;
  to: Record<string, string>;
  reason: string;
}

export type CapacityAction = ScalingAction | TagsAction;

export interface Sizes {
  min: number;
  max: number;
  desired: number;
}

export interface GroupPlan {
  group: string;
  type: GroupType;
  capacityType: GroupPolicy["capacityType"];
  schedule: { entry: string; timeZone: string; openedAt?: Date; bounds: Bounds };
  observed: Sizes & { inService: number };
  target: Sizes;
  /** The fallback rule this group is part of: as the group that covers, or as one it covers for. */
  fallback?: { role: "on-demand" | "spot"; onDemandGroup: string; phase: FallbackPhase; extra: number; reason: string };
  /** Why nothing is sent to this group this run (an update already under way). */
  busy?: string;
}

export interface GroupFailure {
  group: string;
  error: string;
}

export interface FallbackTransition {
  phase: "start" | "end";
  onDemandGroup: string;
  spotGroups: string[];
  /** Instances the fallback holds above the schedule after this transition (0 for an end). */
  extra: number;
  /** When the fallback this transition belongs to started. */
  since: Date;
  reason: string;
  /** Written once the transition was published: marks it as announced. */
  record: TagsAction;
}

export interface CapacityPlan {
  at: Date;
  actions: CapacityAction[];
  groups: GroupPlan[];
  failures: GroupFailure[];
  transitions: FallbackTransition[];
}

const isBusy = (group: ObservedGroup) => group.status !== undefined && (BUSY_NODEGROUP_STATES as readonly string[]).includes(group.status);
const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));

/** The group's observed state, checked; throws GroupStateError when it is missing or cannot be right. */
function checkObserved(name: string, state: ObservedState): ObservedGroup {
  const group = state.groups[name];
  if (!group) throw new GroupStateError(name, state.errors?.[name] ?? "no state observed for this group");
  for (const field of ["min", "max", "desired", "inService"] as const) {
    const value = group[field];
    if (!Number.isInteger(value) || value < 0) throw new GroupStateError(name, `${field} is ${String(value)}, not a whole number >= 0`);
  }
  if (group.min > group.max || group.desired < group.min || group.desired > group.max) {
    throw new GroupStateError(name, `desired ${group.desired} is not within min..max ${group.min}..${group.max}`);
  }
  if (group.status && (BROKEN_NODEGROUP_STATES as readonly string[]).includes(group.status)) throw new GroupStateError(name, `node group is ${group.status}`);
  return group;
}

function describeSchedule(schedule: ScheduleEntry): string {
  if (!schedule.openedAt) return "default bounds (no window open)";
  return `window ${schedule.entry} (opened ${formatWall(schedule.openedAt.getTime(), schedule.timeZone)} ${schedule.timeZone})`;
}

interface RuleOutcome {
  rule: FallbackRule;
  decision: FallbackDecision;
  /** Since when the fallback whose start was published last runs (the announced tag). */
  announced?: Date;
}

/** Evaluates one fallback rule; reports what keeps it from being evaluated and holds it then. */
function evaluateRule(rule: FallbackRule, ready: Map<string, ObservedGroup>, state: ObservedState, now: number, failures: GroupFailure[]): RuleOutcome | undefined {
  const onDemand = ready.get(rule.onDemandGroup);
  if (!onDemand) return undefined;
  let memory: FallbackMemory;
  let announced: Date | undefined;
  try {
    memory = readMemory(rule.onDemandGroup, onDemand.tags, now);
    announced = readAnnounced(rule.onDemandGroup, onDemand.tags, now);
  } catch (error) {
    failures.push({ group: rule.onDemandGroup, error: errorMessage(error) });
    ready.delete(rule.onDemandGroup);
    return undefined;
  }
  const outcome = (decision: FallbackDecision): RuleOutcome => ({ rule, decision, ...(announced ? { announced } : {}) });
  if (isBusy(onDemand)) return outcome(holdFallback(rule, memory, `${rule.onDemandGroup} is ${onDemand.status}`));
  const problems: string[] = [];
  const spot: [string, ObservedGroup][] = [];
  for (const name of rule.spotGroups) {
    const group = ready.get(name);
    if (!group) {
      problems.push(`${name} could not be read`);
      continue;
    }
    const unknown = [group.activities === undefined ? "scaling activities" : "", rule.interruptions.enabled && group.interruptions === undefined ? "interruptions" : ""].filter(Boolean);
    if (unknown.length > 0) {
      const problem = `${unknown.join(" and ")} unknown (${state.errors?.[name] ?? "not observed"})`;
      problems.push(`${name}: ${problem}`);
      failures.push({ group: name, error: `${problem}; the fallback to ${rule.onDemandGroup} is held` });
      continue;
    }
    spot.push([name, group]);
  }
  if (problems.length > 0) return outcome(holdFallback(rule, memory, problems.join("; ")));
  return outcome(decideFallback(rule, memory, spotHealth(rule, spot, now), now));
}

/** What is still to be published for a rule: the end of the announced fallback, the start of the current one. */
function pendingTransitions(group: string, outcome: RuleOutcome, tags: Record<string, string>): FallbackTransition[] {
  const { rule, decision, announced } = outcome;
  const since = decision.memory.since;
  const pending: FallbackTransition[] = [];
  let current = tags[CAPACITY_TAGS.announced];
  const record = (to: Record<string, string>, reason: string): TagsAction => {
    const action: TagsAction = { group, kind: "tags", from: current === undefined ? {} : { [CAPACITY_TAGS.announced]: current }, to, reason };
    current = to[CAPACITY_TAGS.announced];
    return action;
  };
  if (announced && since?.getTime() !== announced.getTime()) {
    const reason = decision.transition === "end" ? decision.reason : `the spot fallback that started ${announced.toISOString()} is over`;
    pending.push({ phase: "end", onDemandGroup: group, spotGroups: rule.spotGroups, extra: 0, since: announced, reason, record: record({}, "the end of the spot fallback was published") });
  }
  if (since && announced?.getTime() !== since.getTime()) {
    const reason = decision.transition === "start" ? decision.reason : `spot fallback active since ${since.toISOString()}: ${decision.reason}`;
    pending.push({
      phase: "start",
      onDemandGroup: group,
      spotGroups: rule.spotGroups,
      extra: decision.extra,
      since,
      reason,
      record: record({ [CAPACITY_TAGS.announced]: announcedValue(since) }, "the start of the spot fallback was published"),
    });
  }
  return pending;
}

/** Plans every group of the policy at `at` (see the module comment). */
export function planCapacity(policy: CapacityPolicy, state: ObservedState, at: Date): CapacityPlan {
  const now = at.getTime();
  const failures: GroupFailure[] = [];
  const ready = new Map<string, ObservedGroup>();
  for (const name of Object.keys(policy.groups)) {
    try {
      ready.set(name, checkObserved(name, state));
    } catch (error) {
      failures.push({ group: name, error: errorMessage(error) });
    }
  }

  const byOnDemand = new Map<string, RuleOutcome>();
  const bySpot = new Map<string, RuleOutcome>();
  for (const rule of policy.fallbacks) {
    const outcome = evaluateRule(rule, ready, state, now, failures);
    if (!outcome) continue;
    byOnDemand.set(rule.onDemandGroup, outcome);
    for (const name of rule.spotGroups) bySpot.set(name, outcome);
  }

  const actions: CapacityAction[] = [];
  const groups: GroupPlan[] = [];
  const transitions: FallbackTransition[] = [];
  for (const [name, spec] of Object.entries(policy.groups)) {
    const observed = ready.get(name);
    if (!observed) continue;
    const schedule = resolveSchedule(spec, policy.timeZone, now);
    const covering = byOnDemand.get(name);
    const extra = covering?.decision.extra ?? 0;
    const min = schedule.bounds.min + extra;
    const max = Math.max(schedule.bounds.max, min);
    // a window's desired is a floor applied once per opening; it never takes desired down
    const windowFloor = schedule.bounds.desired !== undefined && observed.tags[CAPACITY_TAGS.window] !== schedule.id ? schedule.bounds.desired : undefined;
    const desired = clamp(Math.max(observed.desired, windowFloor ?? 0), min, max);
    const related = covering ?? bySpot.get(name);
    const plan: GroupPlan = {
      group: name,
      type: spec.type,
      capacityType: spec.capacityType,
      schedule: { entry: schedule.entry, timeZone: schedule.timeZone, bounds: schedule.bounds, ...(schedule.openedAt ? { openedAt: schedule.openedAt } : {}) },
      observed: { min: observed.min, max: observed.max, desired: observed.desired, inService: observed.inService },
      target: { min, max, desired },
      ...(related ? { fallback: { role: covering ? ("on-demand" as const) : ("spot" as const), onDemandGroup: related.rule.onDemandGroup, phase: related.decision.phase, extra: related.decision.extra, reason: related.decision.reason } } : {}),
    };
    groups.push(plan);
    if (isBusy(observed)) {
      plan.busy = `node group is ${observed.status}: left for the next run`;
      continue;
    }

    const where = describeSchedule(schedule);
    const memoryFrom = covering ? fallbackTagsOf(observed.tags) : fallbackTagsOf(observed.tags, { withAnnounced: true });
    const memoryTo = covering ? memoryTags(covering.decision.memory) : {};
    if (!sameTags(memoryFrom, memoryTo)) {
      const reason = covering ? covering.decision.reason : "no fallback rule covers this group any more: its fallback tags are removed";
      actions.push({ group: name, kind: "tags", from: memoryFrom, to: memoryTo, reason });
    }
    if (min !== observed.min) {
      actions.push({ group: name, kind: "min", from: observed.min, to: min, reason: extra > 0 ? `${where}: min ${schedule.bounds.min} + ${extra} for the spot fallback` : `${where}: min ${min}` });
    }
    if (max !== observed.max) {
      actions.push({ group: name, kind: "max", from: observed.max, to: max, reason: max > schedule.bounds.max ? `${where}: max ${schedule.bounds.max}, raised to the fallback floor ${min}` : `${where}: max ${max}` });
    }
    if (desired !== observed.desired) {
      const reason =
        observed.desired > max
          ? `desired ${observed.desired} lowered to the new max ${max}`
          : windowFloor !== undefined && windowFloor > observed.desired && desired > min
            ? `${where} opened: desired ${observed.desired} raised to its floor ${windowFloor}${desired === windowFloor ? "" : `, kept within ${min}..${max}`}`
            : `desired ${observed.desired} raised to the new min ${min}`;
      actions.push({ group: name, kind: "desired", from: observed.desired, to: desired, reason });
    }
    if (windowFloor !== undefined) {
      const previous = observed.tags[CAPACITY_TAGS.window];
      actions.push({
        group: name,
        kind: "tags",
        from: previous === undefined ? {} : { [CAPACITY_TAGS.window]: previous },
        to: { [CAPACITY_TAGS.window]: schedule.id },
        reason: `${where}: its desired floor ${windowFloor} applies once per opening (desired ${desired}); from here the autoscalers move it`,
      });
    }
    if (covering) transitions.push(...pendingTransitions(name, covering, observed.tags));
  }
  return { at, actions, groups, failures, transitions };
}
